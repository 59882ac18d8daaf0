"""The pure judges on exchanges built by hand: each verdict, and each way a provider can lie
to get a verdict it has not earned (the control that refutes it)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checks.findings import Finding
from harness.checks.judges.determinism import SeedRepeats, judge_seed
from harness.checks.judges.effects import (
    StopProbe,
    judge_logprobs,
    judge_max_tokens,
    judge_n,
    judge_response_format,
    judge_stop,
    judge_stream,
    judge_top_logprobs,
)
from harness.checks.judges.embeddings import judge_dimensions, judge_encoding
from harness.checks.judges.forms import (
    BiasProbe,
    Twins,
    first_tokens,
    judge_equivalent,
    judge_logit_bias,
    judge_stream_usage,
)
from harness.checks.judges.outcome import extends, names_param, probe_failure, unusable
from harness.checks.judges.ranges import envelope_quality, judge_case
from harness.checks.judges.sampled import REGRET, SURPRISE, regret, sample_text, samples_problem, statistic, surprise
from harness.checks.judges.sampling import (
    Baseline,
    DefaultSearch,
    DefaultTrial,
    Differential,
    GreedyProbe,
    judge_default,
    judge_differential,
    judge_greedy,
)
from harness.checks.judges.shapes import Contrast, Pair, StreamPair
from harness.engine import build_record
from harness.results import Verdict
from harness.transport import Exchange, Outcome

CHAT = "http://p.test/v1/chat/completions"


def reply(content: Any = "some text", status: int = 200, body: Any = ..., **fields: Any) -> Exchange:
    """A chat exchange answering ``content`` (``body`` replaces the whole JSON body)."""
    if body is ...:
        body = {
            "id": "x",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": fields.pop("tokens", 16), "total_tokens": 17},
        }
    exchange = Exchange("POST", CHAT, {"model": "m"}, Outcome.RESPONSE, status=status, json=body, **fields)
    exchange.content_type = "application/json"
    return exchange


def error(status: int, message: str = "bad value", param: str | None = None) -> Exchange:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}
    return reply(status=status, body=body, text=str(body))


# --- what an exchange is ---------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_is_no_answer(status: int) -> None:
    judged = unusable(reply(status=status, body=None))
    assert judged is not None and judged.verdict is Verdict.TRANSPORT_ERROR and "redirect" in judged.detail


def test_a_200_without_choices_is_the_providers_broken_body() -> None:
    judged = unusable(reply(body={"id": "x", "object": "chat.completion"}))
    assert judged is not None and judged.verdict is Verdict.SERVER_ERROR and "no choices" in judged.detail


@pytest.mark.parametrize("status", [401, 403, 404, 405, 409, 413])
def test_only_a_validation_refusal_is_a_refusal(status: int) -> None:
    failed = probe_failure([error(status)])
    assert failed is not None and failed.verdict is Verdict.INCONCLUSIVE
    judged, _ = judge_case("temperature", "reject", "above 2", error(status))
    assert judged.verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize("status", [400, 422])
def test_a_validation_refusal_is_rejected_or_over_strict(status: int) -> None:
    assert judge_case("temperature", "reject", "above 2", error(status))[0].verdict is Verdict.REJECTED
    assert judge_case("temperature", "accept", "", error(status))[0].verdict is Verdict.OVER_STRICT


@pytest.mark.parametrize(
    ("message", "param", "name", "names"),
    [
        ("Invalid request", None, "n", False),
        ("n must be at most 8", None, "n", True),
        ("'top_n' is wrong", None, "n", False),
        ("something went wrong", "n", "n", True),
        ("bad value", "messages.0.n", "n", True),
        ("temperature: must be <= 2", None, "temperature", True),
    ],
)
def test_naming_the_parameter_means_its_param_field_or_the_word(
    message: str, param: str | None, name: str, names: bool
) -> None:
    assert names_param(message, param, name) is names
    assert envelope_quality(error(400, message, param), name)["names_param"] is names


def not_recorded() -> Exchange:
    return Exchange("POST", CHAT, {"model": "m"}, Outcome.NOT_RECORDED, error="no recorded interaction matches")


def test_the_record_builder_says_how_to_record_what_replay_did_not_find(catalogue: dict[str, Any]) -> None:
    """A judge says only that nothing was recorded; the record names the command for its column."""
    judged = judge_n(Pair(base=reply("x"), probe=not_recorded()), 2)
    assert (judged.verdict, judged.detail) == (Verdict.NOT_RECORDED, "no recorded interaction")
    record = build_record(Finding(judged, [not_recorded()], 2), provider="local@openai", surface=catalogue["openai"])
    assert record.detail == "no recorded interaction; record it with: nox -s record -- --provider local@openai"


# --- the shared guard -------------------------------------------------------------------


def test_the_guard_reads_a_shape_in_its_order() -> None:
    """The first exchange of ``exchanges()`` that failed decides, before the judge reads anything."""
    broken, refused = reply(status=500, body=None), error(400)
    assert judge_n(Pair(base=broken, probe=refused), 2).verdict is Verdict.SERVER_ERROR  # the base first
    assert judge_top_logprobs(Contrast(probe=refused, control=broken), 3).verdict is Verdict.OVER_STRICT
    assert judge_stream(StreamPair(plain=not_recorded(), streamed=broken)).verdict is Verdict.NOT_RECORDED
    assert judge_stop(StopProbe(greedy=reply("a b c d e f g h"), stopped=refused)).verdict is Verdict.OVER_STRICT
    assert judge_stop(StopProbe(greedy=reply("ab"), stopped=None)).verdict is Verdict.INCONCLUSIVE


def test_shapes_take_named_fields_only() -> None:
    with pytest.raises(TypeError):
        Pair(reply("a"), reply("b"))  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Baseline(reply("a"), reply("a"), reply("a b"), None)  # type: ignore[call-arg]


def test_a_shared_baseline_decides_before_the_probes_failures() -> None:
    """Differential and default probes: the baseline is judged whole first (a seed that does not
    reproduce), then the probe's own failures."""
    unstable = baseline(again="c d")
    probe = Differential(baseline=unstable, control=None, probe=error(400))
    judged = judge_differential(probe, "top_a", 1.0, None)
    assert judged.verdict is Verdict.INCONCLUSIVE and "different outputs" in judged.detail
    stable = Differential(baseline=baseline(), control=None, probe=error(400))
    assert judge_differential(stable, "top_a", 1.0, None).verdict is Verdict.OVER_STRICT
    # The other seed is no part of the guard: where it failed, only IGNORED is out of reach.
    lost = Baseline(base=reply("a b"), again=reply("a b"), longer=reply("a b c"), other_seed=error(400))
    same = Differential(baseline=lost, control=None, probe=reply("a b"))
    unseen = judge_differential(same, "top_a", 1.0, None)
    assert unseen.verdict is Verdict.INCONCLUSIVE and "could be seen" in unseen.detail
    search = DefaultSearch(baseline=unstable, trials=[trial("a", "a", **{"40": "b"})])
    search.trials[0].omitted.status = 500
    judged = judge_default(search, "top_k", 0)
    assert judged.verdict is Verdict.INCONCLUSIVE and "different outputs" in judged.detail


