"""Providers that lie (``tests.lying``) against the checks, run in-process: no verdict may be
earned by a lie. First one example per lie of the original bug list (each failed before the
judges got their controls), then properties over lies drawn by Hypothesis, then the honest
provider, so the properties are not met by a harness that never says HONOURED.

The invariants (README, "Verdicts"):

- HONOURED names its control, and every exchange behind it is a usable 2xx with generated text;
- a lie that defeats a parameter never gets it HONOURED;
- REJECTED and OVER_STRICT need a validation refusal; ACCEPTED, LENIENT and IGNORED a usable
  2xx; SERVER_ERROR a 5xx or an unusable 2xx; TRANSPORT_ERROR no answer or a redirect;
- a refused key (401/403) or a missing model (404) stops the run with a ConfigError (exit 2);
- a provider whose every answer is unusable gets no conforming verdict, and fails the strict
  and baseline gates (and every gate when nothing was decided).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.checks import CheckContext
from harness.engine import DedupingSender, plan, run_units
from harness.errors import ConfigError
from harness.generation import build_matrix
from harness.reporting.gate import GATES, apply_gate
from harness.reporting.summary import summarise
from harness.results import CONFORMING, DECIDED, Record, ResultsWriter, Verdict
from harness.schema import Surface
from harness.transport import ClientSettings, ProviderClient
from tests.lying import (
    BODY_LIES,
    JSON_MODE_LIES,
    PLAIN_KEYS,
    STATUS_LIES,
    TEXT_LIES,
    TOOL_LIES,
    JsonModeLie,
    Lie,
    LyingProvider,
    StatusLie,
    TextLie,
    ToolLie,
)
from tests.synthetic import Behaviour

BASE_URL = "http://lying.test/v1"
KEY_ENV = "LYING_KEY"
PARAMS = [
    "temperature",
    "top_k",
    "repetition_penalty",
    "frequency_penalty",
    "response_format",
    "seed",
    "max_tokens",
    "stop",
    "n",
    "max_completion_tokens",
    "stream_options",
    "logit_bias",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
]
CHECKS = [
    "range",
    "default",
    "determinism",
    "passthrough",
    "effect",
    "equivalence",
    "embeddings",
    "tools",
    "stream-twins",
]
SURFACES = ("openai", "openrouter", "oruel", "vllm", "llamacpp", "data-designer")
# The synthetic provider's own misbehaviours that matter here: validating (so REJECTED and
# OVER_STRICT happen at all), and a seed it ignores.
BEHAVIOURS = {
    "lenient": Behaviour(),
    "validating": Behaviour(reject_unknown=True, ranges={"temperature": (0, 2), "top_k": (0, 100), "n": (1, 8)}),
    "unseeded": Behaviour(unseeded=True),
}


class Catalogue(dict[str, Surface]):
    """The catalogue fixture, shown by name: Hypothesis prints a failing example's arguments."""

    def __repr__(self) -> str:
        return f"<catalogue: {', '.join(self)}>"


@pytest.fixture(scope="module")
def surfaces_by_name(catalogue: dict[str, Surface]) -> Catalogue:
    return Catalogue(catalogue)


def sender(client: ProviderClient) -> DedupingSender:
    return DedupingSender(client, "lying", KEY_ENV)


def run_lying(
    lie: Lie,
    surface: Surface,
    params: list[str],
    checks: list[str] | None = None,
    behaviour: Behaviour | None = None,
) -> list[Record]:
    """Run ``checks`` (default: all of CHECKS plus unknown-key) for ``params`` against the lie."""
    checks = [*CHECKS, "unknown-key"] if checks is None else checks

    async def go() -> list[Record]:
        provider = LyingProvider(lie, behaviour)
        client_settings = ClientSettings(base_url=BASE_URL, retries=0, max_parallel_requests=4)
        async with ProviderClient(client_settings, transport=provider.transport()) as client:
            send = sender(client)
            embedding = [p for p in ("encoding_format", "dimensions") if p in surface.embeddings]
            matrix = build_matrix(surface, "m", params)
            ctx = CheckContext("lying", surface, "m", matrix, send, KEY_ENV, BASE_URL, [*params, *embedding])
            units = plan(ctx, [c for c in checks if c != "unknown-key"])
            if "unknown-key" in checks:
                # unknown-key runs only in an unrestricted run (a --params run probes named keys).
                unrestricted = CheckContext("lying", surface, "m", [], send, KEY_ENV, BASE_URL)
                units += plan(unrestricted, ["unknown-key"])
            with tempfile.TemporaryDirectory() as folder:
                writer = ResultsWriter(Path(folder) / "results.jsonl")
                try:
                    stats = await run_units(units, writer, ctx, set())
                finally:
                    writer.close()
            return stats.records

    return asyncio.run(go())


