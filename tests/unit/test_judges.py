"""The pure judges on exchanges built by hand: each verdict, and each way a provider can lie
to get a verdict it has not earned (the control that refutes it)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.checks.judges.determinism import judge_seed
from harness.checks.judges.effects import judge_max_tokens, judge_response_format
from harness.checks.judges.embeddings import judge_encoding
from harness.checks.judges.outcome import names_param, probe_failure, unusable
from harness.checks.judges.ranges import envelope_quality, judge_case
from harness.checks.judges.sampling import INERT, DefaultTrial, judge_default, judge_differential, judge_greedy
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
    judged = unusable(reply(status=status, body=None), "p")
    assert judged is not None and judged.verdict is Verdict.TRANSPORT_ERROR and "redirect" in judged.detail


def test_a_200_without_choices_is_the_providers_broken_body() -> None:
    judged = unusable(reply(body={"id": "x", "object": "chat.completion"}), "p")
    assert judged is not None and judged.verdict is Verdict.SERVER_ERROR and "no choices" in judged.detail


@pytest.mark.parametrize("status", [401, 403, 404, 405, 409, 413])
def test_only_a_validation_refusal_is_a_refusal(status: int) -> None:
    failed = probe_failure([error(status)], "p")
    assert failed is not None and failed.verdict is Verdict.INCONCLUSIVE
    judged, _ = judge_case("temperature", "reject", "above 2", error(status), "p")
    assert judged.verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize("status", [400, 422])
def test_a_validation_refusal_is_rejected_or_over_strict(status: int) -> None:
    assert judge_case("temperature", "reject", "above 2", error(status), "p")[0].verdict is Verdict.REJECTED
    assert judge_case("temperature", "accept", "", error(status), "p")[0].verdict is Verdict.OVER_STRICT


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


# --- differential probes -----------------------------------------------------------------


def test_differential_honoured_with_its_neutral_control() -> None:
    judged = judge_differential(
        "repetition_penalty", 2.0, 1.0, [reply("a b a b"), reply("a b a b")], reply("a b a b"), reply("a b c d"), "p"
    )
    assert judged.verdict is Verdict.HONOURED and "repetition_penalty=1.0" in judged.control


def test_differential_null_content_is_no_effect() -> None:
    judged = judge_differential("top_a", 1.0, 0.0, [reply("a b"), reply("a b")], reply("a b"), reply(None), "p")
    assert judged.verdict is Verdict.INCONCLUSIVE and "without content" in judged.detail


def test_differential_a_response_cache_is_caught_by_the_control() -> None:
    # Any change to the body gives a new answer: the neutral value changes the output too.
    judged = judge_differential("top_a", 1.0, 0.0, [reply("a b"), reply("a b")], reply("x y"), reply("q r"), "p")
    assert judged.verdict is Verdict.INCONCLUSIVE and "control" in judged.detail


def test_differential_ignored() -> None:
    judged = judge_differential("top_a", 1.0, 0.0, [reply("a b"), reply("a b")], reply("a b"), reply("a b"), "p")
    assert judged.verdict is Verdict.IGNORED


def test_differential_needs_a_reproducible_seed() -> None:
    judged = judge_differential("top_a", 1.0, 0.0, [reply("a b"), reply("c d")], reply("a b"), reply("e f"), "p")
    assert judged.verdict is Verdict.INCONCLUSIVE


# --- greedy equivalence -----------------------------------------------------------------


SEEDS = (1, 2)


def test_greedy_honoured_when_sampling_differs_from_greedy() -> None:
    judged = judge_greedy("top_k", 1, [reply("s1"), reply("s2")], reply("g"), [reply("g"), reply("g")], SEEDS, "p")
    assert judged.verdict is Verdict.HONOURED and judged.control


def test_greedy_a_constant_provider_is_not_honoured() -> None:
    same = [reply("c"), reply("c")]
    judged = judge_greedy("top_k", 1, same, reply("c"), same, SEEDS, "p")
    assert judged.verdict is Verdict.INCONCLUSIVE


def test_greedy_null_everywhere_is_not_honoured() -> None:
    nothing = [reply(None), reply(None)]
    assert judge_greedy("top_k", 1, nothing, reply(None), nothing, SEEDS, "p").verdict is Verdict.INCONCLUSIVE


def test_temperature_zero_ignored_when_each_seed_samples_as_before() -> None:
    # For temperature=0 the greedy reference is the probe itself: seed 1 agrees trivially,
    # the second seed decides.
    judged = judge_greedy(
        "temperature", 0.0, [reply("s1"), reply("s2")], reply("s1"), [reply("s1"), reply("s2")], SEEDS, "p"
    )
    assert judged.verdict is Verdict.IGNORED


# --- defaults ---------------------------------------------------------------------------


def trial(omitted: str, documented: str, inert: str | None = None, **alternatives: str) -> DefaultTrial:
    return DefaultTrial(
        "temperature 1, seed 1, 16 tokens",
        reply(omitted),
        reply(documented),
        {name: reply(text) for name, text in alternatives.items()},
        reply(inert) if inert is not None else None,
    )


REPEATS = [reply("base"), reply("base")]


def test_default_honoured_only_against_every_alternative() -> None:
    judged = judge_default("top_k", 0, REPEATS, [trial("a", "a", **{"40": "b", "50": "c"})], "p")
    assert judged.verdict is Verdict.HONOURED and "40" in judged.control


def test_default_with_an_indistinguishable_alternative_is_not_honoured() -> None:
    trials = [trial("a", "a", **{"40": "a", "20": "b"}), trial("x", "x", **{"40": "x"})]
    judged = judge_default("top_k", 0, REPEATS, trials, "p")
    assert judged.verdict is Verdict.INCONCLUSIVE and "40" in judged.detail and "20" not in judged.detail


def test_default_not_applied_when_an_alternative_reproduces_the_omitted_output() -> None:
    judged = judge_default("temperature", 1.0, REPEATS, [trial("a", "b", **{"0.8": "a"})], "p")
    assert judged.verdict is Verdict.IGNORED and "behaves like temperature=0.8" in judged.detail


def test_default_not_applied_needs_the_inert_control() -> None:
    honest = judge_default("min_p", 0.0, REPEATS, [trial("abc", "xyz", inert="abc def")], "p")
    assert honest.verdict is Verdict.IGNORED and "max_tokens" in honest.control
    cached = judge_default("min_p", 0.0, REPEATS, [trial("abc", "xyz", inert="qqq")], "p")
    assert cached.verdict is Verdict.INCONCLUSIVE


# --- response_format, max_tokens, seed, embeddings ---------------------------------------


SCHEMA = {"type": "object", "required": ["ok"]}


@pytest.mark.parametrize("content", ["42", "[1, 2]", '"text"', "not json at all"])
def test_json_object_must_be_an_object(content: str) -> None:
    judged = judge_response_format("json_object", SCHEMA, reply("word salad"), reply(content), "p")
    assert judged.verdict is Verdict.IGNORED


def test_json_object_honoured_against_a_control_without_it() -> None:
    judged = judge_response_format("json_object", SCHEMA, reply("word salad"), reply("{}"), "p")
    assert judged.verdict is Verdict.HONOURED
    always_json = judge_response_format("json_object", SCHEMA, reply('{"a": 1}'), reply("{}"), "p")
    assert always_json.verdict is Verdict.INCONCLUSIVE


def test_json_schema_must_validate() -> None:
    assert judge_response_format("json_schema", SCHEMA, reply("w"), reply("{}"), "p").verdict is Verdict.IGNORED
    assert judge_response_format("json_schema", SCHEMA, reply("w"), reply('{"ok": 1}'), "p").verdict is Verdict.HONOURED


def test_max_tokens_needs_a_base_request_that_runs_past_the_limit() -> None:
    longer, limited = reply("a b c d e f g h", tokens=16), reply("a b c", tokens=5)
    assert judge_max_tokens(5, longer, limited, "p").verdict is Verdict.HONOURED
    assert judge_max_tokens(5, reply("a b c", tokens=5), limited, "p").verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize("limited", [None, "a b c d e f g h", "x y"])
def test_max_tokens_usage_alone_is_not_the_effect(limited: str | None) -> None:
    # null content, the same text as without the limit, or text that is not its start
    judged = judge_max_tokens(5, reply("a b c d e f g h", tokens=16), reply(limited, tokens=5), "p")
    assert judged.verdict is Verdict.INCONCLUSIVE


def test_seed_agreement_without_a_seed_is_not_the_seeds() -> None:
    repeats, others = [reply("a")] * 5, [reply("b"), reply("c")]
    assert judge_seed(1, repeats, others, [reply("u"), reply("v")], "p").verdict is Verdict.HONOURED
    cached = judge_seed(1, repeats, others, [reply("u"), reply("u")], "p")
    assert cached.verdict is Verdict.INCONCLUSIVE


def embeddings(vector: Any) -> Exchange:
    body = {"object": "list", "model": "m", "data": [{"object": "embedding", "index": 0, "embedding": vector}]}
    return Exchange("POST", "http://p.test/v1/embeddings", {}, Outcome.RESPONSE, status=200, json=body)


def test_an_embeddings_body_without_data_is_the_providers_broken_body() -> None:
    body = Exchange("POST", "http://p.test/v1/embeddings", {}, Outcome.RESPONSE, status=200, json={"object": "list"})
    judged = unusable(body, "p")
    assert judged is not None and judged.verdict is Verdict.SERVER_ERROR


def test_a_default_needs_some_alternative_to_be_credited() -> None:
    judged = judge_default("frequency_penalty", 0, REPEATS, [trial("a", "a")], "p")
    assert judged.verdict is Verdict.INCONCLUSIVE


def test_differential_without_a_neutral_value_uses_an_inert_change() -> None:
    base = [reply("a b"), reply("a b")]
    honest = judge_differential("temperature", 0.7, INERT, base, reply("a b c"), reply("x y"), "p")
    assert honest.verdict is Verdict.HONOURED and "max_tokens" in honest.control
    cached = judge_differential("temperature", 0.7, INERT, base, reply("q r s"), reply("x y"), "p")
    assert cached.verdict is Verdict.INCONCLUSIVE


def test_empty_embeddings_are_never_honoured() -> None:
    judged = judge_encoding(embeddings([]), embeddings(""), "p")
    assert judged.verdict is not Verdict.HONOURED


def test_a_surface_may_document_its_own_refusal_status(catalogue: dict[str, Any]) -> None:
    assert catalogue["openai"].refusal_statuses == {400, 422}
    assert judge_case("temperature", "reject", "", error(409), "p", {409})[0].verdict is Verdict.REJECTED
    assert judge_case("temperature", "reject", "", error(400), "p", {409})[0].verdict is Verdict.INCONCLUSIVE