def test_embeddings_read_the_plain_request_first() -> None:
    refused = Exchange("POST", "http://p.test/v1/embeddings", {}, Outcome.RESPONSE, status=400, json={})
    judged = judge_encoding(Pair(base=refused, probe=embeddings([1.0])))
    assert judged.verdict is Verdict.INCONCLUSIVE and "not served" in judged.detail
    statuses = {400, 422}
    undocumented = judge_dimensions(Pair(base=embeddings([1.0, 2.0]), probe=refused), 1, False, statuses)
    assert undocumented.verdict is Verdict.REJECTED
    documented = judge_dimensions(Pair(base=embeddings([1.0, 2.0]), probe=refused), 1, True, statuses)
    assert documented.verdict is Verdict.OVER_STRICT
    assert judge_dimensions(Pair(base=embeddings([1.0, 2.0]), probe=embeddings([1.0])), 1, True, statuses).verdict is (
        Verdict.HONOURED
    )


# --- differential probes -----------------------------------------------------------------


def baseline(text: str = "a b", again: str | None = None, longer: str | None = None, other: str = "z z") -> Baseline:
    """The shared seeded baseline: by default it reproduces, extends, and another seed differs."""
    return Baseline(
        base=reply(text), again=reply(again or text), longer=reply(longer or text + " more"), other_seed=reply(other)
    )


def test_differential_honoured_with_its_neutral_control() -> None:
    judged = judge_differential(
        Differential(baseline=baseline("a b a b"), control=reply("a b a b"), probe=reply("a b c d")),
        "repetition_penalty",
        2.0,
        1.0,
    )
    assert judged.verdict is Verdict.HONOURED and "repetition_penalty=1.0" in judged.control


def test_differential_null_content_is_no_effect() -> None:
    judged = judge_differential(
        Differential(baseline=baseline(), control=reply("a b"), probe=reply(None)), "top_a", 1.0, 0.0
    )
    assert judged.verdict is Verdict.INCONCLUSIVE and "without content" in judged.detail