def verdicts(records: list[Record], param: str, check: str | None = None) -> set[Verdict]:
    return {r.verdict for r in records if r.param == param and (check is None or r.check == check)}


def gate_exit_codes(records: list[Record]) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as baselines:  # no baseline: every failing cell is a regression
        return {gate: apply_gate(gate, summarise(records), Path(baselines)).exit_code for gate in GATES}


# --- what an exchange in a record's evidence shows ----------------------------------------


def _status(exchange: dict[str, Any]) -> int:
    return int(exchange.get("status") or 0) if exchange.get("outcome") == "response" else 0


def _text(exchange: dict[str, Any]) -> str | None:
    if "streamed_content" in exchange:
        streamed = exchange["streamed_content"]
        return streamed if isinstance(streamed, str) else None
    try:
        content = exchange["response"]["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


def _vector(exchange: dict[str, Any]) -> Any:
    try:
        return exchange["response"]["data"][0]["embedding"]
    except (KeyError, IndexError, TypeError):
        return None


def _embeddings(exchange: dict[str, Any]) -> bool:
    return str(exchange.get("url", "")).rstrip("/").endswith("embeddings")


def usable(exchange: dict[str, Any]) -> bool:
    """A 2xx a client can use: clean JSON with choices (chat) or data (embeddings)."""
    if not 200 <= _status(exchange) < 300 or exchange.get("problems"):
        return False
    response = exchange.get("response")
    if not isinstance(response, dict):
        return "streamed_content" in exchange
    if _embeddings(exchange):
        return isinstance(response.get("data"), list) and bool(response["data"])
    choices = response.get("choices")
    return isinstance(choices, list) and bool(choices) and all(isinstance(c, dict) for c in choices)


def _calls(exchange: dict[str, Any]) -> bool:
    if "streamed_content" in exchange:
        return '"tool_calls"' in str(exchange.get("response_excerpt"))
    try:
        return bool(exchange["response"]["choices"][0]["message"]["tool_calls"])
    except (KeyError, IndexError, TypeError):
        return False


def generated(exchange: dict[str, Any]) -> bool:
    """A usable 2xx that carries what the probe compares: text, a tool call, or a non-empty vector."""
    if not usable(exchange):
        return False
    return bool(_vector(exchange)) if _embeddings(exchange) else bool(_text(exchange)) or _calls(exchange)


def refusal_statuses(surface: Surface) -> frozenset[int]:
    """400/422 or what the surface documents, and never a refused key or a missing model."""
    return frozenset(s for s in surface.refusal_statuses if 400 <= s < 500 and s not in (401, 403, 404))


def evidence_problems(record: Record, surface: Surface) -> list[str]:
    """Where a record's verdict is not backed by its own evidence (empty: consistent)."""
    exchanges: list[dict[str, Any]] = record.evidence.get("exchanges", [])
    statuses = [_status(e) for e in exchanges]
    refusals = refusal_statuses(surface)
    problems = []
    match record.verdict:
        case Verdict.HONOURED:
            if not record.evidence.get("control"):
                problems.append("HONOURED without evidence.control")
            if not exchanges or not all(generated(e) for e in exchanges):
                problems.append(f"HONOURED on an exchange without generated text (statuses {statuses})")
        case Verdict.REJECTED | Verdict.OVER_STRICT:
            if not any(s in refusals for s in statuses):
                problems.append(f"{record.verdict.value} without a validation refusal (statuses {statuses})")
        case Verdict.ACCEPTED | Verdict.LENIENT | Verdict.IGNORED:
            if not exchanges or not all(usable(e) for e in exchanges):
                problems.append(f"{record.verdict.value} on an unusable exchange (statuses {statuses})")
        case Verdict.SERVER_ERROR:
            broken = [e for e in exchanges if _status(e) >= 500 or (200 <= _status(e) < 300 and not usable(e))]
            if not broken:
                problems.append(f"SERVER_ERROR with neither a 5xx nor an unusable 2xx (statuses {statuses})")
        case Verdict.TRANSPORT_ERROR:
            lost = [e for e in exchanges if e.get("outcome") == "transport_error" or 300 <= _status(e) < 400]
            if not lost:
                problems.append(f"TRANSPORT_ERROR with an answer for every request (statuses {statuses})")
        case _:
            pass
    return [f"{record.case_id}: {p}: {record.detail[:160]}" for p in problems]


# Checks whose verdict rests on generated text (range, unknown-key and embeddings do not).
TEXT_CHECKS = frozenset({"default", "determinism", "passthrough", "effect", "equivalence"})


# Tool lies -> the tool probes (param, label) they leave no way to honour. A call whatever
# tool_choice says defeats "none" and "required" (the control calls too); arguments that do not
# validate or calls under the other name defeat every claim about calls, and the streamed one
# (streams are not rewritten: the two must then differ). Counting calls is not defeated.
TOOL_DEFEATS: dict[ToolLie, frozenset[tuple[str, str]]] = {
    "honest": frozenset(),
    "always-call": frozenset({("tool_choice", "none"), ("tool_choice", "required")}),
    "bad-arguments": frozenset({("tool_choice", "function"), ("tool_choice", "required"), ("stream", "tool-calls")}),
    "wrong-name": frozenset({("tool_choice", "function"), ("tool_choice", "required"), ("stream", "tool-calls")}),
}


def defeated(lie: Lie, behaviour: str, record: Record) -> bool:
    """Does the lie (or the synthetic behaviour) leave no way to earn HONOURED for this record?"""
    if record.check == "tools":
        return (record.param, record.label) in TOOL_DEFEATS[lie.tools]
    if record.check not in TEXT_CHECKS:
        return False
    if lie.json_mode == "always-42" and record.param == "response_format":
        return True
    if lie.text in ("constant", "null", "hash", "random"):
        # The text does not come from the sampler: nothing that shows in it (sampling, a
        # default, the seed, where a stop string or max_tokens cuts it, JSON) can be credited.
        # n still returns n choices (that they do not vary is no part of n), and the usage
        # chunk of stream_options is not text.
        return record.param not in ("n", "stream_options")
    if lie.text == "null-when-extra" and record.param not in PLAIN_KEYS:
        return True  # a request carrying the parameter has no text; the bare probe is honest
    if behaviour == "unseeded":
        # A seed that does not reproduce defeats only the seed: every other effect and default
        # of the honest sampler is proven without it (greedy outputs and samples).
        return record.param == "seed"
    return False


# --- one example per lie of the original bug list -----------------------------------------


def test_null_content_only_when_a_parameter_is_sent_is_not_honoured(catalogue: dict[str, Surface]) -> None:
    records = run_lying(Lie(text="null-when-extra"), catalogue["openrouter"], ["repetition_penalty"], ["passthrough"])
    assert verdicts(records, "repetition_penalty") == {Verdict.INCONCLUSIVE}, [r.detail for r in records]


def test_json_mode_answering_42_is_not_honoured(catalogue: dict[str, Surface]) -> None:
    records = run_lying(Lie(json_mode="always-42"), catalogue["openai"], ["response_format"], ["effect"])
    assert verdicts(records, "response_format") == {Verdict.IGNORED}, [r.detail for r in records]
    assert all("not an object" in r.detail for r in records)


def test_a_response_cache_does_not_honour_penalties(catalogue: dict[str, Surface]) -> None:
    """Text that is a function of the request bytes changes with any change of the request: the
    inert control (a longer max_tokens) and the neutral one change it too."""
    params = ["repetition_penalty", "frequency_penalty"]
    records = run_lying(Lie(text="hash"), catalogue["openrouter"], params, ["passthrough", "effect"])
    assert {r.param for r in records} == set(params)
    assert {r.verdict for r in records} == {Verdict.INCONCLUSIVE}, [r.detail for r in records]
    assert all("the request itself" in r.detail for r in records), [r.detail for r in records]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_everywhere_stops_the_run(catalogue: dict[str, Surface], status: StatusLie) -> None:
    with pytest.raises(ConfigError, match=KEY_ENV) as raised:
        run_lying(Lie(status=status), catalogue["openai"], ["temperature", "n"], ["range", "effect"])
    assert f"HTTP {status}" in str(raised.value)


def test_a_redirect_everywhere_is_never_rejected(catalogue: dict[str, Surface]) -> None:
    records = run_lying(Lie(status=302), catalogue["openai"], ["temperature", "n"], ["range", "effect", "unknown-key"])
    assert {r.verdict for r in records} == {Verdict.TRANSPORT_ERROR}
    assert gate_exit_codes(records) == dict.fromkeys(GATES, 1)


def test_a_body_without_choices_is_a_server_error(catalogue: dict[str, Surface]) -> None:
    records = run_lying(Lie(body="no-choices"), catalogue["openai"], ["temperature"], ["effect"])
    assert verdicts(records, "temperature", "effect") == {Verdict.SERVER_ERROR}, [r.detail for r in records]


@pytest.mark.parametrize("param", ["temperature", "stream"])
def test_an_error_inside_a_200_is_a_failed_reply(catalogue: dict[str, Surface], param: str) -> None:
    """OpenRouter's error envelope as a 200 body, Groq's ``event: error`` ending a 200 stream:
    never usable, never an effect; the detail names the error's message, code and where."""
    records = run_lying(Lie(body="error-in-200"), catalogue["openai"], [param], ["effect", "response-schema"])
    effects = [r for r in records if r.param == param]
    assert effects and {r.verdict for r in effects} == {Verdict.SERVER_ERROR}, [r.detail for r in effects]
    assert all("an error inside the 200" in r.detail for r in effects), [r.detail for r in effects]
    assert all("'Provider returned error' (code 429)" in r.detail for r in effects)  # the plain reply fails first
    (group,) = [r for r in records if r.param == "(error-in-200)"]
    assert group.verdict is Verdict.SERVER_ERROR


# --- properties over drawn lies ---------------------------------------------------------------

# derandomize: the same examples on every run and in every xdist worker; no example database,
# so nothing is written into the repository; no shrinking, which can take minutes on a run of
# hundreds of requests: a failure shows the example as drawn.
PROPERTY = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
REFUSING: tuple[StatusLie, ...] = (401, 403, 404)  # the configuration is refused: the run stops
# Lies after which no answer is usable; each is combined with drawn text and JSON-mode lies.
UNUSABLE_STATUSES: tuple[StatusLie, ...] = (301, 302, 405, 418)
UNUSABLE = [Lie(status=s) for s in UNUSABLE_STATUSES] + [Lie(body=b) for b in BODY_LIES if b != "ok"]

texts = st.sampled_from(TEXT_LIES)
json_modes = st.sampled_from(JSON_MODE_LIES)
tool_lies = st.sampled_from(TOOL_LIES)
any_lies = st.builds(
    Lie,
    text=texts,
    status=st.sampled_from(STATUS_LIES),
    body=st.sampled_from(BODY_LIES),
    json_mode=json_modes,
    tools=tool_lies,
)
surfaces = st.sampled_from(SURFACES)
behaviours = st.sampled_from(sorted(BEHAVIOURS))


def draw_params(data: st.DataObject, surface: Surface) -> list[str]:
    available = [p for p in PARAMS if p in surface.parameters]
    drawn: list[str] = data.draw(st.lists(st.sampled_from(available), min_size=1, unique=True), label="params")
    return drawn


def violations(lie: Lie, behaviour: str, surface: Surface, records: list[Record]) -> list[str]:
    """Every invariant a run against ``lie`` breaks (empty: none)."""
    found = [p for r in records for p in evidence_problems(r, surface)]
    if lie.status is None and lie.body == "ok":
        found += [
            f"{r.case_id}: HONOURED although {lie} ({behaviour}) defeats it: {r.detail[:160]}"
            for r in records
            if r.verdict is Verdict.HONOURED and defeated(lie, behaviour, r)
        ]
    else:
        found += [
            f"{r.case_id}: {r.verdict.value} from an unusable answer ({lie}): {r.detail[:160]}"
            for r in records
            if r.verdict in CONFORMING
        ]
    return found


# Each lie is a parametrized case, so every one gets its own examples (a single draw over all
# of them leaves some with few), then one test over any combination.


@pytest.mark.parametrize("text", TEXT_LIES)
@settings(PROPERTY, max_examples=8)
@given(json_mode=json_modes, surface=surfaces, behaviour=behaviours, data=st.data())
def test_lies_about_text_earn_no_verdict(
    surfaces_by_name: Catalogue,
    text: TextLie,
    json_mode: JsonModeLie,
    surface: str,
    behaviour: str,
    data: st.DataObject,
) -> None:
    lie, chosen = Lie(text=text, json_mode=json_mode), surfaces_by_name[surface]
    records = run_lying(lie, chosen, draw_params(data, chosen), behaviour=BEHAVIOURS[behaviour])
    assert records
    problems = violations(lie, behaviour, chosen, records)
    assert not problems, "\n".join(problems)


TOOL_PARAMS = ["tools", "tool_choice", "parallel_tool_calls", "stream"]
TOOL_SURFACES = ("openai", "oruel", "vllm", "llamacpp")  # the others document no tools


@pytest.mark.parametrize("tools", TOOL_LIES)
@settings(PROPERTY, max_examples=6)
@given(text=texts, surface=st.sampled_from(TOOL_SURFACES), calls_unforced=st.booleans(), data=st.data())
def test_lies_about_tool_calls_earn_no_verdict(
    surfaces_by_name: Catalogue, tools: ToolLie, text: TextLie, surface: str, calls_unforced: bool, data: st.DataObject
) -> None:
    lie, chosen = Lie(text=text, tools=tools), surfaces_by_name[surface]
    available = [p for p in TOOL_PARAMS if p in chosen.parameters]
    params = data.draw(st.lists(st.sampled_from(available), min_size=1, unique=True), label="params")
    records = run_lying(lie, chosen, params, ["tools"], Behaviour(calls_unforced=calls_unforced))
    problems = violations(lie, "lenient", chosen, records)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("tools", "label"),
    [("always-call", "none"), ("bad-arguments", "function"), ("wrong-name", "function"), ("bad-arguments", "required")],
)
def test_a_tool_lie_is_ignored(catalogue: dict[str, Surface], tools: ToolLie, label: str) -> None:
    """Each lie where the honest provider is decided: "none" needs a model that calls unforced."""
    behaviour = Behaviour(calls_unforced=label == "none")
    records = run_lying(Lie(tools=tools), catalogue["openai"], ["tool_choice"], ["tools"], behaviour)
    found = {r.label: r for r in records}
    assert found[label].verdict is Verdict.IGNORED, found[label].detail
    honest = {r.label: r.verdict for r in run_lying(Lie(), catalogue["openai"], ["tool_choice"], ["tools"], behaviour)}
    assert honest[label] is Verdict.HONOURED


