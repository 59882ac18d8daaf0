"""Determinism with ``seed``: k repeats of one seeded request at temperature 1, sent
concurrently (so batching is part of the test), must agree; other seeds must differ; and the
same request without a seed must not agree with itself (the control: agreement is the seed's)."""

from __future__ import annotations

import asyncio

from harness.checks.judges.determinism import judge_seed
from harness.checks.probing import OMIT, OTHER_SEEDS, PROBE_SEED, probe_body, record
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record

K = 5
UNSEEDED = 2


async def determinism_probe(ctx: CheckContext) -> list[Record]:
    body = probe_body(ctx)
    first = await ctx.send(body)
    repeats = await asyncio.gather(*(ctx.send(body, fresh=True) for _ in range(K - 1)))
    others = await asyncio.gather(*(ctx.send(probe_body(ctx, seed=s)) for s in OTHER_SEEDS))
    free_body = probe_body(ctx, seed=OMIT)
    unseeded = await asyncio.gather(
        ctx.send(free_body), *(ctx.send(free_body, fresh=True) for _ in range(UNSEEDED - 1))
    )
    judgement = judge_seed(PROBE_SEED, [first, *repeats], others, unseeded, ctx.provider)
    sent = [first, *repeats, *others, *unseeded]
    return [record(ctx, "determinism", "seed", judgement, sent, "repeat")]


@check("determinism", "the same seed reproduces the output (pass^k), other seeds change it")
def seed_determinism(ctx: CheckContext) -> list[Unit]:
    if "seed" not in ctx.surface.parameters or not ctx.wants("seed"):
        return []
    return [Unit("determinism.seed", "seed", lambda: determinism_probe(ctx))]
