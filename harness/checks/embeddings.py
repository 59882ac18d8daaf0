"""Embeddings: ``encoding_format: base64`` must decode (little-endian float32) to the same
vector as ``float``; ``dimensions`` must give vectors of that length or be refused as
documented. Judges: ``judges.embeddings``."""

from __future__ import annotations

import asyncio
from typing import Any

from harness.checks.cost import Ceiling, sends
from harness.checks.findings import Finding
from harness.checks.judges.embeddings import judge_dimensions, judge_encoding
from harness.checks.judges.profile import Profile
from harness.checks.judges.shapes import Pair
from harness.checks.registry import CheckContext, probe, probes_check

PATH = "embeddings"
INPUT = "The quick brown fox."
DIMENSIONS = 16

EMBEDDINGS = probes_check(
    __name__, "embeddings", "base64 embeddings decode to the float ones; dimensions is honoured or refused"
)


def embedding_body(ctx: CheckContext, **params: Any) -> dict[str, Any]:
    return {"model": ctx.model, "input": INPUT, **params}


def encoding_cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
    """What ``encoding_probe`` sends: the input as floats and as base64."""
    return _sends(ctx, {"encoding_format": "float"}, {"encoding_format": "base64"})


def dimensions_cost(ctx: CheckContext, _profile: Profile, size: int = DIMENSIONS) -> Ceiling:
    """What ``dimensions_probe`` sends: the input as floats and at ``size`` dimensions."""
    return _sends(ctx, {"encoding_format": "float"}, {"dimensions": size})


def _sends(ctx: CheckContext, *params: dict[str, Any]) -> Ceiling:
    return sends(None, *(embedding_body(ctx, **p) for p in params), path=PATH)


@probe(
    EMBEDDINGS,
    "encoding_format",
    "base64",
    when=lambda ctx: bool(ctx.surface.embeddings),
    cost=encoding_cost,
)
async def encoding_probe(ctx: CheckContext) -> Finding:
    floats, encoded = await asyncio.gather(
        ctx.send(embedding_body(ctx, encoding_format="float"), PATH),
        ctx.send(embedding_body(ctx, encoding_format="base64"), PATH),
    )
    judgement = judge_encoding(Pair(base=floats, probe=encoded))
    return Finding(judgement, [floats, encoded], "base64")


def _dimensions_wanted(ctx: CheckContext) -> bool:
    """Probed where documented, or where the user asks (--params, a config)."""
    asked = ctx.params is not None and "dimensions" in ctx.params
    return bool(ctx.surface.embeddings) and (asked or "dimensions" in ctx.surface.embeddings)


@probe(
    EMBEDDINGS,
    "dimensions",
    "effect",
    when=_dimensions_wanted,
    cost=dimensions_cost,
)
async def dimensions_probe(ctx: CheckContext, size: int = DIMENSIONS) -> Finding:
    base, sized = await asyncio.gather(
        ctx.send(embedding_body(ctx, encoding_format="float"), PATH),
        ctx.send(embedding_body(ctx, dimensions=size), PATH),
    )
    documented = "dimensions" in ctx.surface.embeddings
    judgement = judge_dimensions(Pair(base=base, probe=sized), size, documented, ctx.surface.refusal_statuses)
    return Finding(judgement, [base, sized], size)
