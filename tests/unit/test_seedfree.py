"""Seed-free probes against a synthetic provider whose seed does nothing: the profile chooses
them, and each verdict matches what the provider really does (and never more)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from harness.checks.judges.sampled import REGRET
from harness.checks.judges.statistics import LOOKS
from harness.checks.plans.seedfree import LONG_SAMPLE_TOKENS, SAMPLE_TOKENS
from harness.results import Record, Verdict
from harness.schema import Surface
from tests.synthetic import Behaviour, SyntheticProvider
from tests.unit.test_checks import run_checks


class RecordingProvider(SyntheticProvider):
    """The synthetic provider, keeping every request body it was sent."""

    def __init__(self, behaviour: Behaviour) -> None:
        super().__init__(behaviour)
        self.bodies: list[dict[str, object]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return super().handle(request)


def run_seed_free(
    tmp_path: Path,
    surface: Surface,
    behaviour: Behaviour,
    checks: list[str],
    params: list[str],
    send_seed: bool = True,
) -> tuple[list[Record], RecordingProvider]:
    provider = RecordingProvider(behaviour)
    return run_checks(tmp_path, surface, behaviour, checks, params, send_seed, provider), provider


def cell(records: list[Record], check: str, param: str) -> Record:
    return next(r for r in records if r.check == check and r.param == param)


def test_an_unseeded_provider_is_judged_on_greedy_outputs_and_samples(
    tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    behaviour = Behaviour(unseeded=True, ignore={"repetition_penalty"}, defaults={"min_p": 0.3})
    params = ["top_k", "top_a", "repetition_penalty", "presence_penalty", "min_p"]
    records, _ = run_seed_free(
        tmp_path, catalogue["openrouter"], behaviour, ["passthrough", "effect", "default"], params
    )
    assert {r.evidence.get("mode") for r in records} <= {"greedy", "statistical"}
    assert cell(records, "passthrough", "top_k").verdict is Verdict.HONOURED  # every sample greedy
    assert cell(records, "passthrough", "top_a").verdict is Verdict.IGNORED  # the sampler has no top_a
    ignored = cell(records, "passthrough", "repetition_penalty")
    assert (
        ignored.verdict is Verdict.IGNORED and "presence_penalty=2.0 (another penalty)" in ignored.evidence["control"]
    )
    assert cell(records, "effect", "presence_penalty").verdict is Verdict.HONOURED
    default = cell(records, "default", "min_p")
    assert default.verdict is Verdict.IGNORED  # the real default is 0.3, the documented one 0
    stats = default.evidence["statistics"]
    assert stats["statistic"] == REGRET  # the samples list one alternative per token
    assert stats["tests"][0]["p_difference"] < stats["tests"][0]["alpha_per_look"]
    assert len(stats["arms"]["omitted"]["statistic"]) == default.evidence["statistics"]["arms"]["omitted"]["requests"]


def test_a_behaving_unseeded_provider_gets_its_penalty_and_default(
    tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    records, _ = run_seed_free(
        tmp_path,
        catalogue["openrouter"],
        Behaviour(unseeded=True),
        ["passthrough", "default"],
        ["repetition_penalty", "min_p"],
    )
    assert cell(records, "passthrough", "repetition_penalty").verdict is Verdict.HONOURED
    assert cell(records, "default", "min_p").verdict is not Verdict.IGNORED


def test_never_sending_the_seed_means_no_request_carries_one(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    checks, params = ["range", "determinism", "passthrough", "effect"], ["seed", "top_k", "max_tokens"]
    records, provider = run_seed_free(tmp_path, catalogue["openrouter"], Behaviour(), checks, params, send_seed=False)
    assert provider.bodies and not [b for b in provider.bodies if "seed" in b]
    assert cell(records, "determinism", "seed").verdict is Verdict.INCONCLUSIVE
    assert {r.label for r in records if r.check == "range" and r.param == "seed"} == {"omitted"}
    assert cell(records, "passthrough", "top_k").evidence["mode"] == "statistical"
    assert cell(records, "effect", "max_tokens").verdict is Verdict.HONOURED  # on greedy outputs


def test_a_default_that_cannot_be_shown_stops_before_the_cap(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    """The sampler has no top_a: omitting it, its documented 0 and the alternative 1.0 all
    sample alike, so the default cannot be shown (INCONCLUSIVE, never HONOURED), and the
    comparisons stop short of the cap: the alternative is given no more samples than the
    equivalence took, or stops once a difference is out of reach (futility)."""
    records, _ = run_seed_free(tmp_path, catalogue["openrouter"], Behaviour(unseeded=True), ["default"], ["top_a"])
    default = cell(records, "default", "top_a")
    assert default.verdict is Verdict.INCONCLUSIVE, default.detail
    stats = default.evidence["statistics"]
    first, *others = stats["tests"]
    assert others and all(t["finding"] != "different" for t in others), stats["tests"]
    taken = stats["arms"]["omitted"]["requests"]
    for test in others:
        samples = stats["arms"][test["arms"][1]]["requests"]
        cut = first["finding"] == "equivalent" and samples == taken  # no more than the equivalence took
        assert test["stopped_for_futility"] or test["finding"] == "equivalent" or cut, stats
    assert all(arm["requests"] < LOOKS[-1] for arm in stats["arms"].values()), stats["arms"]


def test_samples_are_short_except_for_the_defaults_whose_effect_compounds(
    tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    """16-token samples, but a temperature default's arms sample longer (it must be told apart
    from the documented value, and its difference grows along the text)."""
    behaviour = Behaviour(unseeded=True, defaults={"temperature": 0.5})
    records, provider = run_seed_free(
        tmp_path, catalogue["openrouter"], behaviour, ["default"], ["temperature", "top_k"]
    )
    assert cell(records, "default", "temperature").verdict is Verdict.IGNORED  # 0.5 applied, not 1
    sampled = [b for b in provider.bodies if b.get("logprobs") and b.get("temperature") != 0.0]
    assert {b["max_tokens"] for b in sampled if "top_k" in b} == {SAMPLE_TOKENS}
    assert {b["max_tokens"] for b in sampled if "temperature" not in b} == {LONG_SAMPLE_TOKENS}
