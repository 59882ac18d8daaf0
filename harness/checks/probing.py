"""Shared probe machinery: cheap probe requests under a fixed seed, baselines shared by every
check (sent once per run thanks to the engine's de-duplication), and the two ways to prove an
effect: a differential probe (the value changes the output) and a greedy-equivalence probe
(the value must make sampling equal temperature-0 decoding, whatever the seed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from harness.checks.evidence import completion_tokens, evidence
from harness.checks.ranges import outcome_verdict
from harness.checks.registry import CheckContext
from harness.generation.matrix import base_body
from harness.results import Record, Verdict
from harness.transport import Exchange

PROBE_SEED: Final = 1234
OTHER_SEEDS: Final = (4321, 9876)
PROBE_TOKENS: Final = 16
OMIT: Final = object()  # a probe_body() value meaning "leave this key out"

T = TypeVar("T")


@dataclass(frozen=True)
class Effect:
    """How to see a sampling parameter work: the value to send and what it must do."""

    value: Any
    greedy: bool  # True: must equal greedy decoding across seeds; False: must change the output
    max_tokens: int = PROBE_TOKENS


# Values chosen to be documented as valid on every surface that has the parameter, and to
# change any sampled text. (DRY is left out: it only acts once a sequence repeats, which a
# short probe cannot guarantee, so "no change" would not mean "ignored".)
EFFECTS: dict[str, Effect] = {
    "temperature": Effect(0.0, greedy=True),
    "top_p": Effect(0.001, greedy=True),
    "top_k": Effect(1, greedy=True),
    "min_p": Effect(1.0, greedy=True),
    "top_a": Effect(1.0, greedy=False),
    "typical_p": Effect(0.05, greedy=False),
    "frequency_penalty": Effect(2.0, greedy=False, max_tokens=32),
    "presence_penalty": Effect(2.0, greedy=False, max_tokens=32),
    "repetition_penalty": Effect(2.0, greedy=False, max_tokens=32),
    "repeat_penalty": Effect(2.0, greedy=False, max_tokens=32),
    "dynatemp_range": Effect(1.0, greedy=False),
    "xtc_probability": Effect(1.0, greedy=False),
    "mirostat": Effect(2, greedy=False),
}


def probe_body(
    ctx: CheckContext,
    *,
    max_tokens: int = PROBE_TOKENS,
    seed: Any = PROBE_SEED,
    temperature: Any = 1.0,
    **params: Any,
) -> dict[str, Any]:
    """The probe request: seeded, sampled at temperature 1 (so sampling parameters matter)."""
    body = base_body(ctx.model)
    body["max_tokens"] = max_tokens
    for key, value in {"seed": seed, "temperature": temperature, **params}.items():
        if value is OMIT:
            body.pop(key, None)
        else:
            body[key] = value
    return body


async def shared(ctx: CheckContext, key: str, make: Callable[[], Awaitable[T]]) -> T:
    """Compute ``make()`` once per run and provider, whichever unit asks first."""
    task = ctx.memo.get(key)
    if task is None:
        task = asyncio.ensure_future(make())
        ctx.memo[key] = task
    result: T = await task
    return result


async def reproducible(ctx: CheckContext, max_tokens: int = PROBE_TOKENS) -> tuple[bool, list[Exchange]]:
    """Does the same seeded request give the same text twice? Differential probes need it."""

    async def make() -> tuple[bool, list[Exchange]]:
        body = probe_body(ctx, max_tokens=max_tokens)
        first, again = await asyncio.gather(ctx.send(body), ctx.send(body, fresh=True))
        same = first.ok and again.ok and first.content() == again.content()
        return same, [first, again]

    return await shared(ctx, f"reproducible:{max_tokens}", make)


def record(
    ctx: CheckContext,
    check: str,
    param: str,
    verdict: Verdict,
    detail: str,
    exchanges: list[Exchange],
    label: str = "",
    value: Any = None,
    note: str = "",
) -> Record:
    return Record(
        provider=ctx.provider,
        surface=ctx.surface.name,
        case_id=f"{check}.{param}{'.' + label if label else ''}",
        param=param,
        check=check,
        verdict=verdict,
        detail=detail,
        evidence=evidence(exchanges, ctx.surface, ctx.base_url, ctx.api_key_env, note),
        label=label,
        value=value,
        requests=sum(e.attempts for e in exchanges),
        completion_tokens=completion_tokens(exchanges),
    )


def refusal(exchanges: list[Exchange], provider: str) -> tuple[Verdict, str] | None:
    """The first exchange that did not succeed decides: a probe only sends documented-valid values."""
    for exchange in exchanges:
        fixed = outcome_verdict(exchange, provider)
        if fixed is not None:
            return fixed
        if exchange.client_error:
            return (
                Verdict.OVER_STRICT,
                f"HTTP {exchange.status} for a documented-valid probe: {exchange.excerpt(160)}",
            )
    return None


def quote(text: str | None, limit: int = 60) -> str:
    if text is None:
        return "(no content)"
    return repr(text if len(text) <= limit else text[:limit] + "...")


async def sampling_effect(ctx: CheckContext, check: str, param: str, value: Any = None) -> Record:
    """Prove ``param`` works by its effect (see ``EFFECTS``), or say why that is not proven.

    ``value`` replaces the probe's own value (a config's exact value): it can only be judged
    by a differential probe, since only the probe's values are known to be greedy-equivalent.
    """
    effect = EFFECTS[param]
    if value is not None and value != effect.value:
        effect = Effect(value, greedy=False, max_tokens=effect.max_tokens)
    tokens, shown = effect.max_tokens, f"{param}={effect.value}"

    def verdict(kind: Verdict, detail: str, sent: list[Exchange]) -> Record:
        return record(ctx, check, param, kind, detail, sent, "effect", effect.value)

    async def greedy_equivalence() -> Record:
        # The value must make sampling equal temperature-0 decoding, whatever the seed.
        sent = list(
            await asyncio.gather(
                ctx.send(probe_body(ctx, max_tokens=tokens)),
                ctx.send(probe_body(ctx, max_tokens=tokens, temperature=0.0)),
                *(
                    ctx.send(probe_body(ctx, max_tokens=tokens, seed=s, **{param: effect.value}))
                    for s in (PROBE_SEED, OTHER_SEEDS[0])
                ),
            )
        )
        failed = refusal(sent, ctx.provider)
        if failed:
            return verdict(*failed, sent)
        base, greedy, first, second = (e.content() for e in sent)
        if first == second == greedy and base != greedy:
            return verdict(
                Verdict.HONOURED,
                f"{shown} equals greedy decoding under two seeds ({quote(greedy)}), "
                "and differs from sampling without it",
                sent,
            )
        # For temperature itself the greedy reference *is* the probe: equal to the
        # temperature-1 output means temperature had no effect at all.
        if first == base and (param == "temperature" or base != greedy):
            return verdict(Verdict.IGNORED, f"{shown} left the seeded output unchanged ({quote(first)})", sent)
        if first == base:
            return verdict(
                Verdict.INCONCLUSIVE,
                "sampling at temperature 1 already equals greedy decoding: no room for an effect",
                sent,
            )
        return verdict(
            Verdict.INCONCLUSIVE,
            f"{shown} changes the output but not to greedy decoding (seed "
            f"{PROBE_SEED}: {quote(first)}, seed {OTHER_SEEDS[0]}: {quote(second)}, greedy: {quote(greedy)})",
            sent,
        )

    async def differential() -> Record:
        # The value must change the seeded output (and the seed must reproduce it).
        stable, repeats = await reproducible(ctx, tokens)
        probe = await ctx.send(probe_body(ctx, max_tokens=tokens, **{param: effect.value}))
        sent = [*repeats, probe]
        failed = refusal(sent, ctx.provider)
        if failed:
            return verdict(*failed, sent)
        before, after = repeats[0].content(), probe.content()
        if not stable:
            return verdict(
                Verdict.INCONCLUSIVE,
                f"the same seed gave different outputs ({quote(before)} vs "
                f"{quote(repeats[1].content())}), so a differential probe cannot decide",
                sent,
            )
        if after != before:
            return verdict(
                Verdict.HONOURED, f"{shown} changed the seeded output: {quote(before)} -> {quote(after)}", sent
            )
        return verdict(Verdict.IGNORED, f"{shown} left the seeded output unchanged ({quote(after)})", sent)

    make = greedy_equivalence if effect.greedy else differential
    return await shared(ctx, f"effect:{param}:{effect.value!r}", make)
