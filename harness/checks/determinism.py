"""Determinism with ``seed``: k repeats of one seeded request at temperature 1, sent
concurrently (so batching is part of the test), must agree; other seeds must differ."""

from __future__ import annotations

import asyncio

from harness.checks.probing import OTHER_SEEDS, probe_body, quote, record, refusal
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record, Verdict

K = 5


async def determinism_probe(ctx: CheckContext) -> list[Record]:
    body = probe_body(ctx)
    first = await ctx.send(body)
    repeats = await asyncio.gather(*(ctx.send(body, fresh=True) for _ in range(K - 1)))
    others = await asyncio.gather(*(ctx.send(probe_body(ctx, seed=s)) for s in OTHER_SEEDS))
    sent = [first, *repeats, *others]
    failed = refusal(sent, ctx.provider)
    if failed:
        return [record(ctx, "determinism", "seed", failed[0], failed[1], sent, "repeat")]
    texts = [e.content() for e in (first, *repeats)]
    agreeing = sum(t == texts[0] for t in texts)
    pass_k = 1 if agreeing == K else 0
    distinct_seeds = len({texts[0], *(e.content() for e in others)})
    summary = (
        f"{agreeing}/{K} repeats of seed {body['seed']} agree (pass^{K} = {pass_k}, sent concurrently); "
        f"{distinct_seeds} distinct outputs over {1 + len(OTHER_SEEDS)} seeds"
    )

    def verdict(kind: Verdict, detail: str) -> list[Record]:
        return [record(ctx, "determinism", "seed", kind, detail, sent, "repeat")]

    if pass_k and distinct_seeds > 1:
        return verdict(Verdict.HONOURED, summary)
    if not pass_k:
        variants = sorted({quote(t, 30) for t in texts})
        return verdict(Verdict.IGNORED, f"{summary}; outputs: {', '.join(variants)}")
    return verdict(Verdict.IGNORED, f"{summary}: the seed does not change what is sampled")


@check("determinism", "the same seed reproduces the output (pass^k), other seeds change it")
def seed_determinism(ctx: CheckContext) -> list[Unit]:
    if "seed" not in ctx.surface.parameters or not ctx.wants("seed"):
        return []
    return [Unit("determinism.seed", "seed", lambda: determinism_probe(ctx))]
