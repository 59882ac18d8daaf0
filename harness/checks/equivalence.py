"""Forms the documentation calls equivalent must be equivalent: ``content`` as a string and as
text parts (what Data Designer sends), ``stop`` as a string and as a one-item list,
``max_completion_tokens`` and ``max_tokens``. Seed-free: greedy outputs, with a control that
must change the output (so a difference would have shown). Judge: ``judges.forms``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

from harness.checks.cost import Ceiling, prompt_bound, sends, unkeyed
from harness.checks.findings import Finding
from harness.checks.judges.effects import pick_stop
from harness.checks.judges.forms import Twins, judge_equivalent
from harness.checks.judges.outcome import Judgement, text_of
from harness.checks.judges.profile import Profile
from harness.checks.plans.common import OMIT, PROBE_TOKENS, documents, probe_body, profile_cost
from harness.checks.plans.proofs import proof_for
from harness.checks.registry import CheckContext, probe, probes_check
from harness.generation.matrix import PROMPT
from harness.results import Verdict

LIMIT = 5
OTHER_PROMPT = "Name three rivers."

EQUIVALENCE = probes_check(__name__, "equivalence", "forms documented as equivalent give the same greedy output")


def _greedy(ctx: CheckContext, **params: Any) -> dict[str, Any]:
    return probe_body(ctx, temperature=0.0, seed=OMIT, **params)


def _user(content: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


async def _judged(ctx: CheckContext, twins: Twins, value: Any) -> Finding:
    profile = (await proof_for(ctx)).profile
    return Finding(judge_equivalent(twins, profile.greedy_reproduces), twins.exchanges(), value)


def _profile_and(*bodies: Callable[[CheckContext], dict[str, Any]]) -> Callable[[CheckContext, Profile], Ceiling]:
    """These greedy requests, and the profile's measurement (the judge asks whether greedy reproduces)."""

    def cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
        return profile_cost(ctx) + sends(ctx.context_tokens, *(b(ctx) for b in bodies))

    return cost


PARTS: Final = [{"type": "text", "text": PROMPT}]


@probe(
    EQUIVALENCE,
    "messages",
    "equivalence",
    cost=_profile_and(
        lambda ctx: _greedy(ctx, messages=_user(PROMPT)),
        lambda ctx: _greedy(ctx, messages=_user(PARTS)),
        lambda ctx: _greedy(ctx, messages=_user(OTHER_PROMPT)),
    ),
)
async def content_parts_probe(ctx: CheckContext) -> Finding:
    parts = [{"type": "text", "text": PROMPT}]
    text, as_parts, other = await asyncio.gather(
        ctx.send(_greedy(ctx, messages=_user(PROMPT))),
        ctx.send(_greedy(ctx, messages=_user(parts))),
        ctx.send(_greedy(ctx, messages=_user(OTHER_PROMPT))),
    )
    twins = Twins(
        name="content as a string and as text parts",
        first=text,
        second=as_parts,
        control=other,
        control_name="another user message",
    )
    return await _judged(ctx, twins, parts)


@probe(
    EQUIVALENCE,
    "stop",
    "equivalence",
    when=lambda ctx: documents(ctx, "stop", "abc") and documents(ctx, "stop", ["abc"]),
    cost=lambda ctx, profile: (
        _profile_and(_greedy)(ctx, profile) + unkeyed(2, PROBE_TOKENS, prompt_bound(_greedy(ctx)) + 64)
    ),
)
async def stop_forms_probe(ctx: CheckContext) -> Finding:
    greedy = await ctx.send(_greedy(ctx))
    chosen = pick_stop(text_of(greedy) or "") if greedy.ok else None
    if chosen is None:
        judgement = Judgement(Verdict.INCONCLUSIVE, "no stop string to try: the greedy output is too short or failed")
        return Finding(judgement, [greedy])
    stop = chosen[0]
    as_string, as_list = await asyncio.gather(ctx.send(_greedy(ctx, stop=stop)), ctx.send(_greedy(ctx, stop=[stop])))
    twins = Twins(
        name=f"stop as {stop!r} and as [{stop!r}]",
        first=as_string,
        second=as_list,
        control=greedy,
        control_name="the same request without stop",
    )
    return await _judged(ctx, twins, stop)


@probe(
    EQUIVALENCE,
    "max_completion_tokens",
    "equivalence",
    when=lambda ctx: documents(ctx, "max_completion_tokens", LIMIT) and documents(ctx, "max_tokens", LIMIT),
    cost=_profile_and(
        lambda ctx: _greedy(ctx, max_tokens=LIMIT),
        lambda ctx: _greedy(ctx, max_tokens=OMIT, max_completion_tokens=LIMIT),
        _greedy,
    ),
)
async def max_completion_tokens_form_probe(ctx: CheckContext) -> Finding:
    old, new, unlimited = await asyncio.gather(
        ctx.send(_greedy(ctx, max_tokens=LIMIT)),
        ctx.send(_greedy(ctx, max_tokens=OMIT, max_completion_tokens=LIMIT)),
        ctx.send(_greedy(ctx)),
    )
    twins = Twins(
        name=f"max_tokens={LIMIT} and max_completion_tokens={LIMIT}",
        first=old,
        second=new,
        control=unlimited,
        control_name="a larger max_tokens",
    )
    return await _judged(ctx, twins, LIMIT)