def test_differential_a_response_cache_is_caught_by_the_control() -> None:
    # Keyed on the raw bytes: any change to the body gives a new answer, the neutral value too.
    judged = judge_differential(
        Differential(baseline=baseline(), control=reply("x y"), probe=reply("q r")), "top_a", 1.0, 0.0
    )
    assert judged.verdict is Verdict.INCONCLUSIVE and "control" in judged.detail


def test_differential_a_cache_keyed_on_the_normalised_request_is_caught_by_the_inert_change() -> None:
    # The neutral value is the default, so it hits the cache; the longer request misses it.
    cache = baseline("a b", longer="unrelated text")
    judged = judge_differential(
        Differential(baseline=cache, control=reply("a b"), probe=reply("q r")), "top_a", 1.0, 0.0
    )
    assert judged.verdict is Verdict.INCONCLUSIVE and "inert change" in judged.detail


def test_differential_ignored_only_where_an_effect_could_be_seen() -> None:
    judged = judge_differential(
        Differential(baseline=baseline(), control=reply("a b"), probe=reply("a b")), "top_a", 1.0, 0.0
    )
    assert judged.verdict is Verdict.IGNORED and "another seed" in judged.control
    greedy_always = baseline(other="a b")  # another seed gives the same text: nothing samples
    assert (
        judge_differential(
            Differential(baseline=greedy_always, control=reply("a b"), probe=reply("a b")), "top_a", 1.0, 0.0
        ).verdict
        is Verdict.INCONCLUSIVE
    )


def test_differential_needs_a_reproducible_seed() -> None:
    judged = judge_differential(
        Differential(baseline=baseline(again="c d"), control=reply("a b"), probe=reply("e f")), "top_a", 1.0, 0.0
    )
    assert judged.verdict is Verdict.INCONCLUSIVE


def test_differential_without_a_neutral_value_relies_on_the_inert_change() -> None:
    honest = judge_differential(
        Differential(baseline=baseline(), control=None, probe=reply("x y")), "temperature", 0.7, None
    )
    assert honest.verdict is Verdict.HONOURED and "max_tokens" in honest.control
    cached = judge_differential(
        Differential(baseline=baseline(longer="q r s"), control=None, probe=reply("x y")), "temperature", 0.7, None
    )
    assert cached.verdict is Verdict.INCONCLUSIVE


# --- greedy equivalence -----------------------------------------------------------------


SEEDS = (1, 2)


def greedy(param: str, value: Any, sampled: list[str], reference: str, seeded: list[str], longer: str = "") -> Any:
    return judge_greedy(
        GreedyProbe(
            greedy=reply(reference),
            greedy_longer=reply(longer or reference + " more"),
            sampled=[reply(t) for t in sampled],
            seeded=[reply(t) for t in seeded],
            seeds=SEEDS,
        ),
        param,
        value,
    )


def test_greedy_honoured_when_sampling_differs_from_greedy() -> None:
    judged = greedy("top_k", 1, ["s1", "s2"], "g", ["g", "g"])
    assert judged.verdict is Verdict.HONOURED and judged.control


def test_greedy_a_constant_provider_is_not_honoured() -> None:
    assert greedy("top_k", 1, ["c", "c"], "c", ["c", "c"]).verdict is Verdict.INCONCLUSIVE


def test_greedy_null_everywhere_is_not_honoured() -> None:
    nothing = [reply(None), reply(None)]
    judged = judge_greedy(
        GreedyProbe(greedy=reply(None), greedy_longer=reply(None), sampled=nothing, seeded=nothing, seeds=SEEDS),
        "top_k",
        1,
    )
    assert judged.verdict is Verdict.INCONCLUSIVE


def test_greedy_a_cache_that_drops_the_seed_is_caught_by_the_inert_change() -> None:
    # temperature=0 under both seeds hits one cache entry; the longer greedy request misses it.
    judged = greedy("temperature", 0.0, ["s1", "s2"], "g", ["g", "g"], longer="unrelated")
    assert judged.verdict is Verdict.INCONCLUSIVE


def test_temperature_zero_ignored_when_each_seed_samples_as_before() -> None:
    # For temperature=0 the greedy reference is the probe itself: seed 1 agrees trivially,
    # the second seed decides.
    assert greedy("temperature", 0.0, ["s1", "s2"], "s1", ["s1", "s2"]).verdict is Verdict.IGNORED


# --- defaults ---------------------------------------------------------------------------


def trial(omitted: str, documented: str, inert: str | None = None, **alternatives: str) -> DefaultTrial:
    return DefaultTrial(
        label="temperature 1, seed 1, 16 tokens",
        omitted=reply(omitted),
        documented=reply(documented),
        alternatives={name: reply(text) for name, text in alternatives.items()},
        inert=reply(inert) if inert is not None else None,
    )


BASE = baseline("base")


