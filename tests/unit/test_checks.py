"""Every check against a synthetic provider that behaves and one that does not."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from harness.checks import CheckContext
from harness.engine import DedupingSender, plan, run_units
from harness.errors import CheckError
from harness.generation import build_matrix
from harness.results import Record, ResultsWriter, Verdict
from harness.schema import Surface
from harness.transport import ClientSettings, ProviderClient
from tests.synthetic import Behaviour, SyntheticProvider


def run_checks(
    tmp_path: Path,
    surface: Surface,
    behaviour: Behaviour,
    checks: list[str],
    params: list[str] | None = None,
    send_seed: bool = True,
    provider: SyntheticProvider | None = None,
    model_defaults: dict[str, float] | None = None,
) -> list[Record]:
    """``provider`` (default: a synthetic one with ``behaviour``) answers every request;
    ``model_defaults``: what the served model's generation_config.json is stated to set."""
    synthetic = provider or SyntheticProvider(behaviour)

    async def go() -> list[Record]:
        settings = ClientSettings(base_url="http://synthetic.test/v1", retries=0, max_parallel_requests=4)
        async with ProviderClient(settings, transport=synthetic.transport()) as client:
            ctx = CheckContext(
                "synthetic",
                surface,
                "m",
                build_matrix(surface, "m", params),
                DedupingSender(client),
                params=params,
                send_seed=send_seed,
                model_defaults=model_defaults or {},
            )
            writer = ResultsWriter(tmp_path / "results.jsonl")
            stats = await run_units(plan(ctx, checks), writer, ctx, set())
            writer.close()
            return stats.records

    return asyncio.run(go())


def verdicts(records: list[Record], param: str, check: str | None = None) -> set[Verdict]:
    return {r.verdict for r in records if r.param == param and (check is None or r.check == check)}


def by_label(records: list[Record], param: str, label: str) -> Record:
    return next(r for r in records if r.param == param and r.label == label)


# --- range acceptance -------------------------------------------------------------------


