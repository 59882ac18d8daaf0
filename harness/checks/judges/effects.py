"""Judges of standard parameters whose effect shows in the response itself. Each compares
against the base request (the same probe without the parameter): an effect the base request
already shows is not the parameter's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from harness.checks.judges.client_level import read_chat
from harness.checks.judges.outcome import Judgement, extends, quote, text_of
from harness.checks.judges.shapes import Contrast, Pair, StreamPair, guarded
from harness.results import Verdict
from harness.transport import Exchange


def choice(exchange: Exchange, index: int = 0) -> dict[str, Any]:
    """One choice of a chat completion, or {} for any other shape."""
    body = exchange.json if isinstance(exchange.json, dict) else {}
    choices = body.get("choices")
    if isinstance(choices, list) and 0 <= index < len(choices) and isinstance(choices[index], dict):
        found: dict[str, Any] = choices[index]
        return found
    return {}


def usage_tokens(exchange: Exchange) -> int | None:
    try:
        return int(exchange.json["usage"]["completion_tokens"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _choices(exchange: Exchange) -> int:
    body = exchange.json if isinstance(exchange.json, dict) else {}
    found = body.get("choices")
    return len(found) if isinstance(found, list) else 0


@guarded
def judge_max_tokens(pair: Pair, limit: int, name: str = "max_tokens") -> Judgement:
    """``pair.base``: the same seeded request with a larger max_tokens; ``pair.probe``: with
    ``name=limit``. The limited output must be a shorter prefix of the base's, and both must
    say so in usage and finish_reason."""
    base, probe = pair.base, pair.probe
    used, finish, before = usage_tokens(probe), choice(probe).get("finish_reason"), usage_tokens(base)
    if used is None:
        return Judgement(Verdict.INCONCLUSIVE, "no usage.completion_tokens in the response")
    text, longer = text_of(probe), text_of(base)
    cut = extends(text, longer) and len(text or "") < len(longer or "")
    if used > limit:
        if cut:
            return Judgement(
                Verdict.INCONCLUSIVE,
                f"usage says {used} tokens with {name}={limit}, yet the text {quote(text)} was cut short of the "
                "same request's longer output: the usage count, not the limit, is off",
            )
        return Judgement(
            Verdict.IGNORED,
            f"generated {used} tokens with {name}={limit}: {quote(text)}",
            "the text is not cut short of the same request's longer output",
        )
    if before is None or before <= limit:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"the base request also ended within {limit} tokens ({before}), so stopping there proves nothing",
        )
    if text is None or longer is None:
        return Judgement(Verdict.INCONCLUSIVE, "no generated text to compare (a response without content)")
    if not cut:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"usage says {used} tokens, but the text {quote(text)} is not a shorter prefix of the same seeded "
            f"request's longer output {quote(longer)}",
        )
    if used == limit and finish == "length":
        return Judgement(
            Verdict.HONOURED,
            f"stopped at {used} tokens with finish_reason 'length': {quote(text)}",
            f"without the limit the same seeded request generated {before} tokens, of which this is the start",
        )
    return Judgement(Verdict.INCONCLUSIVE, f"{used} tokens, finish_reason {finish!r}: ended before the limit")


def pick_stop(text: str) -> tuple[str, int] | None:
    """A stop string from the greedy output itself: 3 characters from its middle whose first
    occurrence is there, so the expected truncation point is known exactly."""
    for start in range(len(text) // 2, len(text) - 3):
        candidate = text[start : start + 3]
        if candidate.strip() and text.find(candidate) == start:
            return candidate, start
    return None


@dataclass(frozen=True, kw_only=True)
class StopProbe:
    """``greedy``: greedy decoding without a stop; ``stopped``: the same with the stop string
    ``pick_stop`` chose from the greedy text (None when there was nothing to choose)."""

    greedy: Exchange
    stopped: Exchange | None

    def exchanges(self) -> list[Exchange]:
        return [self.greedy] + ([self.stopped] if self.stopped else [])


@guarded
def judge_stop(probe: StopProbe) -> Judgement:
    greedy, stopped = probe.greedy, probe.stopped
    text = text_of(greedy)
    chosen = pick_stop(text or "")
    if text is None or chosen is None or stopped is None:
        return Judgement(Verdict.INCONCLUSIVE, f"the greedy output {quote(text)} is too short to pick a stop string")
    stop, at = chosen
    content, finish = stopped.content(), choice(stopped).get("finish_reason")
    if content == text[:at]:
        return Judgement(
            Verdict.HONOURED,
            f"stop={stop!r} truncated {quote(text)} to {quote(content)} ({finish})",
            "the same greedy request without stop ran past that point",
        )
    if content == text:
        return Judgement(Verdict.IGNORED, f"stop={stop!r} is in the output {quote(content)} yet generation went on")
    return Judgement(Verdict.INCONCLUSIVE, f"stop={stop!r}: expected {quote(text[:at])}, got {quote(content)}")


@guarded
def judge_n(pair: Pair, n: int) -> Judgement:
    """``pair.probe``: with ``n``; ``pair.base``: the same request without it."""
    base, probe = pair.base, pair.probe
    count, before = _choices(probe), _choices(base)
    if count == n and before == 1:
        texts = [probe.content(i) for i in range(n)]
        if not all(texts):
            return Judgement(Verdict.INCONCLUSIVE, f"n={n} returned {count} choices, some without text")
        if len(set(texts)) == 1:
            return Judgement(
                Verdict.INCONCLUSIVE,
                f"n={n} returned {count} identical choices at temperature 1: copies of one sample, not {n} samples",
            )
        return Judgement(
            Verdict.HONOURED,
            f"n={n} returned {count} different choices",
            "the base request returned 1 choice",
        )
    if count == before:
        return Judgement(Verdict.IGNORED, f"n={n} returned {count} choice(s), as many as without it")
    return Judgement(Verdict.IGNORED, f"n={n} returned {count} choice(s) (without it: {before})")


def _token_logprobs(exchange: Exchange) -> Any:
    logprobs = choice(exchange).get("logprobs")
    return logprobs.get("content") if isinstance(logprobs, dict) else None


@guarded
def judge_logprobs(pair: Pair) -> Judgement:
    """``pair.probe``: with ``logprobs: true``; ``pair.base``: the same request without it."""
    base, probe = pair.base, pair.probe
    content, used = _token_logprobs(probe), usage_tokens(probe)
    if not isinstance(content, list) or not content:
        return Judgement(Verdict.IGNORED, "logprobs=true returned no logprobs.content")
    if _token_logprobs(base):
        return Judgement(
            Verdict.INCONCLUSIVE, "the base request, without logprobs, returns logprobs too: nothing to attribute"
        )
    numeric = all(isinstance(t, dict) and isinstance(t.get("logprob"), int | float) for t in content)
    right = used is None or len(content) == used
    detail = f"{len(content)} token logprobs for {used} completion tokens" + (
        "" if numeric else "; some entries lack a numeric logprob"
    )
    if numeric and right:
        return Judgement(Verdict.HONOURED, detail, "the base request without logprobs returns none")
    return Judgement(Verdict.IGNORED, detail)


def _alternatives_per_token(exchange: Exchange) -> list[int]:
    content = _token_logprobs(exchange)
    entries = [t for t in content if isinstance(t, dict)] if isinstance(content, list) else []
    return sorted({len(t["top_logprobs"]) if isinstance(t.get("top_logprobs"), list) else 0 for t in entries})


@guarded
def judge_top_logprobs(contrast: Contrast, top: int) -> Judgement:
    """``contrast.probe`` asks for ``top`` alternatives per token, ``contrast.control`` for 1: a
    fixed count returned whatever is asked is not the parameter's effect."""
    probe, one = contrast.probe, contrast.control
    counts, control = _alternatives_per_token(probe), _alternatives_per_token(one)
    detail = f"top_logprobs={top}: alternatives per token {counts or 'none'}"
    if counts != [top]:
        return Judgement(Verdict.IGNORED, detail)
    if control != [1]:
        return Judgement(
            Verdict.IGNORED, f"{detail}, but top_logprobs=1 gives {control or 'none'}: the count does not follow it"
        )
    return Judgement(Verdict.HONOURED, detail, "top_logprobs=1 gives exactly 1 alternative per token")


