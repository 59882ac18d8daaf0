"""``extra_body`` passthrough, proven by effect. The OpenAI SDK sends ``extra_body`` as extra
top-level keys; a server that accepts them and drops them answers 200 all the same, so each
extension parameter must also change the output where it should. An unknown key tells
whether the provider rejects or ignores keys it does not know."""

from __future__ import annotations

import asyncio
from typing import Any

from harness.checks.cost import Ceiling, sends
from harness.checks.findings import Finding
from harness.checks.judges import Judgement, probe_failure
from harness.checks.judges.profile import Profile
from harness.checks.judges.ranges import judge_unknown_key
from harness.checks.judges.shapes import Pair
from harness.checks.plans.common import EFFECTS, probe_body
from harness.checks.plans.proofs import sampling_effect, sampling_effect_cost
from harness.checks.registry import CheckContext, probe, probe_each, probes_check
from harness.results import Verdict

UNKNOWN_KEY = "harness_unknown_parameter"

PASSTHROUGH = probes_check(
    __name__, "passthrough", "extension parameters (extra_body) are accepted and change the output"
)
UNKNOWN = probes_check(__name__, "unknown-key", "does the provider reject or silently ignore a key it does not know")


def _extensions(ctx: CheckContext) -> list[str]:
    return [name for name, p in ctx.surface.parameters.items() if p.placement == "extension"]


@probe_each(PASSTHROUGH, "effect", _extensions, when=lambda _ctx, name: name in EFFECTS, cost=sampling_effect_cost)
async def passthrough_effect(ctx: CheckContext, param: str) -> Finding:
    return await sampling_effect(ctx, param)


def _enumerated(ctx: CheckContext, name: str) -> bool:
    return name not in EFFECTS and "enum" in ctx.surface.parameters[name].schema


def _enum_value(ctx: CheckContext, param: str) -> Any:
    spec = ctx.surface.parameters[param].schema
    return next(v for v in spec.get("enum", []) if v is not None and v != spec.get("default"))


def enum_passthrough_cost(ctx: CheckContext, param: str, _profile: Profile, value: Any = None) -> Ceiling:
    """What ``enum_passthrough`` sends: one request carrying the value."""
    chosen = _enum_value(ctx, param) if value is None else value
    return sends(ctx.context_tokens, probe_body(ctx, **{param: chosen}))


@probe_each(PASSTHROUGH, "accepted", _extensions, when=_enumerated, cost=enum_passthrough_cost)
async def passthrough_accepted(ctx: CheckContext, param: str) -> Finding:
    return await enum_passthrough(ctx, param)


async def enum_passthrough(ctx: CheckContext, param: str, value: Any = None) -> Finding:
    """An extension with no effect on generated text (tier): acceptance only, and why."""
    spec = ctx.surface.parameters[param].schema
    if value is None:
        value = _enum_value(ctx, param)
    meaning = f" (documented: {spec['description']})" if spec.get("description") else ""
    # e.g. a service tier: it changes price or latency, which no response field shows.
    exchange = await ctx.send(probe_body(ctx, **{param: value}))
    judgement = probe_failure([exchange]) or Judgement(
        Verdict.INCONCLUSIVE,
        f"{param}={value!r} accepted; no client-observable effect exists{meaning}: a server that "
        "drops it answers the same, so passthrough cannot be proven",
    )
    return Finding(judgement, [exchange], value)


# Only in a whole run: a run restricted to some parameters (--params) is not asked about keys.
@probe(
    UNKNOWN,
    "(unknown key)",
    "probe",
    when=lambda ctx: ctx.params is None,
    cost=lambda ctx, _p: sends(ctx.context_tokens, probe_body(ctx, **{UNKNOWN_KEY: 1}), probe_body(ctx)),
)
async def unknown_key_probe(ctx: CheckContext) -> Finding:
    exchange, plain = await asyncio.gather(ctx.send(probe_body(ctx, **{UNKNOWN_KEY: 1})), ctx.send(probe_body(ctx)))
    pair = Pair(base=plain, probe=exchange)
    judgement = judge_unknown_key(pair, ctx.surface.unknown_keys, ctx.surface.refusal_statuses)
    return Finding(judgement, [exchange, plain])
