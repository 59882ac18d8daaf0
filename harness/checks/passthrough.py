"""``extra_body`` passthrough, proven by effect. The OpenAI SDK sends ``extra_body`` as extra
top-level keys; a server that accepts them and drops them answers 200 all the same, so each
extension parameter must also change the output where it should. An unknown key tells
whether the provider rejects or ignores keys it does not know."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from harness.checks.judges import Judgement, probe_failure
from harness.checks.judges.ranges import judge_unknown_key
from harness.checks.probing import EFFECTS, probe_body, record, sampling_effect
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record, Verdict

UNKNOWN_KEY = "harness_unknown_parameter"


async def enum_passthrough(ctx: CheckContext, param: str, value: Any = None) -> list[Record]:
    """An extension with no effect on generated text (tier): acceptance only, and why."""
    spec = ctx.surface.parameters[param].schema
    if value is None:
        value = next(v for v in spec.get("enum", []) if v is not None and v != spec.get("default"))
    meaning = f" (documented: {spec['description']})" if spec.get("description") else ""
    # e.g. a service tier: it changes price or latency, which no response field shows.
    exchange = await ctx.send(probe_body(ctx, **{param: value}))
    judgement = probe_failure([exchange], ctx.provider) or Judgement(
        Verdict.INCONCLUSIVE,
        f"{param}={value!r} accepted; no client-observable effect exists{meaning}: a server that "
        "drops it answers the same, so passthrough cannot be proven",
    )
    return [record(ctx, "passthrough", param, judgement, [exchange], "accepted", value)]


async def unknown_key_probe(ctx: CheckContext) -> list[Record]:
    exchange, plain = await asyncio.gather(ctx.send(probe_body(ctx, **{UNKNOWN_KEY: 1})), ctx.send(probe_body(ctx)))
    judgement = judge_unknown_key(ctx.surface.unknown_keys, exchange, plain, ctx.provider, ctx.surface.refusal_statuses)
    return [record(ctx, "unknown-key", "(unknown key)", judgement, [exchange, plain], "probe")]


@check("passthrough", "extension parameters (extra_body) are accepted and change the output")
def extra_body_passthrough(ctx: CheckContext) -> list[Unit]:
    units = []
    for name, param in ctx.surface.parameters.items():
        if param.placement != "extension" or not ctx.wants(name):
            continue
        if name in EFFECTS:
            units.append(Unit(f"passthrough.{name}", name, partial(_sampling, ctx, name)))
        elif "enum" in param.schema:
            units.append(Unit(f"passthrough.{name}", name, partial(enum_passthrough, ctx, name)))
    return units


async def _sampling(ctx: CheckContext, param: str) -> list[Record]:
    return [await sampling_effect(ctx, "passthrough", param)]


@check("unknown-key", "does the provider reject or silently ignore a key it does not know")
def unknown_key(ctx: CheckContext) -> list[Unit]:
    if ctx.params is not None:
        return []
    return [Unit("unknown-key", "(unknown key)", lambda: unknown_key_probe(ctx))]