def _conforms(kind: str, text: str | None, schema: dict[str, Any]) -> tuple[bool, str]:
    """Does ``text`` satisfy ``response_format: {type: kind}``? (and why not)"""
    if text is None:
        return False, "no content"
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return False, f"not JSON: {quote(text)}"
    if not isinstance(parsed, dict):
        return False, f"JSON, but not an object: {quote(text)}"
    if kind == "json_schema":
        error = next(iter(Draft202012Validator(schema).iter_errors(parsed)), None)
        if error is not None:
            return False, f"JSON {quote(text)} breaks the schema: {error.message}"
    return True, quote(text)


@guarded
def judge_response_format(pair: Pair, kind: str, schema: dict[str, Any]) -> Judgement:
    """``pair.probe``: with ``response_format: {type: kind}``; ``pair.base``: the same request
    without it, the control. json_object must give a JSON object, json_schema an object that
    validates; and the control must not, or the format cannot be credited."""
    control, probe = pair.base, pair.probe
    text = text_of(probe)
    if text is None:
        return Judgement(Verdict.INCONCLUSIVE, f"type={kind}: the response has no content to check")
    ok, why = _conforms(kind, text, schema)
    if not ok:
        cut = choice(probe).get("finish_reason") == "length" and why.startswith("not JSON")
        if cut and text.lstrip().startswith(("{", "[")):
            return Judgement(Verdict.INCONCLUSIVE, f"type={kind}: JSON-looking output cut by max_tokens: {quote(text)}")
        return Judgement(Verdict.IGNORED, f"type={kind}: the output is {why}")
    also, _ = _conforms(kind, text_of(control), schema)
    if also:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"type={kind}: the output conforms ({why}), but so does the control without response_format "
            f"({quote(text_of(control))}): the format cannot be credited",
        )
    what = "a JSON object that validates against the schema" if kind == "json_schema" else "a JSON object"
    return Judgement(
        Verdict.HONOURED,
        f"type={kind}: the output is {what}: {why}",
        f"without response_format the same request gives {quote(text_of(control))}",
    )


