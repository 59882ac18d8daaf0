"""The context window (check ``context``): a prompt longer than the served context, and a
prompt plus ``max_tokens`` that does not fit (``judges.overflow``). Runs where the provider's
entry states its context (``context_tokens`` in providers.toml), in a whole run only: the
probes are about no documented parameter. Greedy, one completion token where the output
does not matter, so an overflow costs one prompt's processing at most."""

from __future__ import annotations

import asyncio
from typing import Any, Final

from harness.checks.cost import TEMPLATE_TOKENS, Ceiling, sends, unkeyed
from harness.checks.findings import Finding
from harness.checks.judges import Judgement
from harness.checks.judges.overflow import (
    Measure,
    Overfill,
    Overflow,
    judge_max_tokens_overflow,
    judge_prompt_overflow,
    measure,
)
from harness.checks.judges.profile import Profile
from harness.checks.plans.common import SHORT_COPIES, short_prompt_body
from harness.checks.registry import CheckContext, probe, probes_check

STEP: Final = SHORT_COPIES  # copies per step of the measure: its first request is the template check's control
OVER: Final = 1.25  # the long prompt, in contexts: well past it, whatever the template adds
FILL: Final = 0.85  # the prompt beside a max_tokens of a whole context: fits alone, with room to spare

CONTEXT = probes_check(
    __name__, "context", "a prompt or a completion beyond the context is refused, never cut silently"
)


def _body(ctx: CheckContext, copies: int, max_tokens: int = 1) -> dict[str, Any]:
    return short_prompt_body(ctx, copies, max_tokens)


def _known_context(ctx: CheckContext) -> bool:
    return ctx.params is None and ctx.context_tokens is not None


async def _measure(ctx: CheckContext) -> Measure:
    one, two, three = await asyncio.gather(*(ctx.send(_body(ctx, STEP * k)) for k in (1, 2, 3)))
    return Measure(one=one, two=two, three=three, step=STEP)


def _measure_cost(ctx: CheckContext) -> Ceiling:
    return sends(ctx.context_tokens, *(_body(ctx, STEP * k) for k in (1, 2, 3)))


def _long_prompt(ctx: CheckContext, share: float) -> int:
    """The prompt tokens of a prompt sized by the measure to ``share`` of the context: twice
    that, since the measure's ruler is an estimate (the request's body is known only then)."""
    assert ctx.context_tokens is not None
    return 2 * int(ctx.context_tokens * share) + TEMPLATE_TOKENS


def _prompt_cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
    return _measure_cost(ctx) + unkeyed(1, 1, _long_prompt(ctx, OVER))


def _completion_cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
    return _measure_cost(ctx) + unkeyed(1, ctx.context_tokens, _long_prompt(ctx, FILL))


@probe(CONTEXT, "(context)", "prompt", when=_known_context, cost=_prompt_cost)
async def prompt_overflow_probe(ctx: CheckContext) -> Finding:
    assert ctx.context_tokens is not None
    shape = await _measure(ctx)
    ruler = measure(shape)
    # No ruler, no long prompt: the judge says why from the measure alone.
    copies = 0 if isinstance(ruler, Judgement) else ruler.copies_for(int(ctx.context_tokens * OVER))
    long = await ctx.send(_body(ctx, copies)) if copies else shape.three
    judgement = judge_prompt_overflow(
        Overflow(measure=shape, long=long, copies=copies), ctx.context_tokens, ctx.surface.refusal_statuses
    )
    return Finding(judgement, [*shape.exchanges(), long] if copies else shape.exchanges(), copies)


def _fitting(ctx: CheckContext) -> str:
    """How the surface documents a completion that does not fit, where it does (Fireworks
    lowers max_tokens to fit unless told otherwise)."""
    for name in ("context_length_exceeded_behavior",):
        spec = ctx.surface.parameters.get(name)
        if spec is not None and spec.schema.get("default") == "truncate":
            return f"{name} defaults to {spec.schema['default']!r}"
    return ""


@probe(CONTEXT, "(context)", "prompt+max_tokens", when=_known_context, cost=_completion_cost)
async def completion_overflow_probe(ctx: CheckContext) -> Finding:
    assert ctx.context_tokens is not None
    # A prompt of most of the context (measured), asked for the whole context as its
    # completion: it fits alone, not with max_tokens, and a server that lowers max_tokens to fit
    # generates only the rest (a short prompt would have it generate a whole context).
    ruler = measure(await _measure(ctx))
    copies = STEP if isinstance(ruler, Judgement) else ruler.copies_for(int(ctx.context_tokens * FILL))
    exchange = await ctx.send(_body(ctx, copies, max_tokens=ctx.context_tokens))
    judgement = judge_max_tokens_overflow(
        Overfill(probe=exchange), ctx.context_tokens, ctx.context_tokens, _fitting(ctx), ctx.surface.refusal_statuses
    )
    return Finding(judgement, [exchange], ctx.context_tokens)
