"""Forms the documentation calls equivalent must be equivalent: ``content`` as a string and as
text parts (what Data Designer sends), ``stop`` as a string and as a one-item list,
``max_completion_tokens`` and ``max_tokens``. Seed-free: greedy outputs, with a control that
must change the output (so a difference would have shown). Judge: ``judges.forms``."""

from __future__ import annotations

import asyncio
from typing import Any

from harness.checks.judges.effects import pick_stop
from harness.checks.judges.forms import Twins, judge_equivalent
from harness.checks.judges.outcome import Judgement, text_of
from harness.checks.probing import OMIT, documents, probe_body, provider_profile, record
from harness.checks.registry import CheckContext, Unit, check
from harness.generation.matrix import PROMPT
from harness.results import Record, Verdict

LIMIT = 5
OTHER_PROMPT = "Name three rivers."


def _greedy(ctx: CheckContext, **params: Any) -> dict[str, Any]:
    return probe_body(ctx, temperature=0.0, seed=OMIT, **params)


def _user(content: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


async def _judged(ctx: CheckContext, param: str, twins: Twins, value: Any) -> list[Record]:
    profile = await provider_profile(ctx)
    judgement = judge_equivalent(twins, profile.greedy_reproduces, ctx.provider)
    sent = [twins.first, twins.second, twins.control]
    return [record(ctx, "equivalence", param, judgement, sent, "equivalence", value)]


async def content_parts_probe(ctx: CheckContext) -> list[Record]:
    parts = [{"type": "text", "text": PROMPT}]
    text, as_parts, other = await asyncio.gather(
        ctx.send(_greedy(ctx, messages=_user(PROMPT))),
        ctx.send(_greedy(ctx, messages=_user(parts))),
        ctx.send(_greedy(ctx, messages=_user(OTHER_PROMPT))),
    )
    twins = Twins("content as a string and as text parts", text, as_parts, other, "another user message")
    return await _judged(ctx, "messages", twins, parts)


async def stop_forms_probe(ctx: CheckContext) -> list[Record]:
    greedy = await ctx.send(_greedy(ctx))
    chosen = pick_stop(text_of(greedy) or "") if greedy.ok else None
    if chosen is None:
        judgement = Judgement(Verdict.INCONCLUSIVE, "no stop string to try: the greedy output is too short or failed")
        return [record(ctx, "equivalence", "stop", judgement, [greedy], "equivalence")]
    stop = chosen[0]
    as_string, as_list = await asyncio.gather(ctx.send(_greedy(ctx, stop=stop)), ctx.send(_greedy(ctx, stop=[stop])))
    twins = Twins(f"stop as {stop!r} and as [{stop!r}]", as_string, as_list, greedy, "the same request without stop")
    return await _judged(ctx, "stop", twins, stop)


async def max_completion_tokens_form_probe(ctx: CheckContext) -> list[Record]:
    old, new, unlimited = await asyncio.gather(
        ctx.send(_greedy(ctx, max_tokens=LIMIT)),
        ctx.send(_greedy(ctx, max_tokens=OMIT, max_completion_tokens=LIMIT)),
        ctx.send(_greedy(ctx)),
    )
    twins = Twins(f"max_tokens={LIMIT} and max_completion_tokens={LIMIT}", old, new, unlimited, "a larger max_tokens")
    return await _judged(ctx, "max_completion_tokens", twins, LIMIT)


@check("equivalence", "forms documented as equivalent give the same greedy output")
def equivalent_forms(ctx: CheckContext) -> list[Unit]:
    units = [Unit("equivalence.content-parts", "messages", lambda: content_parts_probe(ctx))]
    if documents(ctx, "stop", "abc") and documents(ctx, "stop", ["abc"]):
        units.append(Unit("equivalence.stop", "stop", lambda: stop_forms_probe(ctx)))
    if documents(ctx, "max_completion_tokens", LIMIT) and documents(ctx, "max_tokens", LIMIT):
        units.append(
            Unit(
                "equivalence.max_completion_tokens",
                "max_completion_tokens",
                lambda: max_completion_tokens_form_probe(ctx),
            )
        )
    return [unit for unit in units if ctx.wants(unit.param)]
