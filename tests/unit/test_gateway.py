"""The through-gateway judges against gateways that behave and gateways that lie.

A pure model: the upstream's text is a function of the parameters it honours (an upstream that
ignores one gives the same text with and without it; one that saturates gives the same text at
the value and at its bound, as top_p 1.5 and 1 do). A lying gateway does one thing to the
parameter (passes, drops, clamps, translates, injects, refuses, breaks) and may also change
every request on its own. With the tap, every verdict must be the gateway's act; without it,
each verdict must be that act or INCONCLUSIVE, and none may be credited where its control
(the direct pair differs, the plain request is the same through and direct) does not hold.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checks.judges.gateway import (
    NO_BOUND,
    Passage,
    PlainPassage,
    StreamPassage,
    forwarded_fate,
    judge_injected,
    judge_passage,
    judge_stream_passage,
)
from harness.results import CONFORMING, FAILING, Verdict
from harness.transport import Exchange, Outcome
from harness.transport.tap import Forwarded

Act = Literal["pass", "drop", "clamp", "translate", "inject", "refuse", "break"]
ACTS: tuple[Act, ...] = ("pass", "drop", "clamp", "translate", "inject", "refuse", "break")
Upstream = Literal["honours", "ignores", "saturates"]
EXPECTED = {
    "pass": Verdict.PASSED,
    "drop": Verdict.DROPPED,
    "clamp": Verdict.CLAMPED,
    "translate": Verdict.TRANSLATED,
    "inject": Verdict.ADDED,
    "refuse": Verdict.REFUSED,
    "break": Verdict.BROKEN,
}
PARAM, VALUE, BOUND, OTHER = "temperature", 2.5, 2.0, "repeat_penalty"
INJECTED = 0.7
PLAIN: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "seed": 1, "max_tokens": 16}
URL = "http://127.0.0.1:0/v1/chat/completions"


def reply(body: dict[str, Any], text: str) -> Exchange:
    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
    return Exchange("POST", URL, body, Outcome.RESPONSE, 200, "application/json", completion, json.dumps(completion))


def failure(body: dict[str, Any], status: int, content_type: str, text: str) -> Exchange:
    parsed = json.loads(text) if content_type == "application/json" else None
    return Exchange("POST", URL, body, Outcome.RESPONSE, status, content_type, parsed, text)


def upstream(body: dict[str, Any], kind: Upstream) -> Exchange:
    """The upstream's answer: a text from the parameters it honours, the seed and the length."""
    seen = {k: v for k, v in body.items() if k != "model"}
    if PARAM in seen:
        if kind == "ignores":
            del seen[PARAM]
        elif kind == "saturates":
            seen[PARAM] = min(seen[PARAM], BOUND)
    digest = hashlib.sha256(json.dumps(seen, sort_keys=True).encode()).hexdigest()[:12]
    return reply(body, f"text-{digest}")


def gateway(body: dict[str, Any], act: Act, meddles: bool) -> tuple[dict[str, Any] | None, Exchange | None]:
    """(the body forwarded, or None) and (the gateway's own answer, or None)."""
    if PARAM in body and act == "refuse":
        error = {"error": {"message": f"{PARAM} out of range", "type": "invalid_request_error"}}
        return None, failure(body, 400, "application/json", json.dumps(error))
    if PARAM in body and act == "break":
        return None, failure(body, 500, "text/plain", "Internal Server Error")
    forwarded = dict(body)
    if act == "drop":
        forwarded.pop(PARAM, None)
    elif act == "clamp" and PARAM in forwarded:
        forwarded[PARAM] = min(forwarded[PARAM], BOUND)
    elif act == "translate" and PARAM in forwarded:
        forwarded[OTHER] = forwarded.pop(PARAM)
    elif act == "inject":
        forwarded.setdefault(PARAM, INJECTED)
    if meddles:
        forwarded["logit_bias"] = {"7": -100}  # an output-changing key of its own, on every request
    return forwarded, None


