"""What every probe plan shares: the probe request (seeded, sampled at temperature 1), the
table of effects that show a sampling parameter working, whether the surface documents a
value, and the provider's profile, measured once per run before any sampling probe chooses its
proof."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final

from jsonschema import Draft202012Validator

from harness.checks.context import CheckContext
from harness.checks.cost import Ceiling, fresh, sends, shared
from harness.checks.judges.profile import ProbeMode, Profile, decide_profile
from harness.generation.matrix import base_body

PROBE_SEED: Final = 1234
OTHER_SEEDS: Final = (4321, 9876)
PROBE_TOKENS: Final = 16
INERT_EXTRA_TOKENS: Final = 8  # an inert change: a longer output must extend the shorter one
OMIT: Final = object()  # a probe_body() value meaning "leave this key out"
PROFILE_REPEATS: Final = 3


@dataclass(frozen=True)
class Effect:
    """How to see a sampling parameter work: the value to send and what it must do.

    ``neutral`` is the value at which the parameter does nothing: a differential probe's
    control (sending it must leave the output unchanged)."""

    value: Any
    greedy: bool  # True: must equal greedy decoding across seeds; False: must change the output
    max_tokens: int = PROBE_TOKENS
    neutral: Any = None


# Values chosen to be documented as valid on every surface that has the parameter, and to
# change any sampled text. (DRY is left out: it only acts once a sequence repeats, which a
# short probe cannot guarantee, so "no change" would not mean "ignored".)
EFFECTS: dict[str, Effect] = {
    "temperature": Effect(0.0, greedy=True),
    "top_p": Effect(0.001, greedy=True),
    "top_k": Effect(1, greedy=True),
    "min_p": Effect(1.0, greedy=True),
    "top_a": Effect(1.0, greedy=False, neutral=0.0),
    "typical_p": Effect(0.05, greedy=False, neutral=1.0),
    "frequency_penalty": Effect(2.0, greedy=False, max_tokens=32, neutral=0.0),
    "presence_penalty": Effect(2.0, greedy=False, max_tokens=32, neutral=0.0),
    "repetition_penalty": Effect(2.0, greedy=False, max_tokens=32, neutral=1.0),
    "repeat_penalty": Effect(2.0, greedy=False, max_tokens=32, neutral=1.0),
    "dynatemp_range": Effect(1.0, greedy=False, neutral=0.0),
    "xtc_probability": Effect(1.0, greedy=False, neutral=0.0),
    "mirostat": Effect(2, greedy=False, neutral=0),
}

# Parameters whose documented default is also the value at which they do nothing: sending one
# changes the request's parameter set but must not change a real sampler's output.
NEUTRAL_KEYS = ("presence_penalty", "frequency_penalty", "repeat_penalty", "repetition_penalty")


def probe_body(
    ctx: CheckContext,
    *,
    max_tokens: Any = PROBE_TOKENS,
    seed: Any = PROBE_SEED,
    temperature: Any = 1.0,
    **params: Any,
) -> dict[str, Any]:
    """The probe request: seeded, sampled at temperature 1 (so sampling parameters matter).
    Where the provider is never to be sent a seed, no probe carries one."""
    if not ctx.send_seed:
        seed = OMIT
    body = base_body(ctx.model)
    for key, value in {"max_tokens": max_tokens, "seed": seed, "temperature": temperature, **params}.items():
        if value is OMIT:
            body.pop(key, None)
        else:
            body[key] = value
    return body


# A short greedy prompt whose length grows by a known increment: the context check measures
# prompt tokens with it, and the template check compares them (one request shared).
INCREMENT: Final = " one two three four"  # words every tokenizer splits the same way each time
SHORT_PREFIX: Final = "Say the last word of this list:"
SHORT_COPIES: Final = 8


def short_prompt_body(
    ctx: CheckContext, copies: int = SHORT_COPIES, max_tokens: int = 1, **params: Any
) -> dict[str, Any]:
    """The prompt ``SHORT_PREFIX`` and ``copies`` increments, greedy, unseeded, one token."""
    body = probe_body(ctx, max_tokens=max_tokens, temperature=0.0, seed=OMIT, **params)
    body["messages"] = [{"role": "user", "content": SHORT_PREFIX + INCREMENT * copies}]
    return body


def documents(ctx: CheckContext, param: str, value: Any) -> bool:
    """Is ``value`` documented as valid for ``param`` on this surface (so a probe may send it)?"""
    spec = ctx.surface.parameters.get(param)
    if spec is None:
        return False
    return not list(Draft202012Validator(spec.schema).iter_errors(value))


def neutral_key(ctx: CheckContext) -> tuple[str, Any] | None:
    """A documented parameter to send at its neutral documented default, or None."""
    for name in NEUTRAL_KEYS:
        spec = ctx.surface.parameters.get(name)
        neutral = EFFECTS[name].neutral
        if spec is not None and spec.has_default and spec.default == neutral and documents(ctx, name, neutral):
            return name, neutral
    return None


async def provider_profile(ctx: CheckContext) -> Profile:
    """Measured once per run, before any sampling probe chooses its proof: does one seeded
    request reproduce, and does greedy decoding without a seed (``judges.profile``)?"""

    async def make() -> Profile:
        seeded_body = probe_body(ctx)
        greedy_body = probe_body(ctx, seed=OMIT, temperature=0.0)
        repeats = range(PROFILE_REPEATS - 1)
        seeded = [ctx.send(seeded_body), *(ctx.send(seeded_body, fresh=True) for _ in repeats)] if ctx.send_seed else []
        greedy = [ctx.send(greedy_body), *(ctx.send(greedy_body, fresh=True) for _ in repeats)]
        sent = await asyncio.gather(*seeded, *greedy)
        forced: ProbeMode = "auto"
        if ctx.probe_mode == "seeded":
            forced = "seeded"
        elif ctx.probe_mode == "seed-free":
            forced = "seed-free"
        return decide_profile(sent[: len(seeded)], sent[len(seeded) :], forced)

    return await ctx.shared.profile.get(None, make)


def profile_cost(ctx: CheckContext) -> Ceiling:
    """What ``provider_profile`` sends, once per run: part of every probe that asks for the proof."""
    seeded_body = probe_body(ctx)
    greedy_body = probe_body(ctx, seed=OMIT, temperature=0.0)
    repeats = PROFILE_REPEATS - 1
    tokens = ctx.context_tokens
    seeded = sends(tokens, seeded_body) + fresh(tokens, seeded_body, repeats) if ctx.send_seed else Ceiling()
    return shared("profile", seeded + sends(tokens, greedy_body) + fresh(tokens, greedy_body, repeats))


def candidate_profiles(ctx: CheckContext) -> list[Profile]:
    """The profiles a run of this column can measure (``provider_profile``): each gives its
    probes another plan, so a ceiling holds under each."""
    seeded = Profile("seeded", True, True, "planned")
    free = [Profile("seed-free", None, True, "planned"), Profile("seed-free", None, False, "planned")]
    if ctx.probe_mode == "seeded":
        return [seeded]
    if ctx.probe_mode == "seed-free" or not ctx.send_seed:
        return free
    return [seeded, *free]


def measured_profile(ctx: CheckContext) -> Profile | None:
    """The run's profile where it was measured already."""
    return ctx.shared.profile.done(None)
