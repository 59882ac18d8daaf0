"""Effect probes for standard parameters: each is sent with a value whose effect can be seen
in the response, beside the same request without it (the fewest requests that decide). Each
probe is declared once with ``@probe``; its judge is in ``judges.effects`` or ``judges.forms``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from harness.checks.cost import Ceiling, prompt_bound, sends, unkeyed
from harness.checks.findings import Finding
from harness.checks.judges import text_of
from harness.checks.judges.effects import (
    StopProbe,
    judge_logprobs,
    judge_max_tokens,
    judge_n,
    judge_response_format,
    judge_stop,
    judge_stream,
    judge_top_logprobs,
    pick_stop,
)
from harness.checks.judges.forms import BiasProbe, first_tokens, judge_logit_bias, judge_stream_usage
from harness.checks.judges.outcome import Judgement
from harness.checks.judges.profile import Profile
from harness.checks.judges.shapes import Contrast, Pair, StreamPair
from harness.checks.plans.common import EFFECTS, OMIT, PROBE_TOKENS, documents, probe_body
from harness.checks.plans.proofs import (
    reproducible,
    reproducible_args,
    reproducible_cost,
    sampling_effect,
    sampling_effect_cost,
)
from harness.checks.registry import CheckContext, probe, probe_each, probes_check
from harness.results import Verdict
from harness.schema.model import type_tags
from harness.transport import Exchange

EFFECT = probes_check(__name__, "effect", "standard parameters have their documented effect")

PROBE_SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}
MAX_TOKENS_LIMIT = 5


def _sampling_params(ctx: CheckContext) -> list[str]:
    return [name for name, p in ctx.surface.parameters.items() if name in EFFECTS and p.placement == "standard"]


@probe_each(EFFECT, "effect", _sampling_params, cost=sampling_effect_cost)
async def sampling_probe(ctx: CheckContext, param: str) -> Finding:
    return await sampling_effect(ctx, param)


def _reproducible_pair(**probe: Any) -> Callable[[CheckContext, Profile], Ceiling]:
    """The cost of a probe sending the reproducible request with and without ``probe``."""

    def cost(ctx: CheckContext, profile: Profile) -> Ceiling:
        same = reproducible_args(profile)
        return reproducible_cost(ctx, profile, probe_body(ctx, **same), probe_body(ctx, **{**same, **probe}))

    return cost


@probe(
    EFFECT,
    "max_tokens",
    "effect",
    when=lambda ctx: documents(ctx, "max_tokens", MAX_TOKENS_LIMIT),
    cost=_reproducible_pair(max_tokens=MAX_TOKENS_LIMIT),
)
async def max_tokens_probe(ctx: CheckContext) -> Finding:
    same = await reproducible(ctx)
    base, limited = await asyncio.gather(
        ctx.send(probe_body(ctx, **same)), ctx.send(probe_body(ctx, max_tokens=MAX_TOKENS_LIMIT, **same))
    )
    judgement = judge_max_tokens(Pair(base=base, probe=limited), MAX_TOKENS_LIMIT)
    return Finding(judgement, [base, limited], MAX_TOKENS_LIMIT)


@probe(
    EFFECT,
    "max_completion_tokens",
    "effect",
    when=lambda ctx: documents(ctx, "max_completion_tokens", MAX_TOKENS_LIMIT),
    cost=_reproducible_pair(max_tokens=OMIT, max_completion_tokens=MAX_TOKENS_LIMIT),
)
async def max_completion_tokens_probe(ctx: CheckContext) -> Finding:
    """OpenAI's newer name for the limit: it must cap the output as max_tokens does."""
    same = await reproducible(ctx)
    base, limited = await asyncio.gather(
        ctx.send(probe_body(ctx, **same)),
        ctx.send(probe_body(ctx, max_tokens=OMIT, max_completion_tokens=MAX_TOKENS_LIMIT, **same)),
    )
    judgement = judge_max_tokens(Pair(base=base, probe=limited), MAX_TOKENS_LIMIT, "max_completion_tokens")
    return Finding(judgement, [base, limited], MAX_TOKENS_LIMIT)


@probe(
    EFFECT,
    "stream_options",
    "effect",
    when=lambda ctx: documents(ctx, "stream_options", {"include_usage": True}) and documents(ctx, "stream", True),
    cost=lambda ctx, profile: reproducible_cost(
        ctx,
        profile,
        probe_body(ctx, stream=True, stream_options={"include_usage": True}, **reproducible_args(profile)),
        probe_body(ctx, stream=True, **reproducible_args(profile)),
    ),
)
async def stream_options_probe(ctx: CheckContext) -> Finding:
    same = await reproducible(ctx)
    value = {"include_usage": True}
    with_option, without = await asyncio.gather(
        ctx.send(probe_body(ctx, stream=True, stream_options=value, **same)),
        ctx.send(probe_body(ctx, stream=True, **same)),
    )
    judgement = judge_stream_usage(Contrast(probe=with_option, control=without))
    return Finding(judgement, [without, with_option], value)


