"""Shared probe plans: cheap probe requests under a fixed seed, baselines shared by every
check (sent once per run thanks to the engine's de-duplication), and the plans of the two
ways to prove a sampling parameter: a differential probe (the value changes the output, its
neutral value does not) and a greedy-equivalence probe (the value makes sampling equal
temperature-0 decoding, whatever the seed). Plans only send; ``harness.checks.judges``
decides what the answers prove.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from jsonschema import Draft202012Validator

from harness.checks.evidence import completion_tokens, evidence
from harness.checks.judges import Judgement
from harness.checks.judges.outcome import is_validation_refusal
from harness.checks.judges.profile import Profile, decide_profile
from harness.checks.judges.ranges import judge_unknown_key
from harness.checks.judges.sampling import Baseline, judge_differential, judge_greedy
from harness.checks.registry import CheckContext
from harness.generation.matrix import base_body
from harness.results import Record, Verdict
from harness.transport import Exchange

PROBE_SEED: Final = 1234
OTHER_SEEDS: Final = (4321, 9876)
PROBE_TOKENS: Final = 16
INERT_EXTRA_TOKENS: Final = 8  # an inert change: a longer output must extend the shorter one
OMIT: Final = object()  # a probe_body() value meaning "leave this key out"

T = TypeVar("T")


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


def documents(ctx: CheckContext, param: str, value: Any) -> bool:
    """Is ``value`` documented as valid for ``param`` on this surface (so a probe may send it)?"""
    spec = ctx.surface.parameters.get(param)
    if spec is None:
        return False
    return not list(Draft202012Validator(spec.schema).iter_errors(value))


async def shared(ctx: CheckContext, key: str, make: Callable[[], Awaitable[T]]) -> T:
    """Compute ``make()`` once per run and provider, whichever unit asks first."""
    task = ctx.memo.get(key)
    if task is None:
        task = asyncio.ensure_future(make())
        ctx.memo[key] = task
    result: T = await task
    return result


PROFILE_REPEATS: Final = 3


async def reproducible(ctx: CheckContext) -> dict[str, Any]:
    """probe_body() arguments for a request whose output must reproduce: as it is where the
    seed reproduces; greedy decoding without a seed where it does not."""
    if (await provider_profile(ctx)).seed_free:
        return {"seed": OMIT, "temperature": 0.0}
    return {}


async def provider_profile(ctx: CheckContext) -> Profile:
    """Measured once per run, before any sampling probe chooses its mode: does one seeded
    request reproduce, and does greedy decoding without a seed (``judges.profile``)?"""

    async def make() -> Profile:
        seeded_body = probe_body(ctx)
        greedy_body = probe_body(ctx, seed=OMIT, temperature=0.0)
        repeats = range(PROFILE_REPEATS - 1)
        seeded = [ctx.send(seeded_body), *(ctx.send(seeded_body, fresh=True) for _ in repeats)] if ctx.send_seed else []
        greedy = [ctx.send(greedy_body), *(ctx.send(greedy_body, fresh=True) for _ in repeats)]
        sent = await asyncio.gather(*seeded, *greedy)
        forced = ctx.probe_mode if ctx.probe_mode in ("seeded", "seed-free") else "auto"
        return decide_profile(sent[: len(seeded)], sent[len(seeded) :], forced)  # type: ignore[arg-type]

    return await shared(ctx, "profile", make)


# Parameters whose documented default is also the value at which they do nothing: sending one
# changes the request's parameter set but must not change a real sampler's output.
NEUTRAL_KEYS = ("presence_penalty", "frequency_penalty", "repeat_penalty", "repetition_penalty")


def neutral_key(ctx: CheckContext) -> tuple[str, Any] | None:
    """A documented parameter to send at its neutral documented default, or None."""
    for name in NEUTRAL_KEYS:
        spec = ctx.surface.parameters.get(name)
        neutral = EFFECTS[name].neutral
        if spec is not None and spec.has_default and spec.default == neutral and documents(ctx, name, neutral):
            return name, neutral
    return None


async def baseline(ctx: CheckContext, max_tokens: int = PROBE_TOKENS) -> Baseline:
    """The seeded base request of one length with its controls, sent once per run and length:
    again (the seed reproduces), longer (an inert change only extends it), with a neutral key
    (a change of the parameter set alone changes nothing), another seed (sampling is on). See
    ``judges.sampling.Baseline``."""

    async def make() -> Baseline:
        body = probe_body(ctx, max_tokens=max_tokens)
        key = neutral_key(ctx)
        extra = [ctx.send(probe_body(ctx, max_tokens=max_tokens, **{key[0]: key[1]}))] if key else []
        base, again, longer, other, *with_key = await asyncio.gather(
            ctx.send(body),
            ctx.send(body, fresh=True),
            ctx.send(probe_body(ctx, max_tokens=max_tokens + INERT_EXTRA_TOKENS)),
            ctx.send(probe_body(ctx, max_tokens=max_tokens, seed=OTHER_SEEDS[0])),
            *extra,
        )
        shown = f"{key[0]}={key[1]!r}" if key else ""
        return Baseline(base, again, longer, other, with_key[0] if with_key else None, shown)

    return await shared(ctx, f"baseline:{max_tokens}", make)


def record(
    ctx: CheckContext,
    check: str,
    param: str,
    judgement: Judgement,
    exchanges: list[Exchange],
    label: str = "",
    value: Any = None,
    *,
    mode: str = "",
    spent: list[Exchange] | None = None,
    statistics: dict[str, Any] | None = None,
) -> Record:
    """``exchanges`` are shown as evidence; ``spent`` (default: the same) are counted as the
    requests and tokens the verdict cost (a statistical probe shows one request per arm and
    the statistic of every sample)."""
    data = evidence(exchanges, ctx.surface, ctx.base_url, ctx.api_key_env)
    if judgement.control:
        data["control"] = judgement.control
    if mode:
        data["mode"] = mode
    if statistics:
        data["statistics"] = statistics
    counted = exchanges if spent is None else spent
    return Record(
        provider=ctx.provider,
        surface=ctx.surface.name,
        case_id=f"{check}.{param}{'.' + label if label else ''}",
        param=param,
        check=check,
        verdict=judgement.verdict,
        detail=judgement.detail,
        evidence=data,
        label=label,
        value=value,
        requests=sum(e.attempts for e in counted),
        completion_tokens=completion_tokens(counted),
    )


async def sampling_effect(ctx: CheckContext, check: str, param: str, value: Any = None) -> Record:
    """Prove ``param`` works by its effect (see ``EFFECTS``), or say why that is not proven: by
    seeded outputs where the seed reproduces, else by ``harness.checks.seedfree``'s plans.

    ``value`` replaces the probe's own value (a config's exact value): it can only be judged
    by a differential probe, since only the probe's values are known to be greedy-equivalent.
    """
    effect = EFFECTS[param]
    if value is not None and value != effect.value:
        # A config's own value: only a differential probe can judge it, against the neutral
        # value where the parameter has one, else against an inert change.
        effect = Effect(value, greedy=False, max_tokens=effect.max_tokens, neutral=effect.neutral)
    tokens = effect.max_tokens

    async def greedy_equivalence() -> Record:
        seeds = (PROBE_SEED, OTHER_SEEDS[0])
        greedy, greedy_longer, *rest = await asyncio.gather(
            ctx.send(probe_body(ctx, max_tokens=tokens, temperature=0.0)),
            ctx.send(probe_body(ctx, max_tokens=tokens + INERT_EXTRA_TOKENS, temperature=0.0)),
            *(ctx.send(probe_body(ctx, max_tokens=tokens, seed=s)) for s in seeds),
            *(ctx.send(probe_body(ctx, max_tokens=tokens, seed=s, **{param: effect.value})) for s in seeds),
        )
        sampled, seeded = rest[: len(seeds)], rest[len(seeds) :]
        judgement = judge_greedy(param, effect.value, sampled, greedy, greedy_longer, seeded, seeds, ctx.provider)
        sent = [greedy, greedy_longer, *sampled, *seeded]
        return record(ctx, check, param, judgement, sent, "effect", effect.value, mode="seeded")

    async def differential() -> Record:
        shared_baseline = await baseline(ctx, tokens)
        neutral = effect.neutral
        # A documented parameter's neutral value must be documented too; an undocumented key
        # (OpenRouter's name sent to llama.cpp) is probed with its neutral value all the same.
        if neutral is not None and param in ctx.surface.parameters and not documents(ctx, param, neutral):
            neutral = None
        probe_request = ctx.send(probe_body(ctx, max_tokens=tokens, **{param: effect.value}))
        if neutral is None:
            probe, control = await probe_request, None
        else:
            probe, control = await asyncio.gather(
                probe_request, ctx.send(probe_body(ctx, max_tokens=tokens, **{param: neutral}))
            )
        judgement = judge_differential(param, effect.value, neutral, shared_baseline, control, probe, ctx.provider)
        sent = [*shared_baseline.exchanges(), *([control] if control else []), probe]
        return record(ctx, check, param, judgement, sent, "effect", effect.value, mode="seeded")

    async def judged() -> Record:
        if (await provider_profile(ctx)).seed_free:
            from harness.checks import seedfree

            result = await seedfree.effect(ctx, check, param, effect)
        else:
            result = await (greedy_equivalence if effect.greedy else differential)()
        if param in ctx.surface.parameters or result.verdict is not Verdict.OVER_STRICT:
            return result
        # A key this surface does not document (a config's extra_body) may have been refused:
        # that is the surface's unknown-keys policy at work, not a documented value refused.
        # The request carrying the key was sent already (the engine answers it again at no cost).
        keyed, plain = await asyncio.gather(
            ctx.send(probe_body(ctx, max_tokens=tokens, **{param: effect.value})),
            ctx.send(probe_body(ctx, max_tokens=tokens)),
        )
        if not is_validation_refusal(keyed, ctx.surface.refusal_statuses) or not plain.ok:
            return result
        statuses = ctx.surface.refusal_statuses
        judgement = judge_unknown_key(ctx.surface.unknown_keys, keyed, plain, ctx.provider, statuses)
        return record(ctx, check, param, judgement, [plain, keyed], "effect", effect.value)

    return await shared(ctx, f"effect:{param}:{effect.value!r}", judged)