def test_default_honoured_only_against_every_alternative() -> None:
    judged = judge_default(DefaultSearch(baseline=BASE, trials=[trial("a", "a", **{"40": "b", "50": "c"})]), "top_k", 0)
    assert judged.verdict is Verdict.HONOURED and "40" in judged.control


def test_default_with_an_indistinguishable_alternative_is_not_honoured() -> None:
    trials = [trial("a", "a", **{"40": "a", "20": "b"}), trial("x", "x", **{"40": "x"})]
    judged = judge_default(DefaultSearch(baseline=BASE, trials=trials), "top_k", 0)
    assert judged.verdict is Verdict.INCONCLUSIVE and "40" in judged.detail and "20" not in judged.detail


def test_default_a_normalising_cache_is_not_honoured() -> None:
    # omitted and explicit are one cache entry, every alternative a miss: the inert change catches it.
    cache = baseline("base", longer="unrelated")
    judged = judge_default(DefaultSearch(baseline=cache, trials=[trial("a", "a", **{"40": "b"})]), "top_k", 0)
    assert judged.verdict is Verdict.INCONCLUSIVE


def test_default_not_applied_when_an_alternative_reproduces_the_omitted_output() -> None:
    judged = judge_default(DefaultSearch(baseline=BASE, trials=[trial("a", "b", **{"0.8": "a"})]), "temperature", 1.0)
    assert judged.verdict is Verdict.IGNORED and "behaves like temperature=0.8" in judged.detail


def test_default_not_applied_needs_the_inert_control() -> None:
    honest = judge_default(DefaultSearch(baseline=BASE, trials=[trial("abc", "xyz", inert="abc def")]), "min_p", 0.0)
    assert honest.verdict is Verdict.IGNORED and "max_tokens" in honest.control
    cached = judge_default(DefaultSearch(baseline=BASE, trials=[trial("abc", "xyz", inert="qqq")]), "min_p", 0.0)
    assert cached.verdict is Verdict.INCONCLUSIVE


def test_a_default_needs_some_alternative_to_be_credited() -> None:
    judged = judge_default(DefaultSearch(baseline=BASE, trials=[trial("a", "a")]), "frequency_penalty", 0)
    assert judged.verdict is Verdict.INCONCLUSIVE


MODEL_NAMED = "(the model's generation_config.json value)"


@settings(max_examples=200, deadline=None)
@given(
    omitted=st.sampled_from("abc"),
    documented=st.sampled_from("abc"),
    engine=st.sampled_from("abc"),
    model=st.sampled_from("abc"),
)
def test_default_names_the_model_value_only_when_it_reproduces_the_omitted_output(
    omitted: str, documented: str, engine: str, model: str
) -> None:
    # The model's value (0.5) beside an engine default (0.8); each request's text drawn.
    search = DefaultSearch(
        baseline=BASE, trials=[trial(omitted, documented, inert="x", **{"0.8": engine, "0.5": model})]
    )
    judged = judge_default(search, "temperature", 1.0, model=0.5)
    applied = judged.verdict is Verdict.IGNORED and MODEL_NAMED in judged.detail
    assert applied == (omitted != documented and omitted == model and engine != omitted)
    if "not the model's generation_config.json value 0.5" in judged.detail:
        assert judged.verdict is Verdict.HONOURED and omitted == documented != model
    if judged.verdict is Verdict.HONOURED:
        assert "not the model's generation_config.json value 0.5" in judged.detail
    unnamed = judge_default(search, "temperature", 1.0)
    assert unnamed.verdict is judged.verdict and "generation_config" not in unnamed.detail


# --- response_format, max_tokens, seed, embeddings ---------------------------------------


SCHEMA = {"type": "object", "required": ["ok"]}


@pytest.mark.parametrize("content", ["42", "[1, 2]", '"text"', "not json at all"])
def test_json_object_must_be_an_object(content: str) -> None:
    judged = judge_response_format(Pair(base=reply("word salad"), probe=reply(content)), "json_object", SCHEMA)
    assert judged.verdict is Verdict.IGNORED


def test_json_object_honoured_against_a_control_without_it() -> None:
    judged = judge_response_format(Pair(base=reply("word salad"), probe=reply("{}")), "json_object", SCHEMA)
    assert judged.verdict is Verdict.HONOURED
    always_json = judge_response_format(Pair(base=reply('{"a": 1}'), probe=reply("{}")), "json_object", SCHEMA)
    assert always_json.verdict is Verdict.INCONCLUSIVE


def test_json_schema_must_validate() -> None:
    assert (
        judge_response_format(Pair(base=reply("w"), probe=reply("{}")), "json_schema", SCHEMA).verdict
        is Verdict.IGNORED
    )
    assert (
        judge_response_format(Pair(base=reply("w"), probe=reply('{"ok": 1}')), "json_schema", SCHEMA).verdict
        is Verdict.HONOURED
    )