def passage(act: Act, kind: Upstream, tap: bool, meddles: bool) -> Passage:
    sent, without = {**PLAIN, PARAM: VALUE}, dict(PLAIN)

    def through(body: dict[str, Any]) -> tuple[Exchange, Forwarded | None]:
        forwarded, own = gateway(body, act, meddles)
        seen = Forwarded([forwarded] if forwarded is not None else [], [200] if forwarded is not None else [])
        answer = own if own is not None else upstream(forwarded or {}, kind)
        if forwarded is not None:
            answer = reply(body, answer.content() or "")
        return answer, (seen if tap else None)

    (tx, fwd), (tx0, fwd0) = through(sent), through(without)
    return Passage(
        param=PARAM,
        value=VALUE,
        sent=sent,
        sent_without=without,
        through=tx,
        through_without=tx0,
        direct=upstream(sent, kind),
        direct_without=upstream(without, kind),
        forwarded=fwd,
        forwarded_without=fwd0,
        bound=BOUND,
        direct_bound=upstream({**PLAIN, PARAM: BOUND}, kind),
        translations={f"{OTHER}={VALUE}": upstream({**PLAIN, OTHER: VALUE}, kind)},
    )


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ACTS), st.sampled_from(("honours", "ignores", "saturates")), st.booleans(), st.booleans())
def test_every_verdict_is_the_gateways_act_or_inconclusive(act: Act, kind: Upstream, tap: bool, meddles: bool) -> None:
    judgement = judge_passage(passage(act, kind, tap, meddles))
    expected = EXPECTED[act]
    if tap or act in ("refuse", "break"):
        # The forwarded body (or the status) decides, whatever the upstream does with the value.
        assert judgement.verdict is expected, judgement
        assert judgement.control, "no verdict without the evidence that could have refuted it"
        return
    assert judgement.verdict in (expected, Verdict.INCONCLUSIVE), judgement
    if judgement.verdict is not Verdict.INCONCLUSIVE:
        # Credited by effect: its controls held.
        assert kind != "ignores" and not meddles, judgement
        assert "direct pair differs" in judgement.control


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(("pass", "drop", "clamp", "translate")), st.booleans())
def test_an_upstream_that_ignores_the_value_never_credits_an_effect(act: Act, meddles: bool) -> None:
    """The direct pair does not differ: a drop and a pass look alike, only the tap can tell."""
    judgement = judge_passage(passage(act, "ignores", tap=False, meddles=meddles))
    assert judgement.verdict is Verdict.INCONCLUSIVE, judgement


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(("pass", "clamp")))
def test_a_bound_with_the_same_output_decides_nothing_by_effect(act: Act) -> None:
    """top_p 1.5 and 1 give one text: passing and clamping look alike by effect."""
    assert judge_passage(passage(act, "saturates", tap=False, meddles=False)).verdict is Verdict.INCONCLUSIVE
    assert judge_passage(passage(act, "saturates", tap=True, meddles=False)).verdict is EXPECTED[act]


def test_effect_verdicts_on_an_honest_upstream() -> None:
    for act in ("pass", "drop", "clamp", "translate"):
        assert judge_passage(passage(act, "honours", tap=False, meddles=False)).verdict is EXPECTED[act], act


def test_a_gateway_that_changes_the_plain_request_gets_no_effect_verdict() -> None:
    judgement = judge_passage(passage("pass", "honours", tap=False, meddles=True))
    assert judgement.verdict is Verdict.INCONCLUSIVE and "by itself" in judgement.detail


def test_forwarded_fate_names_what_happened() -> None:
    sent = {**PLAIN, "top_p": 1.5}
    assert forwarded_fate(sent, "top_p", 1.5, {**PLAIN, "top_p": 1}, 1.0).verdict is Verdict.CLAMPED
    assert forwarded_fate(sent, "top_p", 1.5, {**PLAIN, "top_p": 1.5}, 1.0).verdict is Verdict.PASSED
    assert forwarded_fate(sent, "top_p", 1.5, dict(PLAIN), 1.0).verdict is Verdict.DROPPED
    rounded = forwarded_fate(sent, "temperature", 2.0000000000000004, {**PLAIN, "temperature": 2.0}, NO_BOUND)
    assert rounded.verdict is Verdict.TRANSLATED and "2.0" in rounded.detail
    unwrapped = forwarded_fate(
        {**PLAIN, "extra_body": {"top_k": 1}}, "extra_body", {"top_k": 1}, {**PLAIN, "top_k": 1}, NO_BOUND
    )
    assert unwrapped.verdict is Verdict.TRANSLATED and "top_k=1" in unwrapped.detail


def test_a_value_the_upstream_refuses_turned_into_a_200_is_told_by_the_tap() -> None:
    """Portkey: max_tokens -5 clamped to 0, llama-server's 400 turned into a 200."""
    sent, plain = {**PLAIN, "max_tokens": -5}, dict(PLAIN)
    refused = failure(sent, 400, "application/json", '{"error": {"message": "max_tokens must be positive"}}')
    clamped = {**PLAIN, "max_tokens": 0}
    judged = judge_passage(
        Passage(
            param="max_tokens",
            value=-5,
            sent=sent,
            sent_without=plain,
            through=reply(sent, ""),
            through_without=upstream(plain, "honours"),
            direct=refused,
            direct_without=upstream(plain, "honours"),
            forwarded=Forwarded([clamped], [200]),
            forwarded_without=Forwarded([plain], [200]),
            bound=0,
        )
    )
    assert judged.verdict is Verdict.CLAMPED, judged


