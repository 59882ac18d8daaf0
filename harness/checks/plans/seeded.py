"""The seeded proof, for providers whose seed reproduces: one output per request, each judged
against the same request without the value.

- Differential: the value changes the seeded output, its neutral value does not, beside the
  shared baseline's controls (``judges.sampling.Baseline``).
- Greedy equivalence: the value makes sampling equal temperature-0 decoding, whatever the seed.
- Defaults: probe configurations (seed, length, temperature) are searched until one tells the
  documented default apart from every alternative.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

from harness.checks.context import CheckContext
from harness.checks.cost import Ceiling, fresh, prompt_bound, sends, shared, unkeyed
from harness.checks.findings import Finding
from harness.checks.judges import text_of
from harness.checks.judges.profile import Profile
from harness.checks.judges.sampling import (
    Baseline,
    DefaultSearch,
    DefaultTrial,
    Differential,
    GreedyProbe,
    judge_default,
    judge_differential,
    judge_greedy,
    undecided_alternatives,
)
from harness.checks.plans.common import (
    INERT_EXTRA_TOKENS,
    OMIT,
    OTHER_SEEDS,
    PROBE_SEED,
    PROBE_TOKENS,
    Effect,
    documents,
    neutral_key,
    probe_body,
)


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
        return Baseline(
            base=base,
            again=again,
            longer=longer,
            other_seed=other,
            neutral_key=with_key[0] if with_key else None,
            neutral_key_name=shown,
        )

    return await ctx.shared.baselines.get(max_tokens, make)


def baseline_cost(ctx: CheckContext, max_tokens: int = PROBE_TOKENS) -> Ceiling:
    """What ``baseline`` sends, once per run and length."""
    body = probe_body(ctx, max_tokens=max_tokens)
    key = neutral_key(ctx)
    extra = [probe_body(ctx, max_tokens=max_tokens, **{key[0]: key[1]})] if key else []
    bodies = [
        body,
        probe_body(ctx, max_tokens=max_tokens + INERT_EXTRA_TOKENS),
        probe_body(ctx, max_tokens=max_tokens, seed=OTHER_SEEDS[0]),
        *extra,
    ]
    return shared(f"baseline {max_tokens}", sends(ctx.context_tokens, *bodies) + fresh(ctx.context_tokens, body, 1))


def greedy_equivalence_cost(ctx: CheckContext, param: str, effect: Effect) -> Ceiling:
    tokens = effect.max_tokens
    seeds = (PROBE_SEED, OTHER_SEEDS[0])
    return sends(
        ctx.context_tokens,
        probe_body(ctx, max_tokens=tokens, temperature=0.0),
        probe_body(ctx, max_tokens=tokens + INERT_EXTRA_TOKENS, temperature=0.0),
        *(probe_body(ctx, max_tokens=tokens, seed=s) for s in seeds),
        *(probe_body(ctx, max_tokens=tokens, seed=s, **{param: effect.value}) for s in seeds),
    )


def differential_cost(ctx: CheckContext, param: str, effect: Effect) -> Ceiling:
    tokens = effect.max_tokens
    neutral = effect.neutral
    if neutral is not None and param in ctx.surface.parameters and not documents(ctx, param, neutral):
        neutral = None
    control = [probe_body(ctx, max_tokens=tokens, **{param: neutral})] if neutral is not None else []
    probe = probe_body(ctx, max_tokens=tokens, **{param: effect.value})
    return baseline_cost(ctx, tokens) + sends(ctx.context_tokens, probe, *control)


def default_cost(ctx: CheckContext, param: str, documented: Any, alternatives: list[Any], tokens: int) -> Ceiling:
    """Every configuration tried with every alternative (none decided early), and one inert
    control: it is sent only on a trial that settles the search, so at most once."""
    cost = baseline_cost(ctx, tokens)
    inert = 0
    for c in probe_configs(ctx, param, tokens):
        temperature = OMIT if c.temperature is None else c.temperature
        extra = {} if param == "temperature" else {"temperature": temperature}

        def body(value: Any, max_tokens: int, config: ProbeConfig = c, more: dict[str, Any] = extra) -> dict[str, Any]:
            return probe_body(ctx, max_tokens=max_tokens, seed=config.seed, **more, **{param: value})

        values = [OMIT, documented, *alternatives]
        cost += sends(ctx.context_tokens, *(body(v, c.max_tokens) for v in values))
        inert = max(inert, c.max_tokens + INERT_EXTRA_TOKENS)
    longest = probe_body(ctx, max_tokens=inert, **{param: documented})
    return cost + unkeyed(1, inert, prompt_bound(longest))


async def greedy_equivalence(ctx: CheckContext, param: str, effect: Effect) -> Finding:
    tokens = effect.max_tokens
    seeds = (PROBE_SEED, OTHER_SEEDS[0])
    greedy, greedy_longer, *rest = await asyncio.gather(
        ctx.send(probe_body(ctx, max_tokens=tokens, temperature=0.0)),
        ctx.send(probe_body(ctx, max_tokens=tokens + INERT_EXTRA_TOKENS, temperature=0.0)),
        *(ctx.send(probe_body(ctx, max_tokens=tokens, seed=s)) for s in seeds),
        *(ctx.send(probe_body(ctx, max_tokens=tokens, seed=s, **{param: effect.value})) for s in seeds),
    )
    sampled, seeded = rest[: len(seeds)], rest[len(seeds) :]
    probe = GreedyProbe(greedy=greedy, greedy_longer=greedy_longer, sampled=sampled, seeded=seeded, seeds=seeds)
    judgement = judge_greedy(probe, param, effect.value)
    return Finding(judgement, [greedy, greedy_longer, *sampled, *seeded], effect.value, mode="seeded")


async def differential(ctx: CheckContext, param: str, effect: Effect) -> Finding:
    tokens = effect.max_tokens
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
    differential = Differential(baseline=shared_baseline, probe=probe, control=control)
    judgement = judge_differential(differential, param, effect.value, neutral)
    sent = [*shared_baseline.sent(), *([control] if control else []), probe]
    return Finding(judgement, sent, effect.value, mode="seeded")


@dataclass(frozen=True)
class ProbeConfig:
    temperature: float | None  # None: the parameter under test is temperature itself
    seed: int
    max_tokens: int

    @property
    def label(self) -> str:
        shown = "" if self.temperature is None else f"temperature {self.temperature:g}, "
        return f"{shown}seed {self.seed}, {self.max_tokens} tokens"


def probe_configs(ctx: CheckContext, param: str, tokens: int) -> list[ProbeConfig]:
    """The base probe first, then configurations more likely to separate close values: other
    seeds, longer outputs, and flatter distributions (truncation parameters act more there)."""
    if param == "temperature":
        return [
            ProbeConfig(None, PROBE_SEED, tokens),
            ProbeConfig(None, OTHER_SEEDS[0], tokens * 2),
            ProbeConfig(None, OTHER_SEEDS[1], tokens * 2),
        ]
    configs = [ProbeConfig(1.0, PROBE_SEED, tokens), ProbeConfig(1.0, OTHER_SEEDS[0], tokens * 2)]
    for temperature, seed in ((1.5, OTHER_SEEDS[1]), (2.0, PROBE_SEED)):
        if documents(ctx, "temperature", temperature):
            configs.append(ProbeConfig(temperature, seed, tokens * 2))
    return configs


async def _trial(
    ctx: CheckContext, param: str, documented: Any, alternatives: list[Any], c: ProbeConfig
) -> DefaultTrial:
    def body(value: Any, max_tokens: int = c.max_tokens) -> dict[str, Any]:
        temperature = OMIT if c.temperature is None else c.temperature
        extra = {} if param == "temperature" else {"temperature": temperature}
        return probe_body(ctx, max_tokens=max_tokens, seed=c.seed, **extra, **{param: value})

    omitted, explicit, *others = await asyncio.gather(
        ctx.send(body(OMIT)), ctx.send(body(documented)), *(ctx.send(body(a)) for a in alternatives)
    )
    trial = DefaultTrial(
        label=c.label,
        omitted=omitted,
        documented=explicit,
        alternatives={repr(a): e for a, e in zip(alternatives, others, strict=True)},
    )
    if text_of(omitted) != text_of(explicit) and not any(text_of(e) == text_of(omitted) for e in others):
        # The inert control, sent only when it can matter: does any change of the request
        # change this provider's output, or only the parameter?
        trial.inert = await ctx.send(body(OMIT, c.max_tokens + INERT_EXTRA_TOKENS))
    return trial


def _settled(trials: list[DefaultTrial]) -> bool:
    """Another configuration can only help while omitted equals documented everywhere and
    some alternative is still indistinguishable from the documented default."""
    last = trials[-1]
    same = text_of(last.omitted) is not None and text_of(last.omitted) == text_of(last.documented)
    return not same or not undecided_alternatives(trials)


@dataclass(frozen=True)
class SeededProof:
    """Seeded outputs: one output per request, the cheapest proof."""

    profile: Profile
    name: Literal["seeded"] = "seeded"

    def reproducible(self) -> dict[str, Any]:
        """probe_body() arguments for a request whose output must reproduce: as it is."""
        return {}

    async def effect(self, ctx: CheckContext, param: str, effect: Effect) -> Finding:
        return await (greedy_equivalence if effect.greedy else differential)(ctx, param, effect)

    def effect_cost(self, ctx: CheckContext, param: str, effect: Effect) -> Ceiling:
        return (greedy_equivalence_cost if effect.greedy else differential_cost)(ctx, param, effect)

    def default_cost(
        self, ctx: CheckContext, param: str, documented: Any, alternatives: list[Any], tokens: int
    ) -> Ceiling:
        return default_cost(ctx, param, documented, alternatives, tokens)

    async def default(
        self, ctx: CheckContext, param: str, documented: Any, alternatives: list[Any], tokens: int, model: Any = None
    ) -> Finding:
        shared_baseline = await baseline(ctx, tokens)
        trials: list[DefaultTrial] = []
        for config in probe_configs(ctx, param, tokens):
            undecided = set(undecided_alternatives(trials)) if trials else {repr(a) for a in alternatives}
            pending = [a for a in alternatives if repr(a) in undecided]
            trials.append(await _trial(ctx, param, documented, pending, config))
            if shared_baseline.text != text_of(shared_baseline.again) or _settled(trials):
                break
        search = DefaultSearch(baseline=shared_baseline, trials=trials)
        judgement = judge_default(search, param, documented, model)
        sent = [*shared_baseline.sent(), *search.exchanges()]
        return Finding(judgement, sent, documented, mode="seeded")