def test_max_tokens_needs_a_base_request_that_runs_past_the_limit() -> None:
    longer, limited = reply("a b c d e f g h", tokens=16), reply("a b c", tokens=5)
    assert judge_max_tokens(Pair(base=longer, probe=limited), 5).verdict is Verdict.HONOURED
    assert judge_max_tokens(Pair(base=reply("a b c", tokens=5), probe=limited), 5).verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize("limited", [None, "a b c d e f g h", "x y"])
def test_max_tokens_usage_alone_is_not_the_effect(limited: str | None) -> None:
    # null content, the same text as without the limit, or text that is not its start
    judged = judge_max_tokens(Pair(base=reply("a b c d e f g h", tokens=16), probe=reply(limited, tokens=5)), 5)
    assert judged.verdict is Verdict.INCONCLUSIVE


def test_seed_agreement_without_a_seed_is_not_the_seeds() -> None:
    repeats, others, longer = [reply("a")] * 5, [reply("b"), reply("c")], reply("a more")
    assert (
        judge_seed(
            SeedRepeats(repeats=repeats, other_seeds=others, unseeded=[reply("u"), reply("v")], longer=longer), 1
        ).verdict
        is Verdict.HONOURED
    )
    cached = judge_seed(
        SeedRepeats(repeats=repeats, other_seeds=others, unseeded=[reply("u"), reply("u")], longer=longer), 1
    )
    assert cached.verdict is Verdict.INCONCLUSIVE


def test_seed_agreement_from_a_cache_of_seeded_requests_is_not_the_seeds() -> None:
    # Seeded requests cached by their bytes in front of an engine that ignores the seed.
    repeats, others = [reply("a")] * 5, [reply("b"), reply("c")]
    judged = judge_seed(
        SeedRepeats(repeats=repeats, other_seeds=others, unseeded=[reply("u"), reply("v")], longer=reply("unrelated")),
        1,
    )
    assert judged.verdict is Verdict.INCONCLUSIVE


def embeddings(vector: Any) -> Exchange:
    body = {"object": "list", "model": "m", "data": [{"object": "embedding", "index": 0, "embedding": vector}]}
    return Exchange("POST", "http://p.test/v1/embeddings", {}, Outcome.RESPONSE, status=200, json=body)


def test_an_embeddings_body_without_data_is_the_providers_broken_body() -> None:
    body = Exchange("POST", "http://p.test/v1/embeddings", {}, Outcome.RESPONSE, status=200, json={"object": "list"})
    judged = unusable(body)
    assert judged is not None and judged.verdict is Verdict.SERVER_ERROR


def test_empty_embeddings_are_never_honoured() -> None:
    judged = judge_encoding(Pair(base=embeddings([]), probe=embeddings("")))
    assert judged.verdict is not Verdict.HONOURED


def test_a_surface_may_document_its_own_refusal_status(catalogue: dict[str, Any]) -> None:
    assert catalogue["openai"].refusal_statuses == {400, 422}
    assert judge_case("temperature", "reject", "", error(409), refusal_statuses={409})[0].verdict is Verdict.REJECTED
    assert (
        judge_case("temperature", "reject", "", error(400), refusal_statuses={409})[0].verdict is Verdict.INCONCLUSIVE
    )


@pytest.mark.parametrize(
    "chunk",
    [
        {"choices": [{"index": 0, "delta": None}]},
        {"choices": ["x"]},
        {"choices": [{"index": 0, "delta": "hi"}]},
        {"choices": None},
        "not an object",
    ],
)
def test_odd_stream_shapes_are_read_without_raising(chunk: Any) -> None:
    streamed = reply(body=None, chunks=[chunk], stream_done=True)
    streamed.content_type = "text/event-stream"
    assert streamed.content() == ""
    judged = judge_stream(StreamPair(plain=reply("text"), streamed=streamed))
    assert judged.verdict in (Verdict.SERVER_ERROR, Verdict.INCONCLUSIVE)


@pytest.mark.parametrize(
    "logprobs", [[1, 2], "x", {"content": "x"}, {"content": [{"logprob": -1, "top_logprobs": 3}]}, None]
)
def test_odd_logprobs_shapes_are_not_honoured(logprobs: Any) -> None:
    probe = reply("a b")
    probe.json["choices"][0]["logprobs"] = logprobs
    assert judge_top_logprobs(Contrast(probe=probe, control=probe), 3).verdict is Verdict.IGNORED
    assert judge_logprobs(Pair(base=reply("a b"), probe=probe)).verdict is not Verdict.HONOURED


