"""Documented defaults: under a fixed seed, omitting a parameter must give the same output as
sending its documented default. A difference means the documentation is wrong; the real
default is then looked for among the values other surfaces document for the same parameter."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from harness.checks.probing import (
    EFFECTS,
    OMIT,
    probe_body,
    quote,
    record,
    refusal,
    reproducible,
    sampling_effect,
)
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record, Verdict
from harness.schema import load_catalogue
from harness.transport import Exchange


def effect_check_name(ctx: CheckContext, param: str) -> str:
    return "passthrough" if ctx.surface.parameters[param].placement == "extension" else "effect"


# Values servers commonly default to, tried after the other surfaces' documented defaults.
COMMON_DEFAULTS: dict[str, list[float]] = {
    "temperature": [1.0, 0.8, 0.7, 0.6, 0.2],
    "top_p": [1.0, 0.95, 0.9],
    "top_k": [0, 40, 50, 20],
    "min_p": [0.0, 0.05, 0.1],
    "repetition_penalty": [1.0, 1.1],
    "repeat_penalty": [1.0, 1.1],
    "frequency_penalty": [0.0],
    "presence_penalty": [0.0],
}


def candidate_defaults(param: str, documented: Any) -> list[Any]:
    """Where the real default usually is: other surfaces' documented defaults, then common ones."""
    found: list[Any] = []
    for surface in load_catalogue().values():
        spec = surface.parameters.get(param)
        if spec is not None and spec.has_default and isinstance(spec.default, int | float):
            found.append(spec.default)
    found += COMMON_DEFAULTS.get(param, [])
    unique: list[Any] = []
    for value in found:
        if value != documented and value not in unique:
            unique.append(value)
    return unique


async def default_probe(ctx: CheckContext, param: str) -> list[Record]:
    documented = ctx.surface.parameters[param].default
    tokens = EFFECTS[param].max_tokens
    # Omitting temperature needs its own baseline; every other probe fixes temperature at 1.
    omitted_body = probe_body(ctx, max_tokens=tokens, **{param: OMIT})
    stable, repeats = await reproducible(ctx, tokens)
    omitted, explicit = await asyncio.gather(
        ctx.send(omitted_body), ctx.send(probe_body(ctx, max_tokens=tokens, **{param: documented}))
    )
    sent = [omitted, explicit]

    def verdict(kind: Verdict, detail: str, evidence: list[Exchange] | None = None) -> list[Record]:
        return [
            record(ctx, "default", param, kind, detail, sent if evidence is None else evidence, "default", documented)
        ]

    failed = refusal(sent, ctx.provider)
    if failed:
        return verdict(*failed)
    if not stable:
        return verdict(
            Verdict.INCONCLUSIVE,
            "the same seed gave different outputs, so omitted and explicit cannot be compared",
            [*repeats, *sent],
        )
    if omitted.content() == explicit.content():
        effect = await sampling_effect(ctx, effect_check_name(ctx, param), param)
        if effect.verdict is Verdict.HONOURED:
            return verdict(Verdict.HONOURED, f"omitting {param} equals sending the documented default {documented}")
        return verdict(
            Verdict.INCONCLUSIVE,
            f"omitting {param} equals sending {documented}, but {param} showed no effect, so this proves nothing",
        )
    real = None
    for candidate in candidate_defaults(param, documented):
        trial = await ctx.send(probe_body(ctx, max_tokens=tokens, **{param: candidate}))
        sent.append(trial)
        if trial.ok and trial.content() == omitted.content():
            real = candidate
            break
    found = (
        f"; the real default behaves like {param}={real}"
        if real is not None
        else ("; no other documented default matches either")
    )
    return verdict(
        Verdict.IGNORED,
        f"the documented default {param}={documented} is not applied when omitted: omitted gives "
        f"{quote(omitted.content())}, explicit gives {quote(explicit.content())}{found}",
    )


@check("default", "omitting a parameter behaves like sending its documented default")
def documented_defaults(ctx: CheckContext) -> list[Unit]:
    units = []
    for name, param in ctx.surface.parameters.items():
        if name in EFFECTS and param.has_default and isinstance(param.default, int | float) and ctx.wants(name):
            units.append(Unit(f"default.{name}", name, partial(default_probe, ctx, name)))
    return units