def test_error_bodies_compared() -> None:
    sent, plain = {**PLAIN, "max_tokens": -5}, dict(PLAIN)
    envelope = failure(sent, 400, "application/json", '{"error": {"message": "bad max_tokens"}}')
    text_plain = failure(sent, 500, "text/plain", "Internal Server Error")
    wrong_body = failure(sent, 400, "text/plain", "bad request")

    def judged(through: Exchange) -> Verdict:
        base = upstream(plain, "honours")
        shape = Passage(
            param="max_tokens",
            value=-5,
            sent=sent,
            sent_without=plain,
            through=through,
            through_without=base,
            direct=envelope,
            direct_without=base,
        )
        return judge_passage(shape).verdict

    assert judged(envelope) is Verdict.PASSED
    assert judged(text_plain) is Verdict.BROKEN
    assert judged(wrong_body) is Verdict.BROKEN


def test_injected_keys_by_the_forwarded_body() -> None:
    base = upstream(PLAIN, "honours")
    smg = Forwarded([{**PLAIN, "logprobs": False, "stream": False}], [200])
    added = judge_injected(PlainPassage(sent=PLAIN, through=base, forwarded=smg, direct=base))
    assert added.verdict is Verdict.ADDED and "logprobs=False" in added.detail and "equals" in added.detail
    clean = judge_injected(
        PlainPassage(sent=PLAIN, through=base, forwarded=Forwarded([dict(PLAIN)], [200]), direct=base)
    )
    assert clean.verdict is Verdict.PASSED
    blind = judge_injected(PlainPassage(sent=PLAIN, through=base, forwarded=None, direct=base))
    assert blind.verdict is Verdict.INCONCLUSIVE


def _stream(frames: list[dict[str, Any]], done: bool = True) -> Exchange:
    body = {**PLAIN, "stream": True, "n": 2}
    text = "".join(f"data: {json.dumps(f)}\n\n" for f in frames) + ("data: [DONE]\n\n" if done else "")
    exchange = Exchange("POST", URL, body, Outcome.RESPONSE, 200, "text/event-stream", None, text)
    exchange.chunks, exchange.stream_done = frames, done
    return exchange