@pytest.mark.parametrize("body", [{"choices": "x"}, {"choices": ["x"]}, {"choices": [{"message": None}]}, [1], "s"])
def test_odd_completion_shapes_are_the_providers_broken_body(body: Any) -> None:
    exchange = reply(body=body)
    assert exchange.content() is None
    judged = unusable(exchange)
    assert judged is not None and judged.verdict is Verdict.SERVER_ERROR


def test_max_tokens_ignored_needs_text_that_was_not_cut() -> None:
    longer = reply("a b c d e f g h", tokens=16)
    assert judge_max_tokens(Pair(base=longer, probe=reply("a b c d e f g h", tokens=16)), 5).verdict is Verdict.IGNORED
    overcounted = judge_max_tokens(Pair(base=longer, probe=reply("a b c", tokens=6)), 5)
    assert overcounted.verdict is Verdict.INCONCLUSIVE


def _with_alternatives(count: int) -> Exchange:
    exchange = reply("a b")
    entry = {"token": "a", "logprob": -1.0, "top_logprobs": [{"token": "a", "logprob": -1.0}] * count}
    exchange.json["choices"][0]["logprobs"] = {"content": [entry, entry]}
    return exchange


def test_top_logprobs_must_follow_the_value() -> None:
    assert (
        judge_top_logprobs(Contrast(probe=_with_alternatives(3), control=_with_alternatives(1)), 3).verdict
        is Verdict.HONOURED
    )
    fixed = judge_top_logprobs(Contrast(probe=_with_alternatives(3), control=_with_alternatives(3)), 3)
    assert fixed.verdict is Verdict.IGNORED


def test_n_needs_different_samples() -> None:
    two = reply("x")
    two.json["choices"].append(
        {"index": 1, "message": {"role": "assistant", "content": "y"}, "finish_reason": "length"}
    )
    assert judge_n(Pair(base=reply("x"), probe=two), 2).verdict is Verdict.HONOURED
    two.json["choices"][1]["message"]["content"] = "x"
    assert judge_n(Pair(base=reply("x"), probe=two), 2).verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize(
    ("short", "longer", "holds"),
    [
        ("a b", "a b c", True),
        ("a b ", "a b\nc", True),  # trailing whitespace rendered otherwise further on
        ("caf\ufffd", "café au lait", True),  # half a character at the cut
        ("a b", "x y", False),
        ("   ", "   a", False),  # nothing settled: no evidence
        (None, "a", False),
    ],
)
def test_a_longer_generation_extends_the_settled_text(short: str | None, longer: str, holds: bool) -> None:
    assert extends(short, longer) is holds


def test_a_cache_that_ignores_max_tokens_fails_the_inert_change() -> None:
    # The short reply stopped at its limit; the longer request came back from the cache the same.
    cache = baseline("a b", longer="a b")
    judged = judge_differential(Differential(baseline=cache, control=None, probe=reply("x y")), "top_k", 5, None)
    assert judged.verdict is Verdict.INCONCLUSIVE and "inert change" in judged.detail
    ended = reply("a b")
    ended.json["choices"][0]["finish_reason"] = "stop"  # a reply that ended by itself may not grow
    stopped = Baseline(base=ended, again=ended, longer=reply("a b"), other_seed=reply("z z"))
    assert (
        judge_differential(Differential(baseline=stopped, control=None, probe=reply("x y")), "top_k", 5, None).verdict
        is Verdict.HONOURED
    )


def test_a_parameter_set_change_alone_must_not_change_the_output() -> None:
    reshuffles = Baseline(
        base=reply("a b"),
        again=reply("a b"),
        longer=reply("a b c"),
        other_seed=reply("z z"),
        neutral_key=reply("q q"),
        neutral_key_name="presence_penalty=0",
    )
    judged = judge_differential(
        Differential(baseline=reshuffles, control=None, probe=reply("x y")), "temperature", 0.7, None
    )
    assert judged.verdict is Verdict.INCONCLUSIVE and "presence_penalty=0" in judged.detail


def test_seed_ignored_only_where_sampling_varies() -> None:
    same = [reply("a")] * 5
    assert (
        judge_seed(
            SeedRepeats(
                repeats=same,
                other_seeds=[reply("a"), reply("a")],
                unseeded=[reply("u"), reply("v")],
                longer=reply("a b"),
            ),
            1,
        ).verdict
        is Verdict.IGNORED
    )
    peaked = judge_seed(
        SeedRepeats(
            repeats=same, other_seeds=[reply("a"), reply("a")], unseeded=[reply("a"), reply("a")], longer=reply("a b")
        ),
        1,
    )
    assert peaked.verdict is Verdict.INCONCLUSIVE


# --- samples (seed-free) ----------------------------------------------------------------


