"""The model-name and context checks (issue 31): their judges on exchanges built by hand, then
the checks against a synthetic provider that behaves and one that does not (serves any model
name, answers 400 where OpenAI answers 404, cuts a long prompt silently, lowers max_tokens to
fit), and the provider entries' context against what the launcher serves."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checks import CheckContext
from harness.checks.judges.model import judge_unknown_model
from harness.checks.judges.overflow import (
    Measure,
    Overfill,
    Overflow,
    Ruler,
    judge_max_tokens_overflow,
    judge_prompt_overflow,
    measure,
)
from harness.checks.judges.shapes import Pair
from harness.engine import DedupingSender, plan, run_units
from harness.errors import ConfigError
from harness.local.launcher import SERVERS
from harness.local.model import N_CTX, TEMPLATE_READS
from harness.providers import load_providers
from harness.results import Record, ResultsWriter, Verdict
from harness.schema import Surface
from harness.transport import ClientSettings, Exchange, ProviderClient
from tests.synthetic import Behaviour, SyntheticProvider
from tests.unit.test_judges import error, reply


def counted(prompt: int, completion: int = 1, finish: str = "length", status: int = 200) -> Exchange:
    exchange = reply("w", tokens=completion)
    exchange.json["usage"]["prompt_tokens"] = prompt
    exchange.json["choices"][0]["finish_reason"] = finish
    exchange.status = status
    return exchange


def ruler(base: int = 40, per: int = 4, step: int = 8) -> Measure:
    return Measure(one=counted(base), two=counted(base + per * step), three=counted(base + 2 * per * step), step=step)


# --- the model name, by hand -------------------------------------------------------------


def test_an_unknown_model_refused_with_404_is_rejected_as_openai_does() -> None:
    judged = judge_unknown_model(Pair(base=reply(), probe=error(404, "model not found")), "nope")
    assert judged.verdict is Verdict.REJECTED and "as OpenAI answers" in judged.detail and judged.control


def test_a_400_for_an_unknown_model_is_rejected_and_reported_as_a_difference() -> None:
    judged = judge_unknown_model(Pair(base=reply(), probe=error(400, "no such model")), "nope")
    assert judged.verdict is Verdict.REJECTED and "difference from OpenAI's 404" in judged.detail


def test_an_unknown_model_answered_200_is_lenient() -> None:
    judged = judge_unknown_model(Pair(base=reply(), probe=reply()), "nope")
    assert judged.verdict is Verdict.LENIENT and "any model name is served" in judged.detail


def test_a_refusal_means_nothing_when_the_configured_model_is_refused_too() -> None:
    judged = judge_unknown_model(Pair(base=error(400), probe=error(404)), "nope")
    assert judged.verdict is Verdict.INCONCLUSIVE


def test_another_status_for_an_unknown_model_is_inconclusive() -> None:
    judged = judge_unknown_model(Pair(base=reply(), probe=error(418, "teapot")), "nope")
    assert judged.verdict is Verdict.INCONCLUSIVE


# --- the context, by hand ----------------------------------------------------------------


def test_the_ruler_measures_tokens_per_copy() -> None:
    found = measure(ruler(base=40, per=4, step=8))
    assert isinstance(found, Ruler)
    assert found.per_copy == 4 and found.expected(108) == 440
    assert found.expected(found.copies_for(500)) >= 500


def test_counts_that_do_not_grow_evenly_are_no_ruler() -> None:
    uneven = Measure(one=counted(40), two=counted(72), three=counted(90), step=8)
    flat = Measure(one=counted(3), two=counted(3), three=counted(3), step=8)
    for shape in (uneven, flat):
        judged = judge_prompt_overflow(Overflow(measure=shape, long=counted(3), copies=500), 100)
        assert judged.verdict is Verdict.INCONCLUSIVE and "measure" in judged.detail


def test_a_refused_overflow_is_rejected() -> None:
    judged = judge_prompt_overflow(Overflow(measure=ruler(), long=error(400, "exceeds context"), copies=200), 500)
    assert judged.verdict is Verdict.REJECTED and "exceeds context" in judged.detail


def test_a_200_short_of_the_measure_is_a_silent_truncation() -> None:
    # 200 copies measure 40 + 192 * 4 = 808 tokens; a server that kept 500 cut the rest.
    judged = judge_prompt_overflow(Overflow(measure=ruler(), long=counted(500), copies=200), 500)
    assert judged.verdict is Verdict.IGNORED and "silently truncated" in judged.detail and judged.control


def test_a_200_counting_the_whole_prompt_means_the_context_is_larger() -> None:
    judged = judge_prompt_overflow(Overflow(measure=ruler(), long=counted(808), copies=200), 500)
    assert judged.verdict is Verdict.INCONCLUSIVE and "larger" in judged.detail


def test_an_overflow_answered_500_is_a_server_error() -> None:
    long = reply(status=500, body={"error": {"message": "boom"}})
    assert judge_prompt_overflow(Overflow(measure=ruler(), long=long, copies=200), 500).verdict is Verdict.SERVER_ERROR


@settings(max_examples=60, deadline=None)
@given(
    base=st.integers(5, 200),
    per=st.integers(1, 9),
    step=st.integers(1, 16),
    context=st.integers(300, 4000),
    kept=st.floats(0.0, 1.0),
)
def test_a_truncating_server_never_passes(base: int, per: int, step: int, context: int, kept: float) -> None:
    """Whatever the ruler and context: a 200 counting at most the context of a prompt measured
    at 1.25 contexts is IGNORED, never REJECTED nor INCONCLUSIVE."""
    shape = ruler(base, per, step)
    found = measure(shape)
    assert isinstance(found, Ruler)
    copies = found.copies_for(int(context * 1.25))
    long = counted(int(context * kept))
    assert judge_prompt_overflow(Overflow(measure=shape, long=long, copies=copies), context).verdict is Verdict.IGNORED


def test_max_tokens_beyond_the_context_refused_is_rejected() -> None:
    judged = judge_max_tokens_overflow(Overfill(probe=error(400, "maximum context length")), 500, 500)
    assert judged.verdict is Verdict.REJECTED


def test_max_tokens_cut_to_fit_is_lenient_and_says_so() -> None:
    cut = judge_max_tokens_overflow(Overfill(probe=counted(40, completion=460)), 500, 500)
    assert cut.verdict is Verdict.LENIENT and "cut to fit" in cut.detail
    stopped = judge_max_tokens_overflow(Overfill(probe=counted(40, completion=12, finish="stop")), 500, 500)
    assert stopped.verdict is Verdict.LENIENT and "before any cut" in stopped.detail


def test_max_tokens_lowered_as_the_surface_documents_is_accepted() -> None:
    judged = judge_max_tokens_overflow(Overfill(probe=counted(40, completion=460)), 500, 500, "default 'truncate'")
    assert judged.verdict is Verdict.ACCEPTED and "as documented" in judged.detail


# --- the checks against synthetic providers ----------------------------------------------


def run(
    surface: Surface,
    behaviour: Behaviour,
    checks: list[str],
    context: int | None = None,
    provider: SyntheticProvider | None = None,
) -> list[Record]:
    synthetic = provider or SyntheticProvider(behaviour)

    async def go(folder: Path) -> list[Record]:
        settings_ = ClientSettings(base_url="http://synthetic.test/v1", retries=0, max_parallel_requests=4)
        async with ProviderClient(settings_, transport=synthetic.transport()) as client:
            send = DedupingSender(client, "synthetic", "", model="m")
            ctx = CheckContext("synthetic", surface, "m", [], send, context_tokens=context)
            writer = ResultsWriter(folder / "results.jsonl")
            try:
                stats = await run_units(plan(ctx, checks), writer, ctx, set())
            finally:
                writer.close()
            return stats.records

    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(go(Path(folder)))


def by_label(records: list[Record]) -> dict[str, Record]:
    return {r.label: r for r in records}


MODELS = frozenset({"m"})


@pytest.mark.parametrize(
    ("behaviour", "verdict", "says"),
    [
        (Behaviour(models=MODELS), Verdict.REJECTED, "as OpenAI answers"),
        (Behaviour(models=MODELS, unknown_model_status=400), Verdict.REJECTED, "difference"),
        (Behaviour(), Verdict.LENIENT, "any model name is served"),
    ],
    ids=["404", "400", "serves-any-name"],
)
def test_the_model_check(catalogue: dict[str, Surface], behaviour: Behaviour, verdict: Verdict, says: str) -> None:
    records = run(catalogue["openai"], behaviour, ["model"])
    assert [(r.case_id, r.verdict) for r in records] == [("model.(model).unknown", verdict)]
    assert says in records[0].detail


def test_a_404_for_an_unknown_model_does_not_end_the_run_but_a_missing_configured_model_does(
    catalogue: dict[str, Surface],
) -> None:
    provider = SyntheticProvider(Behaviour(models=MODELS))
    assert run(catalogue["openai"], provider.behaviour, ["model"], provider=provider)[0].verdict is Verdict.REJECTED
    assert provider.requests == 2  # the 404's question "is the plain request found?" reuses the probe's own
    with pytest.raises(ConfigError, match="plain request"):
        run(catalogue["openai"], Behaviour(models=frozenset({"other"})), ["model"])


CONTEXT = 400


@pytest.mark.parametrize(
    ("behaviour", "prompt", "completion"),
    [
        (Behaviour(context=CONTEXT), Verdict.REJECTED, Verdict.REJECTED),
        (Behaviour(context=CONTEXT, truncates=True), Verdict.IGNORED, Verdict.REJECTED),
        (Behaviour(context=CONTEXT, fits_max_tokens=True), Verdict.REJECTED, Verdict.LENIENT),
        (Behaviour(), Verdict.INCONCLUSIVE, Verdict.LENIENT),  # prompt_tokens never grow: no ruler
    ],
    ids=["refuses", "truncates-silently", "fits-max-tokens", "no-ruler"],
)
def test_the_context_check(
    catalogue: dict[str, Surface], behaviour: Behaviour, prompt: Verdict, completion: Verdict
) -> None:
    records = by_label(run(catalogue["openai"], behaviour, ["context"], context=CONTEXT))
    assert records["prompt"].verdict is prompt, records["prompt"].detail
    assert records["prompt+max_tokens"].verdict is completion, records["prompt+max_tokens"].detail
    if prompt is Verdict.IGNORED:
        assert "silently truncated" in records["prompt"].detail
    if completion is Verdict.LENIENT and behaviour.fits_max_tokens:
        assert "cut to fit" in records["prompt+max_tokens"].detail


def test_the_context_check_needs_a_stated_context(catalogue: dict[str, Surface]) -> None:
    assert run(catalogue["openai"], Behaviour(context=CONTEXT), ["context"]) == []


def test_local_entries_state_the_context_the_launcher_serves() -> None:
    providers: dict[str, Any] = load_providers()
    # The servers built on the generated GGUF/HF model with the launcher's context (the gateways
    # and transformers-local do not state one: their context check does not run).
    local = [p for p in providers.values() if p.launch is not None and p.launch.server in SERVERS[:3]]
    assert len(local) >= 4 and all(p.context_tokens == N_CTX for p in local)
    assert all(tuple(p.template_reads) == TEMPLATE_READS for p in local)


# --- tool robustness -----------------------------------------------------------------------

SHAPES = [
    "(history: arguments truncated)",
    "(history: arguments an object)",
    "(history: arguments missing)",
    "(history: tool message without tool_call_id)",
    "(tool: non-ASCII property)",
    "(tool: $id in parameters)",
    "(tool: no parameters)",
    "(tool: key order)",
    "(tool: call ids)",
]


def shapes(records: list[Record]) -> dict[str, Record]:
    return {r.param: r for r in records if r.param in SHAPES}


def test_tool_shapes_on_a_provider_that_behaves(catalogue: dict[str, Surface]) -> None:
    found = shapes(run(catalogue["openai"], Behaviour(), ["tools"]))
    assert sorted(found) == sorted(SHAPES)
    print({p: (r.verdict, r.detail) for p, r in found.items()})
    assert found["(tool: key order)"].verdict is Verdict.HONOURED
    assert found["(tool: call ids)"].verdict is Verdict.ACCEPTED
    assert found["(tool: no parameters)"].verdict is Verdict.ACCEPTED
    for param in ("(history: arguments truncated)", "(tool: non-ASCII property)", "(tool: $id in parameters)"):
        assert found[param].verdict is Verdict.ACCEPTED, found[param].detail


@pytest.mark.parametrize(
    ("behaviour", "param", "verdict", "says"),
    [
        (Behaviour(sorts_tool_keys=True), "(tool: key order)", Verdict.IGNORED, "reordered"),
        (Behaviour(duplicate_call_ids=True), "(tool: call ids)", Verdict.SERVER_ERROR, "share ids"),
        (Behaviour(omits_empty_arguments=True), "(tool: no parameters)", Verdict.SERVER_ERROR, "arguments"),
        (Behaviour(crashes_on_odd_history=True), "(history: arguments missing)", Verdict.SERVER_ERROR, "500"),
        (Behaviour(crashes_on_odd_history=True), "(history: arguments an object)", Verdict.SERVER_ERROR, "500"),
    ],
    ids=["sorts-keys", "duplicate-ids", "no-arguments", "crash-missing", "crash-object"],
)
def test_tool_shapes_on_a_provider_that_does_not(
    catalogue: dict[str, Surface], behaviour: Behaviour, param: str, verdict: Verdict, says: str
) -> None:
    found = shapes(run(catalogue["openai"], behaviour, ["tools"]))
    assert found[param].verdict is verdict and says in found[param].detail, found[param].detail


# --- template parameters ---------------------------------------------------------------------

TEMPLATE_PARAMS = frozenset({"reasoning_effort", "chat_template_kwargs"})


def run_template(surface: Surface, behaviour: Behaviour, reads: frozenset[str]) -> dict[str, Record]:
    async def go(folder: Path) -> list[Record]:
        settings_ = ClientSettings(base_url="http://synthetic.test/v1", retries=0, max_parallel_requests=4)
        async with ProviderClient(settings_, transport=SyntheticProvider(behaviour).transport()) as client:
            send = DedupingSender(client, "synthetic", "", model="m")
            ctx = CheckContext("synthetic", surface, "m", [], send, template_reads=reads)
            writer = ResultsWriter(folder / "results.jsonl")
            try:
                stats = await run_units(plan(ctx, ["template"]), writer, ctx, set())
            finally:
                writer.close()
            return stats.records

    with tempfile.TemporaryDirectory() as folder:
        return {r.param: r for r in asyncio.run(go(Path(folder)))}


@pytest.mark.parametrize(
    ("behaviour", "reads", "verdict"),
    [
        (Behaviour(template_params=TEMPLATE_PARAMS), TEMPLATE_PARAMS, Verdict.HONOURED),
        (Behaviour(), TEMPLATE_PARAMS, Verdict.IGNORED),  # drops them, though its template reads them
        (Behaviour(), frozenset(), Verdict.INCONCLUSIVE),  # drops them, or the template does not read them
    ],
    ids=["renders", "drops", "unknown-template"],
)
def test_the_template_check(
    catalogue: dict[str, Surface], behaviour: Behaviour, reads: frozenset[str], verdict: Verdict
) -> None:
    found = run_template(catalogue["vllm"], behaviour, reads)
    assert sorted(found) == ["chat_template_kwargs", "reasoning_effort"]
    for record in found.values():
        assert record.verdict is verdict, record.detail
        assert record.check == "template"


def test_a_history_shape_says_when_the_well_formed_conversation_fails_too(catalogue: dict[str, Surface]) -> None:
    # 500 for any conversation carrying a tool call: the shapes' 500s are the conversation's.
    every_history = Behaviour(server_error_for={"tools"})
    found = shapes(run(catalogue["openai"], every_history, ["tools"]))
    truncated = found["(history: arguments truncated)"]
    assert truncated.verdict is Verdict.SERVER_ERROR and "the fault is the conversation" in truncated.detail
    only_odd = shapes(run(catalogue["openai"], Behaviour(crashes_on_odd_history=True), ["tools"]))
    missing = only_odd["(history: arguments missing)"]
    assert missing.verdict is Verdict.SERVER_ERROR and "the fault is the conversation" not in missing.detail
    assert missing.evidence.get("control") == "the same conversation well formed is answered"
