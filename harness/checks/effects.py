"""Effect probes for standard parameters: each is sent with a value whose effect can be seen
in the response, and the effect is checked (the fewest requests that decide)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from jsonschema import Draft202012Validator

from harness.checks.probing import EFFECTS, probe_body, quote, record, refusal, sampling_effect
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record, Verdict
from harness.schema import response_schema
from harness.transport import Exchange

PROBE_SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}


def _choice(exchange: Exchange) -> dict[str, Any]:
    try:
        choice: dict[str, Any] = exchange.json["choices"][0]
        return choice
    except (KeyError, IndexError, TypeError):
        return {}


def _usage(exchange: Exchange) -> int | None:
    try:
        return int(exchange.json["usage"]["completion_tokens"])
    except (KeyError, TypeError, ValueError):
        return None


async def max_tokens_probe(ctx: CheckContext) -> list[Record]:
    limit = 5
    exchange = await ctx.send(probe_body(ctx, max_tokens=limit))
    failed = refusal([exchange], ctx.provider)
    if failed:
        return [record(ctx, "effect", "max_tokens", *failed, [exchange], "effect", limit)]
    used, finish = _usage(exchange), _choice(exchange).get("finish_reason")
    if used == limit and finish == "length":
        verdict, detail = Verdict.HONOURED, f"stopped at {used} tokens with finish_reason 'length'"
    elif used is not None and used > limit:
        verdict, detail = Verdict.IGNORED, f"generated {used} tokens with max_tokens={limit}"
    elif used is None:
        verdict, detail = Verdict.INCONCLUSIVE, "no usage.completion_tokens in the response"
    else:
        verdict, detail = (
            Verdict.INCONCLUSIVE,
            f"{used} tokens, finish_reason {finish!r}: ended before the limit",
        )
    return [record(ctx, "effect", "max_tokens", verdict, detail, [exchange], "effect", limit)]


def pick_stop(text: str) -> tuple[str, int] | None:
    """A stop string from the greedy output itself: 3 characters from its middle whose first
    occurrence is there, so the expected truncation point is known exactly."""
    for start in range(len(text) // 2, len(text) - 3):
        candidate = text[start : start + 3]
        if candidate.strip() and text.find(candidate) == start:
            return candidate, start
    return None


async def stop_probe(ctx: CheckContext) -> list[Record]:
    greedy = await ctx.send(probe_body(ctx, temperature=0.0))
    failed = refusal([greedy], ctx.provider)
    if failed:
        return [record(ctx, "effect", "stop", *failed, [greedy], "effect")]
    text = greedy.content() or ""
    chosen = pick_stop(text)
    if chosen is None:
        return [
            record(
                ctx,
                "effect",
                "stop",
                Verdict.INCONCLUSIVE,
                f"the greedy output {quote(text)} is too short to pick a stop string from",
                [greedy],
                "effect",
            )
        ]
    stop, at = chosen
    stopped = await ctx.send(probe_body(ctx, temperature=0.0, stop=[stop]))
    sent = [greedy, stopped]
    failed = refusal([stopped], ctx.provider)
    if failed:
        return [record(ctx, "effect", "stop", *failed, sent, "effect", [stop])]
    content, finish = stopped.content(), _choice(stopped).get("finish_reason")
    if content == text[:at]:
        verdict, detail = (
            Verdict.HONOURED,
            f"stop={stop!r} truncated {quote(text)} to {quote(content)} ({finish})",
        )
    elif content == text:
        verdict, detail = (
            Verdict.IGNORED,
            f"stop={stop!r} is in the output {quote(content)} yet generation went on",
        )
    else:
        verdict, detail = (
            Verdict.INCONCLUSIVE,
            f"stop={stop!r}: expected {quote(text[:at])}, got {quote(content)}",
        )
    return [record(ctx, "effect", "stop", verdict, detail, sent, "effect", [stop])]


async def n_probe(ctx: CheckContext) -> list[Record]:
    exchange = await ctx.send(probe_body(ctx, n=2))
    failed = refusal([exchange], ctx.provider)
    if failed:
        return [record(ctx, "effect", "n", *failed, [exchange], "effect", 2)]
    count = len((exchange.json or {}).get("choices") or [])
    verdict = Verdict.HONOURED if count == 2 else Verdict.IGNORED
    return [record(ctx, "effect", "n", verdict, f"n=2 returned {count} choice(s)", [exchange], "effect", 2)]


async def logprobs_probe(ctx: CheckContext) -> list[Record]:
    top = 3 if "top_logprobs" in ctx.surface.parameters else None
    extra: dict[str, Any] = {"logprobs": True} | ({"top_logprobs": top} if top else {})
    exchange = await ctx.send(probe_body(ctx, **extra))
    failed = refusal([exchange], ctx.provider)
    params = ["logprobs"] + (["top_logprobs"] if top else [])
    if failed:
        return [record(ctx, "effect", p, *failed, [exchange], "effect", extra[p]) for p in params]
    content = (_choice(exchange).get("logprobs") or {}).get("content")
    used = _usage(exchange)
    records = []
    if not isinstance(content, list) or not content:
        records.append(
            record(
                ctx,
                "effect",
                "logprobs",
                Verdict.IGNORED,
                "logprobs=true returned no logprobs.content",
                [exchange],
                "effect",
                True,
            )
        )
    else:
        ok = all(isinstance(t, dict) and isinstance(t.get("logprob"), int | float) for t in content)
        right = used is None or len(content) == used
        verdict = Verdict.HONOURED if ok and right else Verdict.IGNORED
        records.append(
            record(
                ctx,
                "effect",
                "logprobs",
                verdict,
                f"{len(content)} token logprobs for {used} completion tokens"
                + ("" if ok else "; some entries lack a numeric logprob"),
                [exchange],
                "effect",
                True,
            )
        )
    if top:
        counts = sorted({len(t.get("top_logprobs") or []) for t in content or [] if isinstance(t, dict)})
        verdict = Verdict.HONOURED if counts == [top] else Verdict.IGNORED
        records.append(
            record(
                ctx,
                "effect",
                "top_logprobs",
                verdict,
                f"top_logprobs={top}: alternatives per token {counts or 'none'}",
                [exchange],
                "effect",
                top,
            )
        )
    return records


def _response_format_types(ctx: CheckContext) -> list[str]:
    spec = ctx.surface.parameters["response_format"].schema
    return list(spec.get("properties", {}).get("type", {}).get("enum", ["json_object"]))


async def response_format_probe(ctx: CheckContext, kind: str) -> list[Record]:
    value: dict[str, Any] = {"type": kind}
    if kind == "json_schema":
        value["json_schema"] = {"name": "probe", "strict": True, "schema": PROBE_SCHEMA}
    # Greedy: a grammar-constrained tiny model closes its JSON at once ('{}'); sampled, it may
    # wander inside a string until max_tokens. An ignored response_format gives word salad.
    exchange = await ctx.send(probe_body(ctx, max_tokens=40, temperature=0.0, response_format=value))

    def verdict(kind_: Verdict, detail: str) -> list[Record]:
        return [record(ctx, "effect", "response_format", kind_, detail, [exchange], f"effect-{kind}", value)]

    failed = refusal([exchange], ctx.provider)
    if failed:
        return verdict(*failed)
    text = exchange.content() or ""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        if text.lstrip().startswith(("{", "[")) and _choice(exchange).get("finish_reason") == "length":
            return verdict(Verdict.INCONCLUSIVE, f"type={kind}: JSON-looking output cut by max_tokens: {quote(text)}")
        return verdict(Verdict.IGNORED, f"type={kind}: the output is not JSON: {quote(text)}")
    if kind == "json_schema":
        errors = list(Draft202012Validator(PROBE_SCHEMA).iter_errors(parsed))
        if errors:
            return verdict(
                Verdict.IGNORED, f"type=json_schema: JSON {quote(text)} breaks the schema: {errors[0].message}"
            )
    validated = " and validates" if kind == "json_schema" else ""
    return verdict(Verdict.HONOURED, f"type={kind}: the output parses{validated}: {quote(text)}")


async def stream_probe(ctx: CheckContext) -> list[Record]:
    plain, streamed = await asyncio.gather(ctx.send(probe_body(ctx)), ctx.send(probe_body(ctx, stream=True)))
    sent = [plain, streamed]
    failed = refusal(sent, ctx.provider)
    if failed:
        return [record(ctx, "effect", "stream", *failed, sent, "effect", True)]
    if not streamed.chunks and isinstance(streamed.json, dict):
        return [
            record(
                ctx,
                "effect",
                "stream",
                Verdict.IGNORED,
                "stream=true was answered with one JSON body, not server-sent events",
                sent,
                "effect",
                True,
            )
        ]
    chunk_schema = response_schema("chat-completion-chunk")
    bad = [e.message for c in streamed.chunks for e in chunk_schema.iter_errors(c)][:1]
    media = streamed.content_type.split(";")[0].strip()
    if media != "text/event-stream" or not streamed.stream_done or bad:
        problem = bad[0] if bad else ("no [DONE] terminator" if not streamed.stream_done else f"content type {media}")
        return [
            record(
                ctx,
                "effect",
                "stream",
                Verdict.SERVER_ERROR,
                f"broken SSE framing: {problem}",
                sent,
                "effect",
                True,
            )
        ]
    if streamed.content() == plain.content():
        return [
            record(
                ctx,
                "effect",
                "stream",
                Verdict.HONOURED,
                f"{len(streamed.chunks)} chunks and [DONE]; the deltas reassemble to the non-streamed output",
                sent,
                "effect",
                True,
            )
        ]
    return [
        record(
            ctx,
            "effect",
            "stream",
            Verdict.INCONCLUSIVE,
            f"SSE framing is right, but the deltas {quote(streamed.content())} differ from the non-streamed "
            f"output {quote(plain.content())} under the same seed",
            sent,
            "effect",
            True,
        )
    ]


def _documents(ctx: CheckContext, param: str, value: Any) -> bool:
    """Is ``value`` documented as valid for ``param`` on this surface (so a probe may send it)?"""
    spec = ctx.surface.parameters.get(param)
    if spec is None:
        return False
    return not list(Draft202012Validator(spec.schema).iter_errors(value))


@check("effect", "standard parameters have their documented effect")
def standard_effects(ctx: CheckContext) -> list[Unit]:
    probes: list[tuple[str, str, Callable[[], Awaitable[list[Record]]]]] = []
    for name, param in ctx.surface.parameters.items():
        if name in EFFECTS and param.placement == "standard":
            probes.append((f"effect.{name}", name, partial(_sampling, ctx, name)))
    if _documents(ctx, "max_tokens", 5):
        probes.append(("effect.max_tokens", "max_tokens", lambda: max_tokens_probe(ctx)))
    if _documents(ctx, "stop", ["abc"]):
        probes.append(("effect.stop", "stop", lambda: stop_probe(ctx)))
    if _documents(ctx, "n", 2):
        probes.append(("effect.n", "n", lambda: n_probe(ctx)))
    if _documents(ctx, "logprobs", True):
        probes.append(("effect.logprobs", "logprobs", lambda: logprobs_probe(ctx)))
    if "response_format" in ctx.surface.parameters:
        for kind in ("json_object", "json_schema"):
            if kind in _response_format_types(ctx):
                probes.append(
                    (
                        f"effect.response_format.{kind}",
                        "response_format",
                        partial(response_format_probe, ctx, kind),
                    )
                )
    if _documents(ctx, "stream", True):
        probes.append(("effect.stream", "stream", lambda: stream_probe(ctx)))
    return [Unit(uid, param, run) for uid, param, run in probes if ctx.wants(param)]


async def _sampling(ctx: CheckContext, param: str) -> list[Record]:
    return [await sampling_effect(ctx, "effect", param)]