def sample(content: Any, tokens: list[tuple[str, float]] | None, finish: str = "stop") -> Exchange:
    exchange = reply(content)
    first = exchange.json["choices"][0]
    first["finish_reason"] = finish
    if tokens is not None:
        first["logprobs"] = {"content": [{"token": t, "logprob": lp} for t, lp in tokens]}
    return exchange


def test_a_sample_that_stopped_at_once_is_a_sample() -> None:
    """vLLM samples its end-of-sequence token first now and then: "" with finish_reason stop,
    and that token listed in logprobs. It is an observation, not a missing text."""
    eos = sample("", [("<|im_end|>", -4.0)])
    assert sample_text(eos) == ""
    assert surprise(eos) == 4.0
    ended = sample("ab", [("a", -1.0), ("b", -2.0), ("<|im_end|>", -3.0)])
    assert surprise(ended) == 2.0


def test_a_sample_without_text_or_with_other_tokens_is_no_sample() -> None:
    assert sample_text(sample(None, None)) is None  # null content
    assert sample_text(sample("", None, finish="length")) is None  # empty without a stop
    assert surprise(sample("", [("<|im_end|>", -4.0)], finish="length")) is None
    assert surprise(sample("ab", [("x", -1.0), ("b", -2.0)])) is None  # tokens of another text
    assert surprise(sample("ab", [("a", -1.0), ("b", -2.0), ("c", -1.0), ("d", -1.0)])) is None
    both_empty = [sample("", [("<|im_end|>", -4.0)]) for _ in range(3)]
    problem = samples_problem(both_empty)
    assert problem is not None and problem.verdict is Verdict.INCONCLUSIVE  # no variation
    assert samples_problem([sample(None, None), sample("a", None)]) is not None


def ranked(content: str, tokens: list[tuple[str, float, float | None]]) -> Exchange:
    """A sample whose tokens each list the most likely one's log-probability (None: no
    alternative listed)."""
    exchange = sample(content, [(t, lp) for t, lp, _ in tokens])
    entries = exchange.json["choices"][0]["logprobs"]["content"]
    for entry, (_, _, top) in zip(entries, tokens, strict=True):
        entry["top_logprobs"] = [] if top is None else [{"token": "t", "logprob": top}]
    return exchange


def test_the_regret_is_how_far_below_the_most_likely_token_each_chosen_one_was() -> None:
    # the first token was the most likely (no regret), the second 1.5 nats below it
    found = regret(ranked("ab", [("a", -0.5, -0.5), ("b", -2.0, -0.5)]))
    assert found == 0.75
    # a provider listing a less likely alternative than the chosen token: the chosen was the top
    assert regret(ranked("ab", [("a", -0.2, -0.9), ("b", -1.0, -1.0)])) == 0.0
    assert regret(ranked("ab", [("a", -0.5, -0.5), ("b", -2.0, None)])) is None  # no alternative listed
    assert regret(sample("ab", [("a", -0.5), ("b", -2.0)])) is None
    assert regret(ranked("ab", [("x", -0.5, -0.5), ("b", -2.0, -0.5)])) is None  # tokens of another text


def test_the_statistic_is_the_regret_where_every_sample_lists_alternatives() -> None:
    listed = [
        ranked("ab", [("a", -0.5, -0.5), ("b", -2.0, -0.5)]),
        ranked("ac", [("a", -0.5, -0.5), ("c", -1.0, -1.0)]),
    ]
    unlisted = [sample("ab", [("a", -0.5), ("b", -2.0)])]
    found = statistic([listed, listed])
    assert found is not None and found[0] == REGRET and found[1][0] == [0.75, 0.0]
    mixed = statistic([listed, unlisted])  # one arm without alternatives: every arm on the surprise
    assert mixed is not None and mixed[0] == SURPRISE and mixed[1][1] == [1.25]


# --- stream_options, equivalent forms, logit_bias ------------------------------------------


def streamed(usage: bool) -> Exchange:
    exchange = reply("ab")
    exchange.json = None
    exchange.chunks = [{"choices": [{"index": 0, "delta": {"content": "ab"}}]}]
    if usage:
        exchange.chunks.append({"choices": [], "usage": {"completion_tokens": 2}})
    return exchange


def test_stream_usage_needs_the_chunk_and_its_absence_without_the_option() -> None:
    assert judge_stream_usage(Contrast(probe=streamed(True), control=streamed(False))).verdict is Verdict.HONOURED
    assert judge_stream_usage(Contrast(probe=streamed(False), control=streamed(False))).verdict is Verdict.IGNORED
    always = judge_stream_usage(
        Contrast(probe=streamed(True), control=streamed(True))
    )  # sends usage whatever it is asked
    assert always.verdict is Verdict.INCONCLUSIVE


