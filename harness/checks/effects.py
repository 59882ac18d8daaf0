"""Effect probes for standard parameters: each is sent with a value whose effect can be seen
in the response, beside the same request without it (the fewest requests that decide)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from harness.checks.judges import text_of
from harness.checks.judges.effects import (
    judge_logprobs,
    judge_max_tokens,
    judge_n,
    judge_response_format,
    judge_stop,
    judge_stream,
    judge_top_logprobs,
    pick_stop,
)
from harness.checks.judges.forms import first_tokens, judge_logit_bias, judge_stream_usage
from harness.checks.judges.outcome import Judgement
from harness.checks.probing import EFFECTS, OMIT, documents, probe_body, record, reproducible, sampling_effect
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record, Verdict
from harness.schema.model import type_tags
from harness.transport import Exchange

PROBE_SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}
MAX_TOKENS_LIMIT = 5


async def max_tokens_probe(ctx: CheckContext) -> list[Record]:
    same = await reproducible(ctx)
    base, probe = await asyncio.gather(
        ctx.send(probe_body(ctx, **same)), ctx.send(probe_body(ctx, max_tokens=MAX_TOKENS_LIMIT, **same))
    )
    judgement = judge_max_tokens(MAX_TOKENS_LIMIT, base, probe, ctx.provider)
    return [record(ctx, "effect", "max_tokens", judgement, [base, probe], "effect", MAX_TOKENS_LIMIT)]


async def max_completion_tokens_probe(ctx: CheckContext) -> list[Record]:
    """OpenAI's newer name for the limit: it must cap the output as max_tokens does."""
    same = await reproducible(ctx)
    base, probe = await asyncio.gather(
        ctx.send(probe_body(ctx, **same)),
        ctx.send(probe_body(ctx, max_tokens=OMIT, max_completion_tokens=MAX_TOKENS_LIMIT, **same)),
    )
    judgement = judge_max_tokens(MAX_TOKENS_LIMIT, base, probe, ctx.provider, "max_completion_tokens")
    return [record(ctx, "effect", "max_completion_tokens", judgement, [base, probe], "effect", MAX_TOKENS_LIMIT)]


async def stream_options_probe(ctx: CheckContext) -> list[Record]:
    same = await reproducible(ctx)
    value = {"include_usage": True}
    with_option, without = await asyncio.gather(
        ctx.send(probe_body(ctx, stream=True, stream_options=value, **same)),
        ctx.send(probe_body(ctx, stream=True, **same)),
    )
    judgement = judge_stream_usage(with_option, without, ctx.provider)
    return [record(ctx, "effect", "stream_options", judgement, [without, with_option], "effect", value)]


async def logit_bias_probe(ctx: CheckContext) -> list[Record]:
    """Greedy decoding's first token, banned (-100) and an alternative promoted (+100), with
    token ids from what the provider offers: logprobs with ids, or vLLM's token-id strings."""
    extra: dict[str, Any] = {"logprobs": True, "top_logprobs": 2}
    if "return_tokens_as_token_ids" in ctx.surface.parameters:
        extra["return_tokens_as_token_ids"] = True
    if not (documents(ctx, "logprobs", True) and documents(ctx, "top_logprobs", 2)):
        judgement = Judgement(Verdict.INCONCLUSIVE, "the surface documents no logprobs: no way to learn token ids")
        return [record(ctx, "effect", "logit_bias", judgement, [], "effect")]
    greedy = await ctx.send(probe_body(ctx, temperature=0.0, **extra))
    tokens = first_tokens(greedy) if greedy.ok else []
    if len(tokens) < 2:
        why = "no usable answer" if not greedy.ok else "its logprobs carry no token ids (nor two alternatives)"
        judgement = Judgement(Verdict.INCONCLUSIVE, f"no token ids to bias: {why}")
        return [record(ctx, "effect", "logit_bias", judgement, [greedy], "effect")]
    first, other = tokens[0], tokens[1]
    biases: list[dict[str, Any]] = [{}, {"logit_bias": {str(first.id): -100}}, {"logit_bias": {str(other.id): 100}}]
    greedy, banned, promoted = await asyncio.gather(
        *(ctx.send(probe_body(ctx, temperature=0.0, **extra, **bias)) for bias in biases)
    )
    spelling: list[Exchange] = []
    if extra.get("return_tokens_as_token_ids"):
        # The ids came as "token_id:N": the same requests with tokens as text show they spell it.
        words = {k: v for k, v in extra.items() if k != "return_tokens_as_token_ids"}
        spelling = list(
            await asyncio.gather(*(ctx.send(probe_body(ctx, temperature=0.0, **words, **bias)) for bias in biases))
        )
    judgement = judge_logit_bias(greedy, banned, promoted, [first, other], ctx.provider, spelling)
    value = {str(first.id): -100, str(other.id): 100}
    sent = [greedy, banned, promoted, *spelling]
    return [record(ctx, "effect", "logit_bias", judgement, sent, "effect", value)]