def _bias_extra(ctx: CheckContext) -> dict[str, Any]:
    extra: dict[str, Any] = {"logprobs": True, "top_logprobs": 2}
    if "return_tokens_as_token_ids" in ctx.surface.parameters:
        extra["return_tokens_as_token_ids"] = True
    return extra


def _logit_bias_cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
    """The greedy request, then two biased by the token ids it shows (bodies known only then),
    and the three again with tokens as text where ids come as strings."""
    extra = _bias_extra(ctx)
    greedy = probe_body(ctx, temperature=0.0, **extra)
    biased = probe_body(ctx, temperature=0.0, **extra, logit_bias={"0": 100})
    spelled = 3 if extra.get("return_tokens_as_token_ids") else 0
    cost = sends(ctx.context_tokens, greedy) + unkeyed(2 + spelled, PROBE_TOKENS, prompt_bound(biased))
    return cost


@probe(
    EFFECT,
    "logit_bias",
    "effect",
    when=lambda ctx: documents(ctx, "logit_bias", {"1": -100}),
    cost=_logit_bias_cost,
)
async def logit_bias_probe(ctx: CheckContext) -> Finding:
    """Greedy decoding's first token, banned (-100) and an alternative promoted (+100), with
    token ids from what the provider offers: logprobs with ids, or vLLM's token-id strings."""
    extra = _bias_extra(ctx)
    if not (documents(ctx, "logprobs", True) and documents(ctx, "top_logprobs", 2)):
        return Finding(Judgement(Verdict.INCONCLUSIVE, "the surface documents no logprobs: no way to learn token ids"))
    greedy = await ctx.send(probe_body(ctx, temperature=0.0, **extra))
    tokens = first_tokens(greedy) if greedy.ok else []
    if len(tokens) < 2:
        why = "no usable answer" if not greedy.ok else "its logprobs carry no token ids (nor two alternatives)"
        return Finding(Judgement(Verdict.INCONCLUSIVE, f"no token ids to bias: {why}"), [greedy])
    first, other = tokens[0], tokens[1]
    biases: list[dict[str, Any]] = [{}, {"logit_bias": {str(first.id): -100}}, {"logit_bias": {str(other.id): 100}}]
    greedy, banned, promoted = await asyncio.gather(
        *(ctx.send(probe_body(ctx, temperature=0.0, **extra, **bias)) for bias in biases)
    )
    spelling: tuple[Exchange, ...] = ()
    if extra.get("return_tokens_as_token_ids"):
        # The ids came as "token_id:N": the same requests with tokens as text show they spell it.
        words = {k: v for k, v in extra.items() if k != "return_tokens_as_token_ids"}
        spelling = tuple(
            await asyncio.gather(*(ctx.send(probe_body(ctx, temperature=0.0, **words, **bias)) for bias in biases))
        )
    bias_probe = BiasProbe(greedy=greedy, banned=banned, promoted=promoted, first=first, other=other, spelling=spelling)
    value = {str(first.id): -100, str(other.id): 100}
    return Finding(judge_logit_bias(bias_probe), bias_probe.exchanges(), value)


def _stop_cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
    """The greedy request, then one with a stop string taken from its output."""
    greedy = probe_body(ctx, temperature=0.0)
    return sends(ctx.context_tokens, greedy) + unkeyed(1, PROBE_TOKENS, prompt_bound(greedy) + 64)


@probe(EFFECT, "stop", "effect", when=lambda ctx: documents(ctx, "stop", ["abc"]), cost=_stop_cost)
async def stop_probe(ctx: CheckContext) -> Finding:
    greedy = await ctx.send(probe_body(ctx, temperature=0.0))
    chosen = pick_stop(text_of(greedy) or "") if greedy.ok else None
    stopped = await ctx.send(probe_body(ctx, temperature=0.0, stop=[chosen[0]])) if chosen else None
    stop = StopProbe(greedy=greedy, stopped=stopped)
    return Finding(judge_stop(stop), stop.exchanges(), [chosen[0]] if chosen else None)


