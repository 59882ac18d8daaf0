"""Streamed twins: the same request streamed and not, under the run's proof (the same seed, or
greedy decoding without one), must give the same reply choice by choice, with log-probabilities,
with ``n: 2`` and with ``json_object``. (A forced tool call's twin is the tools family's
``tools.stream.tool-calls``.) Each is a probe and a cell of its own; the frames are the
evidence. Judge: ``judges.stream_twins``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from harness.checks.cost import Ceiling
from harness.checks.findings import Finding
from harness.checks.judges.profile import Profile
from harness.checks.judges.shapes import StreamPair
from harness.checks.judges.stream_twins import Feature, judge_stream_twins
from harness.checks.plans.common import documents, probe_body
from harness.checks.plans.proofs import proof_for, reproducible_args, reproducible_cost
from harness.checks.registry import CheckContext, probe, probes_check

TWINS = probes_check(
    __name__, "stream-twins", "a streamed reply equals the non-streamed one (logprobs, n=2, json_object)"
)
TWIN_TOKENS = 24  # a short reply: every token's frame is evidence, and is kept


async def _twins(ctx: CheckContext, what: str, feature: Feature, **params: Any) -> Finding:
    proof = await proof_for(ctx)
    same = {"max_tokens": TWIN_TOKENS, **proof.reproducible(), **params}
    plain, streamed = await asyncio.gather(
        ctx.send(probe_body(ctx, **same)), ctx.send(probe_body(ctx, stream=True, **same))
    )
    reproduces = not proof.profile.seed_free or proof.profile.greedy_reproduces
    judgement = judge_stream_twins(StreamPair(plain=plain, streamed=streamed), what, reproduces, feature)
    return Finding(judgement, [plain, streamed], params)


def _twins_cost(**params: Any) -> Callable[[CheckContext, Profile], Ceiling]:
    def cost(ctx: CheckContext, profile: Profile) -> Ceiling:
        same = {"max_tokens": TWIN_TOKENS, **reproducible_args(profile), **params}
        return reproducible_cost(ctx, profile, probe_body(ctx, **same), probe_body(ctx, stream=True, **same))

    return cost


def _streams(ctx: CheckContext) -> bool:
    return documents(ctx, "stream", True)


@probe(
    TWINS,
    "logprobs",
    "stream",
    when=lambda ctx: _streams(ctx) and documents(ctx, "logprobs", True),
    cost=_twins_cost(logprobs=True),
)
async def logprobs_twins(ctx: CheckContext) -> Finding:
    return await _twins(ctx, "logprobs", "logprobs", logprobs=True)


@probe(TWINS, "n", "stream", when=lambda ctx: _streams(ctx) and documents(ctx, "n", 2), cost=_twins_cost(n=2))
async def n_twins(ctx: CheckContext) -> Finding:
    return await _twins(ctx, "n=2", "n", n=2)


def _json_object(ctx: CheckContext) -> bool:
    return _streams(ctx) and documents(ctx, "response_format", {"type": "json_object"})


@probe(
    TWINS,
    "response_format",
    "stream-json_object",
    when=_json_object,
    cost=_twins_cost(temperature=0.0, response_format={"type": "json_object"}),
)
async def json_object_twins(ctx: CheckContext) -> Finding:
    # Greedy, as the response_format effect probe: a grammar-constrained tiny model closes its
    # JSON at once; sampled, it may wander inside a string until max_tokens.
    return await _twins(ctx, "json_object", "json_object", temperature=0.0, response_format={"type": "json_object"})
