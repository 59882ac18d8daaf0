"""Embeddings: ``encoding_format: base64`` must decode (little-endian float32) to the same
vector as ``float``; ``dimensions`` must give vectors of that length or be refused as
documented; every embeddings body must match the embedding-list schema."""

from __future__ import annotations

import asyncio
import base64
import math
import struct
from typing import Any

from harness.checks.probing import record, refusal
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record, Verdict
from harness.schema import response_schema
from harness.transport import Exchange

PATH = "embeddings"
INPUT = "The quick brown fox."
DIMENSIONS = 16


def embedding_body(ctx: CheckContext, **params: Any) -> dict[str, Any]:
    return {"model": ctx.model, "input": INPUT, **params}


def first_vector(exchange: Exchange) -> Any:
    try:
        return exchange.json["data"][0]["embedding"]
    except (KeyError, IndexError, TypeError):
        return None


def decode_base64(value: str) -> list[float]:
    raw = base64.b64decode(value)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw[: len(raw) // 4 * 4]))


def _close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-6) for x, y in zip(a, b, strict=True))


def _schema_problem(exchange: Exchange) -> str | None:
    error = next(iter(response_schema("embedding-list").iter_errors(exchange.json)), None)
    if error is None:
        return None
    return f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"[:200]


async def encoding_probe(ctx: CheckContext) -> list[Record]:
    floats, encoded = await asyncio.gather(
        ctx.send(embedding_body(ctx, encoding_format="float"), PATH),
        ctx.send(embedding_body(ctx, encoding_format="base64"), PATH),
    )
    sent = [floats, encoded]

    def verdict(kind: Verdict, detail: str) -> list[Record]:
        return [record(ctx, "embeddings", "encoding_format", kind, detail, sent, "base64", "base64")]

    failed = refusal(sent, ctx.provider)
    if failed:
        return verdict(*failed)
    for exchange in sent:
        problem = _schema_problem(exchange)
        if problem:
            return verdict(Verdict.SERVER_ERROR, f"the embeddings body breaks the embedding-list schema: {problem}")
    vector, packed = first_vector(floats), first_vector(encoded)
    if not isinstance(packed, str):
        return verdict(Verdict.IGNORED, "encoding_format=base64 returned a list of floats, not a base64 string")
    decoded = decode_base64(packed)
    if _close(decoded, vector):
        return verdict(
            Verdict.HONOURED, f"base64 decodes (little-endian float32) to the same {len(decoded)}-d vector as float"
        )
    return verdict(
        Verdict.IGNORED, f"base64 decodes to {len(decoded)} values that differ from the float vector ({len(vector)})"
    )


async def dimensions_probe(ctx: CheckContext, size: int) -> list[Record]:
    exchange = await ctx.send(embedding_body(ctx, dimensions=size), PATH)
    documented = "dimensions" in ctx.surface.embeddings
    fixed = refusal([exchange], ctx.provider)
    if fixed and fixed[0] is not Verdict.OVER_STRICT:
        return [record(ctx, "embeddings", "dimensions", *fixed, [exchange], "effect", size)]
    if exchange.client_error:
        verdict = Verdict.OVER_STRICT if documented else Verdict.REJECTED
        return [
            record(
                ctx,
                "embeddings",
                "dimensions",
                verdict,
                f"dimensions={size} refused with HTTP {exchange.status}"
                + ("" if documented else " (not documented by this surface)"),
                [exchange],
                "effect",
                size,
            )
        ]
    vector = first_vector(exchange)
    length = len(vector) if isinstance(vector, list) else None
    if length == size:
        return [
            record(
                ctx,
                "embeddings",
                "dimensions",
                Verdict.HONOURED,
                f"dimensions={size} gave {size}-d vectors",
                [exchange],
                "effect",
                size,
            )
        ]
    return [
        record(
            ctx,
            "embeddings",
            "dimensions",
            Verdict.IGNORED,
            f"dimensions={size} accepted, but the vector has {length} values",
            [exchange],
            "effect",
            size,
        )
    ]


@check("embeddings", "base64 embeddings decode to the float ones; dimensions is honoured or refused")
def embeddings(ctx: CheckContext) -> list[Unit]:
    if not ctx.surface.embeddings:
        return []
    units = []
    if ctx.wants("encoding_format"):
        units.append(Unit("embeddings.encoding_format", "encoding_format", lambda: encoding_probe(ctx)))
    # dimensions is probed where it is documented, or where the user asks (--params, a config).
    if "dimensions" in ctx.surface.embeddings or (ctx.params is not None and "dimensions" in ctx.params):
        units.append(Unit("embeddings.dimensions", "dimensions", lambda: dimensions_probe(ctx, DIMENSIONS)))
    return units