@probe(
    EFFECT,
    "n",
    "effect",
    when=lambda ctx: documents(ctx, "n", 2),
    cost=lambda ctx, _p: sends(ctx.context_tokens, probe_body(ctx), probe_body(ctx, n=2)),
)
async def n_probe(ctx: CheckContext) -> Finding:
    base, two = await asyncio.gather(ctx.send(probe_body(ctx)), ctx.send(probe_body(ctx, n=2)))
    return Finding(judge_n(Pair(base=base, probe=two), 2), [base, two], 2)


def _logprobs_body(ctx: CheckContext) -> dict[str, Any]:
    top = 3 if "top_logprobs" in ctx.surface.parameters else None
    return probe_body(ctx, logprobs=True, **({"top_logprobs": top} if top else {}))


@probe(
    EFFECT,
    "logprobs",
    "effect",
    when=lambda ctx: documents(ctx, "logprobs", True),
    cost=lambda ctx, _p: sends(ctx.context_tokens, probe_body(ctx), _logprobs_body(ctx)),
)
async def logprobs_probe(ctx: CheckContext) -> Finding:
    base, with_logprobs = await asyncio.gather(ctx.send(probe_body(ctx)), ctx.send(_logprobs_body(ctx)))
    return Finding(judge_logprobs(Pair(base=base, probe=with_logprobs)), [base, with_logprobs], True)


@probe(
    EFFECT,
    "top_logprobs",
    "effect",
    when=lambda ctx: documents(ctx, "logprobs", True) and "top_logprobs" in ctx.surface.parameters,
    cost=lambda ctx, _p: sends(ctx.context_tokens, _logprobs_body(ctx), probe_body(ctx, logprobs=True, top_logprobs=1)),
)
async def top_logprobs_probe(ctx: CheckContext) -> Finding:
    """Three alternatives against one, on the logprobs probe's own request (sent once)."""
    three, one = await asyncio.gather(
        ctx.send(_logprobs_body(ctx)), ctx.send(probe_body(ctx, logprobs=True, top_logprobs=1))
    )
    return Finding(judge_top_logprobs(Contrast(probe=three, control=one), 3), [one, three], 3)


def _response_format_types(ctx: CheckContext) -> list[str]:
    return type_tags(ctx.surface.parameters["response_format"].schema) or ["json_object"]


def _format_value(kind: str) -> dict[str, Any]:
    value: dict[str, Any] = {"type": kind}
    if kind == "json_schema":
        value["json_schema"] = {"name": "probe", "strict": True, "schema": PROBE_SCHEMA}
    return value


def _format_cost(kind: str) -> Callable[[CheckContext, Profile], Ceiling]:
    def cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
        return sends(
            ctx.context_tokens,
            probe_body(ctx, max_tokens=40, temperature=0.0),
            probe_body(ctx, max_tokens=40, temperature=0.0, response_format=_format_value(kind)),
        )

    return cost


async def response_format_probe(ctx: CheckContext, kind: str) -> Finding:
    value = _format_value(kind)
    # Greedy: a grammar-constrained tiny model closes its JSON at once ('{}'); sampled, it may
    # wander inside a string until max_tokens. The control is the same request without it.
    control, formatted = await asyncio.gather(
        ctx.send(probe_body(ctx, max_tokens=40, temperature=0.0)),
        ctx.send(probe_body(ctx, max_tokens=40, temperature=0.0, response_format=value)),
    )
    judgement = judge_response_format(Pair(base=control, probe=formatted), kind, PROBE_SCHEMA)
    return Finding(judgement, [control, formatted], value)


def _formats(kind: str) -> Callable[[CheckContext], bool]:
    def when(ctx: CheckContext) -> bool:
        return "response_format" in ctx.surface.parameters and kind in _response_format_types(ctx)

    return when


@probe(EFFECT, "response_format", "effect-json_object", when=_formats("json_object"), cost=_format_cost("json_object"))
async def json_object_probe(ctx: CheckContext) -> Finding:
    return await response_format_probe(ctx, "json_object")


@probe(EFFECT, "response_format", "effect-json_schema", when=_formats("json_schema"), cost=_format_cost("json_schema"))
async def json_schema_probe(ctx: CheckContext) -> Finding:
    return await response_format_probe(ctx, "json_schema")


@probe(
    EFFECT, "stream", "effect", when=lambda ctx: documents(ctx, "stream", True), cost=_reproducible_pair(stream=True)
)
async def stream_probe(ctx: CheckContext) -> Finding:
    same = await reproducible(ctx)
    plain, streamed = await asyncio.gather(
        ctx.send(probe_body(ctx, **same)), ctx.send(probe_body(ctx, stream=True, **same))
    )
    return Finding(judge_stream(StreamPair(plain=plain, streamed=streamed)), [plain, streamed], True)