async def stop_probe(ctx: CheckContext) -> list[Record]:
    greedy = await ctx.send(probe_body(ctx, temperature=0.0))
    chosen = pick_stop(text_of(greedy) or "") if greedy.ok else None
    stopped = await ctx.send(probe_body(ctx, temperature=0.0, stop=[chosen[0]])) if chosen else None
    judgement = judge_stop(greedy, stopped, ctx.provider)
    sent = [greedy] + ([stopped] if stopped else [])
    return [record(ctx, "effect", "stop", judgement, sent, "effect", [chosen[0]] if chosen else None)]


async def n_probe(ctx: CheckContext) -> list[Record]:
    base, probe = await asyncio.gather(ctx.send(probe_body(ctx)), ctx.send(probe_body(ctx, n=2)))
    return [record(ctx, "effect", "n", judge_n(2, base, probe, ctx.provider), [base, probe], "effect", 2)]


async def logprobs_probe(ctx: CheckContext) -> list[Record]:
    top = 3 if "top_logprobs" in ctx.surface.parameters else None
    extra: dict[str, Any] = {"logprobs": True} | ({"top_logprobs": top} if top else {})
    base, probe = await asyncio.gather(ctx.send(probe_body(ctx)), ctx.send(probe_body(ctx, **extra)))
    records = [
        record(ctx, "effect", "logprobs", judge_logprobs(base, probe, ctx.provider), [base, probe], "effect", True)
    ]
    if top:
        one = await ctx.send(probe_body(ctx, logprobs=True, top_logprobs=1))
        judgement = judge_top_logprobs(top, probe, one, ctx.provider)
        records.append(record(ctx, "effect", "top_logprobs", judgement, [one, probe], "effect", top))
    return records


def _response_format_types(ctx: CheckContext) -> list[str]:
    return type_tags(ctx.surface.parameters["response_format"].schema) or ["json_object"]


async def response_format_probe(ctx: CheckContext, kind: str) -> list[Record]:
    value: dict[str, Any] = {"type": kind}
    if kind == "json_schema":
        value["json_schema"] = {"name": "probe", "strict": True, "schema": PROBE_SCHEMA}
    # Greedy: a grammar-constrained tiny model closes its JSON at once ('{}'); sampled, it may
    # wander inside a string until max_tokens. The control is the same request without it.
    control, probe = await asyncio.gather(
        ctx.send(probe_body(ctx, max_tokens=40, temperature=0.0)),
        ctx.send(probe_body(ctx, max_tokens=40, temperature=0.0, response_format=value)),
    )
    judgement = judge_response_format(kind, PROBE_SCHEMA, control, probe, ctx.provider)
    return [record(ctx, "effect", "response_format", judgement, [control, probe], f"effect-{kind}", value)]


async def stream_probe(ctx: CheckContext) -> list[Record]:
    same = await reproducible(ctx)
    plain, streamed = await asyncio.gather(
        ctx.send(probe_body(ctx, **same)), ctx.send(probe_body(ctx, stream=True, **same))
    )
    return [
        record(ctx, "effect", "stream", judge_stream(plain, streamed, ctx.provider), [plain, streamed], "effect", True)
    ]


@check("effect", "standard parameters have their documented effect")
def standard_effects(ctx: CheckContext) -> list[Unit]:
    probes: list[tuple[str, str, Callable[[], Awaitable[list[Record]]]]] = []
    for name, param in ctx.surface.parameters.items():
        if name in EFFECTS and param.placement == "standard":
            probes.append((f"effect.{name}", name, partial(_sampling, ctx, name)))
    if documents(ctx, "max_tokens", MAX_TOKENS_LIMIT):
        probes.append(("effect.max_tokens", "max_tokens", lambda: max_tokens_probe(ctx)))
    if documents(ctx, "max_completion_tokens", MAX_TOKENS_LIMIT):
        probes.append(
            ("effect.max_completion_tokens", "max_completion_tokens", lambda: max_completion_tokens_probe(ctx))
        )
    if documents(ctx, "stream_options", {"include_usage": True}) and documents(ctx, "stream", True):
        probes.append(("effect.stream_options", "stream_options", lambda: stream_options_probe(ctx)))
    if documents(ctx, "logit_bias", {"1": -100}):
        probes.append(("effect.logit_bias", "logit_bias", lambda: logit_bias_probe(ctx)))
    if documents(ctx, "stop", ["abc"]):
        probes.append(("effect.stop", "stop", lambda: stop_probe(ctx)))
    if documents(ctx, "n", 2):
        probes.append(("effect.n", "n", lambda: n_probe(ctx)))
    if documents(ctx, "logprobs", True):
        probes.append(("effect.logprobs", "logprobs", lambda: logprobs_probe(ctx)))
    if "response_format" in ctx.surface.parameters:
        for kind in ("json_object", "json_schema"):
            if kind in _response_format_types(ctx):
                probes.append(
                    (f"effect.response_format.{kind}", "response_format", partial(response_format_probe, ctx, kind))
                )
    if documents(ctx, "stream", True):
        probes.append(("effect.stream", "stream", lambda: stream_probe(ctx)))
    return [Unit(uid, param, run) for uid, param, run in probes if ctx.wants(param)]


async def _sampling(ctx: CheckContext, param: str) -> list[Record]:
    return [await sampling_effect(ctx, "effect", param)]