def test_range_rejected_when_the_provider_enforces_the_range(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(
        tmp_path, catalogue["oruel"], Behaviour(ranges={"temperature": (0, 2)}), ["range"], ["temperature"]
    )
    assert by_label(records, "temperature", "max-outside").verdict is Verdict.REJECTED
    assert "names the parameter" in by_label(records, "temperature", "max-outside").detail
    assert by_label(records, "temperature", "max").verdict is Verdict.ACCEPTED


def test_range_lenient_when_the_provider_accepts_out_of_range(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(tmp_path, catalogue["oruel"], Behaviour(), ["range"], ["temperature"])
    assert by_label(records, "temperature", "max-outside").verdict is Verdict.LENIENT


def test_range_over_strict_when_a_documented_value_is_refused(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(
        tmp_path, catalogue["oruel"], Behaviour(ranges={"temperature": (0, 1)}), ["range"], ["temperature"]
    )
    assert by_label(records, "temperature", "max").verdict is Verdict.OVER_STRICT


def test_range_server_error_and_a_poor_error_envelope(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(tmp_path, catalogue["oruel"], Behaviour(server_error_for={"top_k"}), ["range"], ["top_k"])
    assert by_label(records, "top_k", "typical").verdict is Verdict.SERVER_ERROR
    flat = run_checks(
        tmp_path,
        catalogue["oruel"],
        Behaviour(ranges={"top_p": (0, 1)}, error_shape="flat"),
        ["range"],
        ["top_p"],
    )
    rejected = by_label(flat, "top_p", "max-outside")
    assert rejected.verdict is Verdict.REJECTED and "lacks: openai_shape" in rejected.detail


# --- documented defaults --------------------------------------------------------------


def test_default_honoured(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(tmp_path, catalogue["openrouter"], Behaviour(), ["default"], ["temperature", "min_p"])
    assert verdicts(records, "temperature") == {Verdict.HONOURED}
    assert verdicts(records, "min_p") == {Verdict.HONOURED}
    assert all(r.evidence.get("control") for r in records)


def test_default_not_credited_when_no_probe_tells_the_values_apart(
    tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    # The synthetic vocabulary has 40 words: top_k 0 (off), 40 and 50 sample alike, so
    # "omitted equals top_k=0" is no evidence that 0 is the default.
    records = run_checks(tmp_path, catalogue["openrouter"], Behaviour(), ["default"], ["top_k"])
    (record,) = records
    assert record.verdict is Verdict.INCONCLUSIVE
    assert "40" in record.detail and "50" in record.detail


def test_default_not_the_documented_one_and_the_real_one_found(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(
        tmp_path,
        catalogue["openrouter"],
        Behaviour(defaults={"temperature": 0.7}),
        ["default"],
        ["temperature"],
    )
    (record,) = records
    assert record.verdict is Verdict.IGNORED
    assert "the real default behaves like temperature=0.7" in record.detail


MODEL_DEFAULTS = {"temperature": 0.5, "top_p": 0.8}
NAMED = "(the model's generation_config.json value)"


def test_default_the_model_values_applied_are_named(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    # A server that behaves as vLLM does with --generation-config auto: the model's values
    # replace the documented defaults for a request that omits them.
    records = run_checks(
        tmp_path,
        catalogue["openai"],
        Behaviour(defaults=MODEL_DEFAULTS),
        ["default"],
        ["temperature", "top_p"],
        model_defaults=MODEL_DEFAULTS,
    )
    for param, value in MODEL_DEFAULTS.items():
        (record,) = [r for r in records if r.param == param]
        assert record.verdict is Verdict.IGNORED, record.detail
        assert f"the real default behaves like {param}={value!r} {NAMED}" in record.detail


def test_default_the_model_values_not_applied_are_said_so(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    # A server that ignores the model's generation_config.json (llama.cpp's with a GGUF, say):
    # the documented default holds, and the model's value was told apart from it.
    records = run_checks(
        tmp_path,
        catalogue["openai"],
        Behaviour(),
        ["default"],
        ["temperature", "top_p"],
        model_defaults=MODEL_DEFAULTS,
    )
    for param, value in MODEL_DEFAULTS.items():
        (record,) = [r for r in records if r.param == param]
        assert record.verdict is Verdict.HONOURED, record.detail
        assert f"not the model's generation_config.json value {value!r}" in record.detail
        assert repr(value) in record.evidence["control"]


def test_default_another_value_than_the_model_s_is_not_called_the_model_s(
    tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    (record,) = run_checks(
        tmp_path,
        catalogue["openai"],
        Behaviour(defaults={"temperature": 0.7}),
        ["default"],
        ["temperature"],
        model_defaults=MODEL_DEFAULTS,
    )
    assert record.verdict is Verdict.IGNORED
    assert "the real default behaves like temperature=0.7" in record.detail and NAMED not in record.detail


def test_default_requests_unchanged_without_model_defaults(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    # A column without model_defaults sends what it always sent; with them, the same requests
    # and then the model's values.
    plain, stated = SyntheticProvider(Behaviour()), SyntheticProvider(Behaviour())
    run_checks(tmp_path, catalogue["openai"], Behaviour(), ["default"], ["temperature"], provider=plain)
    run_checks(
        tmp_path,
        catalogue["openai"],
        Behaviour(),
        ["default"],
        ["temperature"],
        provider=stated,
        model_defaults=MODEL_DEFAULTS,
    )
    sent = sorted(json.dumps(b, sort_keys=True) for b in plain.bodies)
    more = sorted(json.dumps(b, sort_keys=True) for b in stated.bodies if b.get("temperature") != 0.5)
    assert more == sent and len(stated.bodies) > len(plain.bodies)
    assert all(b.get("temperature") != 0.5 for b in plain.bodies)


# --- determinism -----------------------------------------------------------------------


def test_determinism_honoured(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    (record,) = run_checks(tmp_path, catalogue["openai"], Behaviour(), ["determinism"])
    assert record.verdict is Verdict.HONOURED and "pass^5 = 1" in record.detail


def test_determinism_ignored_when_the_seed_is(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    (record,) = run_checks(tmp_path, catalogue["openai"], Behaviour(unseeded=True), ["determinism"])
    assert record.verdict is Verdict.IGNORED and "pass^5 = 0" in record.detail


# --- extra_body passthrough -------------------------------------------------------------


@pytest.mark.parametrize("param", ["top_k", "min_p", "repetition_penalty"])
def test_passthrough_honoured(tmp_path: Path, catalogue: dict[str, Surface], param: str) -> None:
    records = run_checks(tmp_path, catalogue["openrouter"], Behaviour(), ["passthrough"], [param])
    assert verdicts(records, param) == {Verdict.HONOURED}


@pytest.mark.parametrize("param", ["top_k", "min_p", "repetition_penalty"])
def test_passthrough_accepted_but_ignored(tmp_path: Path, catalogue: dict[str, Surface], param: str) -> None:
    records = run_checks(tmp_path, catalogue["openrouter"], Behaviour(ignore={param}), ["passthrough"], [param])
    assert verdicts(records, param) == {Verdict.IGNORED}


def test_passthrough_without_an_observable_effect_is_inconclusive(
    tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    records = run_checks(tmp_path, catalogue["oruel"], Behaviour(), ["passthrough"], ["tier"])
    assert verdicts(records, "tier") == {Verdict.INCONCLUSIVE}


def test_unknown_keys(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    rejects = run_checks(tmp_path, catalogue["openai"], Behaviour(reject_unknown=True), ["unknown-key"])
    ignores = run_checks(tmp_path, catalogue["openai"], Behaviour(), ["unknown-key"])
    assert rejects[0].verdict is Verdict.REJECTED
    assert ignores[0].verdict is Verdict.LENIENT and "silently dropped" in ignores[0].detail
    vllm_like = run_checks(tmp_path, catalogue["vllm"], Behaviour(reject_unknown=True), ["unknown-key"])
    assert vllm_like[0].verdict is Verdict.OVER_STRICT  # documented to ignore, yet rejects


# --- effect probes --------------------------------------------------------------------

EFFECT_PARAMS = [
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "n",
    "logprobs",
    "response_format",
    "stream",
    "presence_penalty",
    "frequency_penalty",
]


def test_effects_honoured(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(), ["effect"], [*EFFECT_PARAMS, "top_logprobs"])
    for param in [*EFFECT_PARAMS, "top_logprobs"]:
        assert verdicts(records, param) == {Verdict.HONOURED}, (
            param,
            [r.detail for r in records if r.param == param],
        )


@pytest.mark.parametrize("param", EFFECT_PARAMS)
def test_effects_ignored(tmp_path: Path, catalogue: dict[str, Surface], param: str) -> None:
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(ignore={param}), ["effect"], [param])
    assert Verdict.IGNORED in verdicts(records, param), [r.detail for r in records]
    assert Verdict.HONOURED not in verdicts(records, param)


def test_stream_without_terminator_is_read_to_the_end(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    """The SDK reads a stream until the connection closes: no ``[DONE]`` is no broken stream."""
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(stream_without_done=True), ["effect"], ["stream"])
    assert verdicts(records, "stream") == {Verdict.HONOURED}
    (record,) = [r for r in records if r.param == "stream"]
    assert "no [DONE]" in record.detail


# --- embeddings -------------------------------------------------------------------------


def test_embeddings_honoured(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(), ["embeddings"])
    assert verdicts(records, "encoding_format") == {Verdict.HONOURED}
    assert verdicts(records, "dimensions") == {Verdict.HONOURED}


def test_embeddings_ignored(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(
        tmp_path, catalogue["openai"], Behaviour(ignore={"encoding_format", "dimensions"}), ["embeddings"]
    )
    assert verdicts(records, "encoding_format") == {Verdict.IGNORED}
    assert verdicts(records, "dimensions") == {Verdict.IGNORED}


# --- response schemas -------------------------------------------------------------------


def test_response_schema_accepted_and_broken(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    """The client level is the SDK's reading: content as a list of parts is no string for its
    users; a body without ``created`` the SDK reads (only the letter requires it)."""
    checks = ["range", "response-schema", "response-letter"]
    good = run_checks(tmp_path, catalogue["oruel"], Behaviour(), checks[:2], ["top_k"])
    parts = run_checks(tmp_path, catalogue["oruel"], Behaviour(content_parts=True), checks[:2], ["top_k"])
    no_created = run_checks(tmp_path, catalogue["oruel"], Behaviour(drop_created=True), checks, ["top_k"])
    assert verdicts(good, "(chat-completion)") == {Verdict.ACCEPTED}
    (broken,) = [r for r in parts if r.param == "(chat-completion)"]
    assert broken.verdict is Verdict.SERVER_ERROR and "content is a list, not a string or null" in broken.detail
    read = next(r for r in no_created if r.param == "(chat-completion)" and r.check == "response-schema")
    letter = next(r for r in no_created if r.param == "(chat-completion: header)")
    assert read.verdict is Verdict.ACCEPTED and letter.verdict is Verdict.SERVER_ERROR


def test_response_letter_is_its_own_finding(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    """A body clients read but that lacks a field OpenAI documents as required (message.refusal)
    passes response-schema and fails response-letter; a complete one passes both."""
    checks = ["range", "response-schema", "response-letter"]
    good = run_checks(tmp_path, catalogue["oruel"], Behaviour(), checks, ["top_k"])
    bad = run_checks(tmp_path, catalogue["oruel"], Behaviour(drop_refusal=True), checks, ["top_k"])

    def cell(records: list[Record], check: str, param: str = "(chat-completion)") -> Record:
        (only,) = [r for r in records if r.param == param and r.check == check]
        return only

    assert cell(good, "response-letter").verdict is Verdict.ACCEPTED
    assert cell(bad, "response-schema").verdict is Verdict.ACCEPTED
    letter = cell(bad, "response-letter", "(chat-completion: no-refusal)")
    assert letter.verdict is Verdict.SERVER_ERROR and "'refusal' is a required property" in letter.detail
    assert "the OpenAI SDK tolerates it" in letter.detail
    assert not [r for r in bad if r.param == "(chat-completion)" and r.check == "response-letter"]  # by kind only


def test_honoured_only_with_an_observed_effect(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    """A provider that ignores everything never earns HONOURED, whatever the check."""
    everything = {
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "frequency_penalty",
        "presence_penalty",
        "repetition_penalty",
        "stop",
        "n",
        "logprobs",
        "response_format",
        "stream",
        "max_tokens",
        "seed",
    }
    records = run_checks(
        tmp_path,
        catalogue["openrouter"],
        Behaviour(ignore=everything),
        ["default", "determinism", "passthrough", "effect"],
    )
    assert records and Verdict.HONOURED not in {r.verdict for r in records}


def test_an_undocumented_key_refused_follows_the_unknown_keys_policy(
    tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    # A config sends typical_p (not an OpenAI parameter) to a provider held to OpenAI's surface,
    # which documents that unknown keys are rejected: a refusal conforms, it is no OVER_STRICT.
    from harness.checks.findings import Finding
    from harness.checks.plans.proofs import sampling_effect

    async def go() -> Finding:
        provider = SyntheticProvider(Behaviour(reject_unknown=True))
        settings = ClientSettings(base_url="http://synthetic.test/v1", retries=0)
        async with ProviderClient(settings, transport=provider.transport()) as client:
            ctx = CheckContext("synthetic", catalogue["openai"], "m", [], DedupingSender(client))
            assert "typical_p" not in ctx.surface.parameters
            return await sampling_effect(ctx, "typical_p", 0.5)

    finding = asyncio.run(go())
    assert finding.judgement.verdict is Verdict.REJECTED, finding.judgement.detail


def test_a_tool_error_outside_a_check_is_exit_2_not_a_verdict(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    class FullDisk(ResultsWriter):
        def write(self, record: Record) -> None:
            raise OSError(28, "No space left on device")

    async def go() -> None:
        provider = SyntheticProvider(Behaviour())
        settings = ClientSettings(base_url="http://synthetic.test/v1", retries=0)
        async with ProviderClient(settings, transport=provider.transport()) as client:
            surface = catalogue["oruel"]
            ctx = CheckContext("synthetic", surface, "m", build_matrix(surface, "m", ["seed"]), DedupingSender(client))
            await run_units(plan(ctx, ["range"]), FullDisk(tmp_path / "results.jsonl"), ctx, set())

    with pytest.raises(CheckError, match="No space left"):
        asyncio.run(go())


# --- streamed twins ----------------------------------------------------------------------


def test_streamed_twins_equal_the_unstreamed_reply(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(), ["stream-twins"])
    found = {r.param: r for r in records}
    assert set(found) == {"logprobs", "n", "response_format"}
    for param in ("logprobs", "n"):
        assert found[param].verdict is Verdict.HONOURED, found[param].detail
        assert found[param].evidence["control"]
    # The synthetic model answers json_object with a JSON object, streamed the same way.
    assert found["response_format"].verdict is Verdict.HONOURED, found["response_format"].detail
    assert found["n"].case_id == "stream-twins.n.stream"


def test_a_stream_of_the_first_choice_alone_is_caught(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    """A server that streams choice 0's text and nothing else (no second choice, no logprobs)."""
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(stream_first_choice_only=True), ["stream-twins"])
    found = {r.param: r for r in records}
    assert found["n"].verdict is Verdict.IGNORED, found["n"].detail
    assert found["logprobs"].verdict is Verdict.IGNORED, found["logprobs"].detail


def test_equal_twins_without_the_feature_prove_nothing(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    """A server that ignores n and logprobs streams the same one plain choice it answers: the
    twins are equal, but there was nothing of the feature to compare."""
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(ignore={"n", "logprobs"}), ["stream-twins"])
    found = {r.param: r for r in records}
    assert found["n"].verdict is Verdict.INCONCLUSIVE, found["n"].detail
    assert found["logprobs"].verdict is Verdict.INCONCLUSIVE, found["logprobs"].detail
