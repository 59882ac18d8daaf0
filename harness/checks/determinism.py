"""Determinism with ``seed``: k repeats of one seeded request at temperature 1, sent
concurrently (so batching is part of the test), must agree; other seeds must differ; and the
same request without a seed must not agree with itself, and a longer one must extend the seeded
text (the controls: agreement is the seed's, not a cache's)."""

from __future__ import annotations

import asyncio

from harness.checks.cost import Ceiling, fresh, sends
from harness.checks.findings import Finding
from harness.checks.judges import Judgement
from harness.checks.judges.determinism import SeedRepeats, judge_seed
from harness.checks.judges.profile import Profile
from harness.checks.plans.common import INERT_EXTRA_TOKENS, OMIT, OTHER_SEEDS, PROBE_SEED, PROBE_TOKENS, probe_body
from harness.checks.registry import CheckContext, probe, probes_check
from harness.results import Verdict

K = 5
UNSEEDED = 2

DETERMINISM = probes_check(
    __name__, "determinism", "the same seed reproduces the output (pass^k), other seeds change it"
)


def determinism_cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
    if not ctx.send_seed:
        return Ceiling()
    body, free_body, tokens = probe_body(ctx), probe_body(ctx, seed=OMIT), ctx.context_tokens
    others = (probe_body(ctx, seed=s) for s in OTHER_SEEDS)
    longer = probe_body(ctx, max_tokens=PROBE_TOKENS + INERT_EXTRA_TOKENS)
    return (
        sends(tokens, body, *others, free_body, longer)
        + fresh(tokens, body, K - 1)
        + fresh(tokens, free_body, UNSEEDED - 1)
    )


@probe(DETERMINISM, "seed", "repeat", when=lambda ctx: "seed" in ctx.surface.parameters, cost=determinism_cost)
async def determinism_probe(ctx: CheckContext) -> Finding:
    if not ctx.send_seed:
        why = Judgement(Verdict.INCONCLUSIVE, "seed is never sent to this provider (providers.toml: send_seed = false)")
        return Finding(why)
    body, free_body = probe_body(ctx), probe_body(ctx, seed=OMIT)
    repeats, others, unseeded, longer = await asyncio.gather(
        asyncio.gather(ctx.send(body), *(ctx.send(body, fresh=True) for _ in range(K - 1))),
        asyncio.gather(*(ctx.send(probe_body(ctx, seed=s)) for s in OTHER_SEEDS)),
        asyncio.gather(ctx.send(free_body), *(ctx.send(free_body, fresh=True) for _ in range(UNSEEDED - 1))),
        ctx.send(probe_body(ctx, max_tokens=PROBE_TOKENS + INERT_EXTRA_TOKENS)),
    )
    probe = SeedRepeats(repeats=repeats, other_seeds=others, unseeded=unseeded, longer=longer)
    return Finding(judge_seed(probe, PROBE_SEED), probe.exchanges(), mode="seeded")