@pytest.mark.parametrize("status", REFUSING)
@settings(PROPERTY, max_examples=4)
@given(text=texts, surface=surfaces, data=st.data())
def test_a_refused_configuration_stops_the_run(
    surfaces_by_name: Catalogue, status: StatusLie, text: TextLie, surface: str, data: st.DataObject
) -> None:
    chosen = surfaces_by_name[surface]
    with pytest.raises(ConfigError) as raised:
        run_lying(Lie(text=text, status=status), chosen, draw_params(data, chosen))
    message = str(raised.value)
    assert f"HTTP {status}" in message
    assert KEY_ENV in message if status in (401, 403) else "model name" in message


@pytest.mark.parametrize("unusable", UNUSABLE, ids=str)
@settings(PROPERTY, max_examples=4)
@given(text=texts, json_mode=json_modes, surface=surfaces, behaviour=behaviours, data=st.data())
def test_unusable_answers_conform_to_nothing_and_fail_the_gate(
    surfaces_by_name: Catalogue,
    unusable: Lie,
    text: TextLie,
    json_mode: JsonModeLie,
    surface: str,
    behaviour: str,
    data: st.DataObject,
) -> None:
    lie, chosen = replace(unusable, text=text, json_mode=json_mode), surfaces_by_name[surface]
    records = run_lying(lie, chosen, draw_params(data, chosen), behaviour=BEHAVIOURS[behaviour])
    assert records
    problems = violations(lie, behaviour, chosen, records)
    assert not problems, "\n".join(problems)
    codes = gate_exit_codes(records)
    assert codes["strict"] == codes["baseline"] == 1, codes
    if not any(r.verdict in DECIDED for r in records):
        assert codes["none"] == 1, "a run that decided nothing passed the gate 'none'"