def _frame(index: int, content: str | None, finish: str | None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {"choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def test_streams_through_a_gateway() -> None:
    whole = _stream([_frame(0, "a", None), _frame(1, "b", None), _frame(0, None, "length"), _frame(1, None, "length")])
    assert judge_stream_passage(StreamPassage(through=whole, direct=whole, n=2)).verdict is Verdict.PASSED
    # LiteLLM with n: 2: index 1's finish_reason relabelled to index 0; index 1 never ends.
    relabelled = _stream(
        [_frame(0, "a", None), _frame(1, "b", None), _frame(0, None, "length"), _frame(0, None, "length")]
    )
    broken = judge_stream_passage(StreamPassage(through=relabelled, direct=whole, n=2))
    assert broken.verdict is Verdict.BROKEN and "choice 1 never ends" in broken.detail
    # Portkey: a 500 that is no OpenAI envelope, after the upstream generated.
    portkey = failure({**PLAIN, "stream": True}, 500, "text/plain", "Internal Server Error")
    assert judge_stream_passage(StreamPassage(through=portkey, direct=whole, n=2)).verdict is Verdict.BROKEN
    # transformers: no [DONE] where the upstream sends it.
    undone = _stream(whole.chunks, done=False)
    assert judge_stream_passage(StreamPassage(through=undone, direct=whole, n=2)).verdict is Verdict.BROKEN
    # An upstream whose own stream is not whole: no control, nothing credited.
    assert judge_stream_passage(StreamPassage(through=whole, direct=relabelled, n=2)).verdict is Verdict.INCONCLUSIVE


def test_gateway_verdicts_are_declared_conforming_or_failing() -> None:
    for verdict in EXPECTED.values():
        assert (verdict in CONFORMING) != (verdict in FAILING), verdict
    assert Verdict.PASSED in CONFORMING and Verdict.DROPPED in FAILING


def test_a_translation_into_a_new_key_is_told_from_an_injected_one() -> None:
    """transformers-style frequency_penalty -> repeat_penalty = 1 + fp, beside a key injected
    into every request (not the value's doing)."""
    sent = {**PLAIN, "frequency_penalty": 2.5}
    forwarded = {**PLAIN, "repeat_penalty": 3.5, "repeat_last_n": 64}
    without = {**PLAIN, "repeat_last_n": 64}
    fate = forwarded_fate(sent, "frequency_penalty", 2.5, forwarded, 2.0, without)
    assert (
        fate.verdict is Verdict.TRANSLATED
        and "repeat_penalty=3.5" in fate.detail
        and "repeat_last_n" not in fate.detail
    )
    dropped = forwarded_fate(sent, "frequency_penalty", 2.5, without, 2.0, without)
    assert dropped.verdict is Verdict.DROPPED


def test_a_watched_key_alone() -> None:
    """LiteLLM adds stream_options.include_usage to a streamed request; nothing else is judged."""
    sent = {**PLAIN, "stream": True}
    base = upstream(sent, "honours")
    litellm = Forwarded([{**sent, "stream_options": {"include_usage": True}, "repeat_last_n": 64}], [200])
    added = judge_injected(
        PlainPassage(sent=sent, through=base, forwarded=litellm, direct=base, watch="stream_options")
    )
    assert added.verdict is Verdict.ADDED and "include_usage" in added.detail and "repeat_last_n" not in added.detail
    other = Forwarded([{**sent, "repeat_last_n": 64}], [200])
    clean = judge_injected(PlainPassage(sent=sent, through=base, forwarded=other, direct=base, watch="stream_options"))
    assert clean.verdict is Verdict.PASSED


# The gateways of issue 28 as direct probes showed them, in hand-built exchanges: the shapes each
# verdict must name (the recorded gateways replay through the same judges).


def test_portkey_drops_top_k_and_clamps_temperature_by_the_forwarded_body() -> None:
    dropped = forwarded_fate({**PLAIN, "top_k": 1}, "top_k", 1, dict(PLAIN), NO_BOUND, dict(PLAIN))
    assert dropped.verdict is Verdict.DROPPED
    clamped = forwarded_fate({**PLAIN, "top_p": 1.5}, "top_p", 1.5, {**PLAIN, "top_p": 1}, 1.0, dict(PLAIN))
    assert clamped.verdict is Verdict.CLAMPED
    # And by effect alone: temperature 2.5 through equals 2 direct, which differs from 2.5 direct.
    assert judge_passage(passage("clamp", "honours", tap=False, meddles=False)).verdict is Verdict.CLAMPED


def test_smg_refuses_before_the_backend_and_rounds_to_32_bit_floats() -> None:
    refused = judge_passage(passage("refuse", "honours", tap=True, meddles=False))
    assert refused.verdict is Verdict.REFUSED and "the upstream accepts" in refused.control
    sent = {**PLAIN, "temperature": 2.0000000000000004}
    rounded = forwarded_fate(sent, "temperature", 2.0000000000000004, {**PLAIN, "temperature": 2.0}, NO_BOUND)
    assert rounded.verdict is Verdict.TRANSLATED


def test_litellm_without_a_key_answers_a_text_plain_500() -> None:
    """Where the upstream answers, a 500 with a body no OpenAI client reads is BROKEN."""
    broken = judge_passage(passage("break", "honours", tap=True, meddles=False))
    assert broken.verdict is Verdict.BROKEN and "500" in broken.detail


def test_a_missing_or_wrong_key_must_be_a_401_with_an_envelope() -> None:
    from harness.checks.judges.gateway import KeyPassage, judge_credentials

    keyed = upstream(PLAIN, "honours")
    envelope = '{"error": {"message": "Incorrect API key provided"}}'

    def judged(refused: Exchange, control: Exchange = keyed) -> Verdict:
        return judge_credentials(KeyPassage(keyed=control, refused=refused, how="no key")).verdict

    assert judged(failure(PLAIN, 401, "application/json", envelope)) is Verdict.PASSED
    assert judged(failure(PLAIN, 500, "text/plain", "Internal Server Error")) is Verdict.BROKEN  # LiteLLM, no key
    assert judged(failure(PLAIN, 400, "application/json", envelope)) is Verdict.BROKEN  # LiteLLM, a wrong key
    assert judged(failure(PLAIN, 401, "text/plain", "Unauthorized")) is Verdict.BROKEN
    assert judged(keyed) is Verdict.INCONCLUSIVE  # it checks no key
    # Without a working keyed request there is no control: nothing is credited.
    down = failure(PLAIN, 500, "text/plain", "down")
    assert judged(failure(PLAIN, 401, "application/json", envelope), down) is Verdict.INCONCLUSIVE
