"""The proof of a sampling parameter, chosen once per run from the provider's measured
profile: seeded outputs where the seed reproduces, else the seed-free plans. This is the one
place the choice is made; a third way to prove effects is one more class with these methods.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from harness.checks.context import CheckContext
from harness.checks.cost import Ceiling, sends
from harness.checks.findings import Finding
from harness.checks.judges.outcome import is_validation_refusal
from harness.checks.judges.profile import Profile
from harness.checks.judges.ranges import judge_unknown_key
from harness.checks.judges.shapes import Pair
from harness.checks.plans.common import EFFECTS, Effect, probe_body, profile_cost, provider_profile
from harness.checks.plans.seeded import SeededProof
from harness.checks.plans.seedfree import SeedFreeProof
from harness.results import Verdict


class Proof(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def profile(self) -> Profile: ...

    def reproducible(self) -> dict[str, Any]:
        """probe_body() arguments for a request whose output must reproduce."""
        ...

    async def effect(self, ctx: CheckContext, param: str, effect: Effect) -> Finding:
        """Does ``param`` at ``effect.value`` do what ``effect`` says it must?"""
        ...

    async def default(
        self, ctx: CheckContext, param: str, documented: Any, alternatives: list[Any], tokens: int, model: Any = None
    ) -> Finding:
        """Does omitting ``param`` behave like ``documented``, and unlike ``alternatives``?
        ``model``: the served model's own value (one of ``alternatives``), named when applied."""
        ...

    def effect_cost(self, ctx: CheckContext, param: str, effect: Effect) -> Ceiling:
        """The most ``effect`` can send (``checks.cost``)."""
        ...

    def default_cost(
        self, ctx: CheckContext, param: str, documented: Any, alternatives: list[Any], tokens: int
    ) -> Ceiling:
        """The most ``default`` can send."""
        ...


def proof_of(profile: Profile) -> Proof:
    """The proof a profile gives: the one place the choice is made."""
    return SeedFreeProof(profile) if profile.seed_free else SeededProof(profile)


async def proof_for(ctx: CheckContext) -> Proof:
    """The run's proof, from the provider's profile (measured once per run)."""
    return proof_of(await provider_profile(ctx))


def proof_cost(ctx: CheckContext, profile: Profile) -> tuple[Proof, Ceiling]:
    """The proof ``profile`` gives and what measuring the profile sends (once per run)."""
    return proof_of(profile), profile_cost(ctx)


def reproducible_cost(ctx: CheckContext, profile: Profile, *bodies: dict[str, Any]) -> Ceiling:
    """``bodies`` (built with ``reproducible_args``) and the profile's measurement."""
    return profile_cost(ctx) + sends(ctx.context_tokens, *bodies)


def reproducible_args(profile: Profile) -> dict[str, Any]:
    return proof_of(profile).reproducible()


async def reproducible(ctx: CheckContext) -> dict[str, Any]:
    """probe_body() arguments for a request whose output must reproduce under this run's proof."""
    return (await proof_for(ctx)).reproducible()


async def sampling_effect(ctx: CheckContext, param: str, value: Any = None) -> Finding:
    """Prove ``param`` works by its effect (see ``EFFECTS``), or say why that is not proven.

    ``value`` replaces the probe's own value (a config's exact value): it can only be judged
    by a differential probe, since only the probe's values are known to be greedy-equivalent.
    """
    effect = EFFECTS[param]
    if value is not None and value != effect.value:
        # A config's own value: only a differential probe can judge it, against the neutral
        # value where the parameter has one, else against an inert change.
        effect = Effect(value, greedy=False, max_tokens=effect.max_tokens, neutral=effect.neutral)
    tokens = effect.max_tokens

    async def judged() -> Finding:
        result = await (await proof_for(ctx)).effect(ctx, param, effect)
        if param in ctx.surface.parameters or result.judgement.verdict is not Verdict.OVER_STRICT:
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
        judgement = judge_unknown_key(Pair(base=plain, probe=keyed), ctx.surface.unknown_keys, statuses)
        return Finding(judgement, [plain, keyed], effect.value)

    return await ctx.shared.effects.get((param, repr(effect.value)), judged)


def sampling_effect_cost(ctx: CheckContext, param: str, profile: Profile, value: Any = None) -> Ceiling:
    """The most ``sampling_effect`` can send under ``profile``."""
    effect = EFFECTS[param]
    if value is not None and value != effect.value:
        effect = Effect(value, greedy=False, max_tokens=effect.max_tokens, neutral=effect.neutral)
    proof, cost = proof_cost(ctx, profile)
    cost += proof.effect_cost(ctx, param, effect)
    if param not in ctx.surface.parameters:
        tokens = effect.max_tokens
        keyed = probe_body(ctx, max_tokens=tokens, **{param: effect.value})
        cost += sends(ctx.context_tokens, keyed, probe_body(ctx, max_tokens=tokens))
    return cost