def twins(first: Exchange, second: Exchange, control: Exchange) -> Twins:
    return Twins(name="forms", first=first, second=second, control=control, control_name="another prompt")


def test_equivalent_forms_need_a_control_that_differs() -> None:
    same = twins(reply("a b"), reply("a b"), reply("c d"))
    assert judge_equivalent(same, True).verdict is Verdict.HONOURED
    differ = twins(reply("a b"), reply("x y"), reply("c d"))
    assert judge_equivalent(differ, True).verdict is Verdict.IGNORED
    constant = twins(reply("a b"), reply("a b"), reply("a b"))  # answers anything alike
    assert judge_equivalent(constant, True).verdict is Verdict.INCONCLUSIVE
    assert judge_equivalent(differ, False).verdict is Verdict.INCONCLUSIVE  # greedy does not reproduce
    nulls = twins(reply(None), reply(None), reply("c"))
    assert judge_equivalent(nulls, True).verdict is Verdict.INCONCLUSIVE


def with_first(token_id: int, text: str, alternative: tuple[int, str] = (9, "z")) -> Exchange:
    exchange = reply(text)
    top = [{"id": token_id, "token": text, "logprob": -0.1}, {"id": alternative[0], "token": alternative[1]}]
    exchange.json["choices"][0]["logprobs"] = {"content": [{"id": token_id, "token": text, "top_logprobs": top}]}
    return exchange


def biased(
    greedy: Exchange, *, banned: Exchange, promoted: Exchange, tokens: Any = None, spelling: Any = ()
) -> BiasProbe:
    """The logit_bias probe on greedy decoding, banning its first token and promoting the next."""
    first, other = tokens or first_tokens(greedy)[:2]
    return BiasProbe(
        greedy=greedy, banned=banned, promoted=promoted, first=first, other=other, spelling=tuple(spelling)
    )


def test_logit_bias_must_ban_and_promote() -> None:
    greedy = with_first(1, "a")
    assert [t.id for t in first_tokens(greedy)] == [1, 9]
    honoured = judge_logit_bias(biased(greedy, banned=with_first(5, "b"), promoted=with_first(9, "z")))
    assert honoured.verdict is Verdict.HONOURED
    ignored = judge_logit_bias(biased(greedy, banned=with_first(1, "a"), promoted=with_first(1, "a")))
    assert ignored.verdict is Verdict.IGNORED
    half = judge_logit_bias(biased(greedy, banned=with_first(5, "b"), promoted=with_first(1, "a")))
    assert half.verdict is Verdict.INCONCLUSIVE
    no_ids = judge_logit_bias(biased(greedy, banned=reply("b"), promoted=reply("z")))
    assert no_ids.verdict is Verdict.INCONCLUSIVE
    vllm_style = reply("a")
    vllm_style.json["choices"][0]["logprobs"] = {
        "content": [{"token": "token_id:7", "top_logprobs": [{"token": "token_id:7"}, {"token": "token_id:3"}]}]
    }
    assert [t.id for t in first_tokens(vllm_style)] == [7, 3]


def test_logit_bias_ids_must_belong_to_the_text() -> None:
    """A provider whose text is not what its logprobs say (a text made from the request bytes)
    cannot have its token ids credited."""
    greedy = with_first(1, "a")
    liar = with_first(5, "b")
    liar.json["choices"][0]["message"]["content"] = "unrelated"
    judged = judge_logit_bias(biased(greedy, banned=liar, promoted=with_first(9, "z")))
    assert judged.verdict is Verdict.INCONCLUSIVE and "do not spell" in judged.detail
    # ids as token_id:N strings: the twins with text tokens must spell the same texts
    ids = [reply("a"), reply("b"), reply("z")]
    for exchange, token in zip(ids, (1, 5, 9), strict=True):
        exchange.json["choices"][0]["logprobs"] = {
            "content": [{"token": f"token_id:{token}", "top_logprobs": [{"token": f"token_id:{token}"}]}]
        }
    words = [with_first(1, "a"), with_first(5, "b"), with_first(9, "z")]
    chosen = [first_tokens(with_first(1, "a"))[0], first_tokens(with_first(9, "z"))[0]]
    greedy_ids, banned_ids, promoted_ids = ids
    spelt = biased(greedy_ids, banned=banned_ids, promoted=promoted_ids, tokens=chosen, spelling=words)
    assert judge_logit_bias(spelt).verdict is Verdict.HONOURED
    words[1].json["choices"][0]["message"]["content"] = "other"
    misspelt = biased(greedy_ids, banned=banned_ids, promoted=promoted_ids, tokens=chosen, spelling=words)
    assert judge_logit_bias(misspelt).verdict is Verdict.INCONCLUSIVE