@settings(PROPERTY, max_examples=30)
@given(lie=any_lies, surface=surfaces, behaviour=behaviours, data=st.data())
def test_any_lie_either_stops_the_run_or_keeps_every_invariant(
    surfaces_by_name: Catalogue, lie: Lie, surface: str, behaviour: str, data: st.DataObject
) -> None:
    chosen = surfaces_by_name[surface]
    try:
        records = run_lying(lie, chosen, draw_params(data, chosen), behaviour=BEHAVIOURS[behaviour])
    except ConfigError:
        assert lie.status in REFUSING
        return
    assert lie.status not in REFUSING
    problems = violations(lie, behaviour, chosen, records)
    assert not problems, "\n".join(problems)


# --- found by the properties (fixed in harness/): each failed before its fix ------------------


def test_a_default_with_no_alternative_is_not_honoured_for_constant_text(catalogue: dict[str, Surface]) -> None:
    records = run_lying(Lie(text="constant"), catalogue["openai"], ["frequency_penalty"], ["default"])
    assert Verdict.HONOURED not in verdicts(records, "frequency_penalty", "default"), [r.detail for r in records]


@pytest.mark.parametrize("text", ["null", "constant", "hash"])
def test_max_tokens_is_not_honoured_when_the_text_does_not_shorten(
    catalogue: dict[str, Surface], text: TextLie
) -> None:
    records = run_lying(Lie(text=text), catalogue["openai"], ["max_tokens"], ["effect"])
    assert Verdict.HONOURED not in verdicts(records, "max_tokens", "effect"), [r.detail for r in records]


def test_an_embeddings_body_without_data_is_a_server_error(catalogue: dict[str, Surface]) -> None:
    records = run_lying(Lie(body="no-choices"), catalogue["openai"], [], ["embeddings"])
    assert verdicts(records, "dimensions") == {Verdict.SERVER_ERROR}, [r.detail for r in records]


# --- the honest provider ----------------------------------------------------------------------


def test_the_honest_provider_is_still_honoured(catalogue: dict[str, Surface]) -> None:
    """Without this, every property above holds for a harness that never says HONOURED."""
    openai = run_lying(Lie(), catalogue["openai"], ["temperature", "seed"], ["effect", "determinism"])
    openrouter = run_lying(Lie(), catalogue["openrouter"], ["repetition_penalty"], ["passthrough"])
    assert verdicts(openai, "temperature", "effect") == {Verdict.HONOURED}
    assert verdicts(openai, "seed", "determinism") == {Verdict.HONOURED}
    assert verdicts(openrouter, "repetition_penalty", "passthrough") == {Verdict.HONOURED}
    for record in openai + openrouter:
        assert not evidence_problems(record, catalogue[record.surface])
