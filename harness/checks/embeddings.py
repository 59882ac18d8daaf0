"""Embeddings: ``encoding_format: base64`` must decode (little-endian float32) to the same
vector as ``float``; ``dimensions`` must give vectors of that length or be refused as
documented. Judges: ``judges.embeddings``."""

from __future__ import annotations

import asyncio
from typing import Any

from harness.checks.judges.embeddings import judge_dimensions, judge_encoding
from harness.checks.probing import record
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record

PATH = "embeddings"
INPUT = "The quick brown fox."
DIMENSIONS = 16


def embedding_body(ctx: CheckContext, **params: Any) -> dict[str, Any]:
    return {"model": ctx.model, "input": INPUT, **params}


async def encoding_probe(ctx: CheckContext) -> list[Record]:
    floats, encoded = await asyncio.gather(
        ctx.send(embedding_body(ctx, encoding_format="float"), PATH),
        ctx.send(embedding_body(ctx, encoding_format="base64"), PATH),
    )
    judgement = judge_encoding(floats, encoded, ctx.provider)
    return [record(ctx, "embeddings", "encoding_format", judgement, [floats, encoded], "base64", "base64")]


async def dimensions_probe(ctx: CheckContext, size: int) -> list[Record]:
    base, probe = await asyncio.gather(
        ctx.send(embedding_body(ctx, encoding_format="float"), PATH),
        ctx.send(embedding_body(ctx, dimensions=size), PATH),
    )
    documented = "dimensions" in ctx.surface.embeddings
    judgement = judge_dimensions(size, documented, base, probe, ctx.provider, ctx.surface.refusal_statuses)
    return [record(ctx, "embeddings", "dimensions", judgement, [base, probe], "effect", size)]


@check("embeddings", "base64 embeddings decode to the float ones; dimensions is honoured or refused")
def embeddings(ctx: CheckContext) -> list[Unit]:
    if not ctx.surface.embeddings:
        return []
    units = []
    if ctx.wants("encoding_format"):
        units.append(Unit("embeddings.encoding_format", "encoding_format", lambda: encoding_probe(ctx)))
    # dimensions is probed where it is documented, or where the user asks (--params, a config).
    asked = ctx.params is not None and "dimensions" in ctx.params
    if asked or (ctx.wants("dimensions") and "dimensions" in ctx.surface.embeddings):
        units.append(Unit("embeddings.dimensions", "dimensions", lambda: dimensions_probe(ctx, DIMENSIONS)))
    return units
