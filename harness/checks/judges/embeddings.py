"""Judges of embeddings parameters: ``encoding_format: base64`` must decode (little-endian
float32) to the same non-empty vector as ``float``; ``dimensions`` must give vectors of that
length (the default length being another), or be refused where it is not documented."""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Iterable
from typing import Any

from harness.checks.judges.outcome import Judgement, is_validation_refusal, unusable
from harness.checks.judges.shapes import Pair, guarded
from harness.results import Verdict
from harness.schema import response_schema
from harness.transport import Exchange


def first_vector(exchange: Exchange) -> Any:
    try:
        return exchange.json["data"][0]["embedding"]
    except (KeyError, IndexError, TypeError):
        return None


def decode_base64(value: str) -> list[float] | None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) % 4:
        return None
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def _numbers(vector: Any) -> bool:
    return isinstance(vector, list) and bool(vector) and all(isinstance(x, int | float) for x in vector)


def _close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-6) for x, y in zip(a, b, strict=True))


def _schema_problem(exchange: Exchange) -> str | None:
    error = next(iter(response_schema("embedding-list").iter_errors(exchange.json)), None)
    if error is None:
        return None
    return f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"[:200]


def not_served(base: Exchange) -> Judgement | None:
    """The plain float request must be answered before any embeddings parameter can be judged:
    a server that does not serve embeddings for this model refuses every request alike."""
    fixed = unusable(base)
    if fixed is not None:
        return fixed
    if base.client_error:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"the plain embeddings request is refused too (HTTP {base.status}: {base.excerpt(120)}): embeddings "
            "are not served for this model, so none of their parameters can be judged",
        )
    return None


def judge_encoding(pair: Pair) -> Judgement:
    """``pair.base``: the plain request (``encoding_format: float``); ``pair.probe``: base64."""
    # The plain request decides first (``not_served``: a refusal of it is no statement about a
    # value); once it is served, the shared guard passes it and reads the probe.
    return not_served(pair.base) or _encoding(pair)


@guarded
def _encoding(pair: Pair) -> Judgement:
    floats, encoded = pair.base, pair.probe
    for exchange in (floats, encoded):
        problem = _schema_problem(exchange)
        if problem:
            return Judgement(Verdict.SERVER_ERROR, f"the embeddings body breaks the embedding-list schema: {problem}")
    vector, packed = first_vector(floats), first_vector(encoded)
    if not _numbers(vector):
        return Judgement(Verdict.SERVER_ERROR, "encoding_format=float returned no vector of numbers")
    if not isinstance(packed, str):
        return Judgement(Verdict.IGNORED, "encoding_format=base64 returned a list of floats, not a base64 string")
    decoded = decode_base64(packed)
    if decoded is None:
        return Judgement(Verdict.SERVER_ERROR, "encoding_format=base64 returned a string that is not base64 float32")
    if _close(decoded, vector):
        return Judgement(
            Verdict.HONOURED,
            f"base64 decodes (little-endian float32) to the same {len(decoded)}-d vector as float",
            "the float request returns the vector itself",
        )
    return Judgement(
        Verdict.IGNORED, f"base64 decodes to {len(decoded)} values that differ from the float vector ({len(vector)})"
    )


def judge_dimensions(pair: Pair, size: int, documented: bool, statuses: Iterable[int]) -> Judgement:
    """``pair.base``: the same input without ``dimensions`` (its length must differ from
    ``size``); ``pair.probe``: with it; ``statuses``: the surface's validation refusals."""
    # Before the shared guard: the plain request decides first (``not_served``), and a
    # validation refusal of the probe is a verdict here (REJECTED where dimensions is not
    # documented, with the surface's own refusal statuses), not a probe failure.
    base, probe = pair.base, pair.probe
    fixed = not_served(base) or unusable(probe)
    if fixed is not None:
        return fixed
    if is_validation_refusal(probe, statuses):
        verdict = Verdict.OVER_STRICT if documented else Verdict.REJECTED
        return Judgement(
            verdict,
            f"dimensions={size} refused with HTTP {probe.status}"
            + ("" if documented else " (not documented)")
            + f": {probe.excerpt(160)}",
        )
    return _dimensions(pair, size)


@guarded
def _dimensions(pair: Pair, size: int) -> Judgement:
    base, probe = pair.base, pair.probe
    vector, default = first_vector(probe), first_vector(base)
    length = len(vector) if _numbers(vector) else None
    default_length = len(default) if _numbers(default) else None
    if length == size and default_length is not None and default_length != size:
        return Judgement(
            Verdict.HONOURED,
            f"dimensions={size} gave {size}-d vectors",
            f"without dimensions the vector has {default_length} values",
        )
    if length == size:
        return Judgement(Verdict.INCONCLUSIVE, f"dimensions={size} gave {size}-d vectors, but so does the default")
    return Judgement(Verdict.IGNORED, f"dimensions={size} accepted, but the vector has {length} values")