@guarded
def judge_stream(pair: StreamPair) -> Judgement:
    """The streamed answer must be server-sent events the OpenAI SDK reads, whose deltas
    reassemble to the plain one. A missing ``[DONE]`` is the letter's finding, not this one: the
    SDK reads until the connection closes."""
    plain, streamed = pair.plain, pair.streamed
    if not streamed.chunks and isinstance(streamed.json, dict):
        return Judgement(Verdict.IGNORED, "stream=true was answered with one JSON body, not server-sent events")
    media = streamed.content_type.split(";")[0].strip()
    read = read_chat(streamed)
    if media != "text/event-stream" or not read.usable:
        problem = read.reason if not read.usable else f"content type {media}"
        return Judgement(Verdict.SERVER_ERROR, f"a stream the OpenAI SDK cannot use: {problem}")
    framing = "[DONE]" if streamed.stream_done else "no [DONE] (the SDK reads to the end; response-letter reports it)"
    text, reassembled = text_of(plain), text_of(streamed)
    if text is None or reassembled is None:
        return Judgement(Verdict.INCONCLUSIVE, "no generated text to compare the streamed deltas with")
    if reassembled == text:
        return Judgement(
            Verdict.HONOURED,
            f"{len(streamed.chunks)} chunks and {framing}; the deltas reassemble to the non-streamed output",
            "the same seeded request without stream gives the same text in one body",
        )
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"SSE framing is right, but the deltas {quote(reassembled)} differ from the non-streamed "
        f"output {quote(text)} under the same seed",
    )
