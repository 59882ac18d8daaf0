"""Probe plans for providers whose seed does not reproduce, or that are never sent one
(``judges.profile``). Nothing here sends a seed.

- Greedy decoding, where it reproduces: a penalty is sent with and without at temperature 0
  (the model's greedy output repeats, so a penalty must change it), with the same controls as
  the seeded baseline; a penalty's default is found the same way.
- Greedy equivalence (``temperature=0``, ``top_k=1``, ``min_p=1``, a tiny ``top_p``): every
  unseeded sample with the value must give the greedy text, unlike samples without it.
- Samples, for what only acts when sampling (``top_a``, ``typical_p``, ``mirostat``, the
  temperature's and the truncations' defaults): arms of unseeded samples, shared by every check
  of the run, grown in batches until a test decides (``judges.statistics``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final, Literal

from harness.checks.context import Arm, CheckContext
from harness.checks.cost import Ceiling, fresh, sends, shared
from harness.checks.cost import samples as arm_samples
from harness.checks.findings import Finding as ProbeFinding
from harness.checks.judges import Judgement, probe_failure
from harness.checks.judges.outcome import text_of
from harness.checks.judges.profile import Profile
from harness.checks.judges.sampled import (
    ArmComparison,
    SampledDefault,
    SampledEffect,
    SampledGreedy,
    judge_sampled_default,
    judge_sampled_effect,
    judge_sampled_greedy,
    samples_problem,
    statistic,
)
from harness.checks.judges.sampling import (
    Baseline,
    DefaultSearch,
    DefaultTrial,
    Differential,
    judge_default,
    judge_differential,
)
from harness.checks.judges.statistics import LOOKS, Finding, compare, compare_rates, futile
from harness.checks.plans.common import (
    EFFECTS,
    INERT_EXTRA_TOKENS,
    NEUTRAL_KEYS,
    OMIT,
    Effect,
    documents,
    neutral_key,
    probe_body,
)
from harness.generation import canonical_json
from harness.results import Verdict
from harness.transport import Exchange

# Samples are as short as the statistic allows: the tests are in standard deviations of the
# per-sample statistic, so an equivalence (most comparisons here) needs as many samples at any
# length, and a shorter sample costs fewer tokens; the mean regret of 16 tokens resolves an
# effect as small as the mean surprise of 32 tokens did (docs/checks.md, "Seed-free probes").
SAMPLE_TOKENS: Final = 16
# Except a default of these, which reshape the distribution at every token and must be told
# apart from the documented value, not only found equivalent: their samples are longer, so
# the difference grows in standard deviations and is decided within the cap.
LONG_SAMPLE_TOKENS: Final = 48
LONG_SAMPLES: Final = frozenset({"temperature", "min_p"})
PENALTIES: Final = frozenset(NEUTRAL_KEYS)  # act on greedy decoding: judged there


def sample_body(ctx: CheckContext, tokens: int = SAMPLE_TOKENS, **params: Any) -> dict[str, Any]:
    """One unseeded sample at temperature 1, with log-probabilities where documented (and one
    alternative per token: llama.cpp otherwise returns twenty, a hundred kilobytes a sample)."""
    extra: dict[str, Any] = {}
    if documents(ctx, "logprobs", True):
        extra["logprobs"] = True
        if documents(ctx, "top_logprobs", 1):
            extra["top_logprobs"] = 1
    return probe_body(ctx, max_tokens=tokens, seed=OMIT, **extra, **params)


def greedy_body(ctx: CheckContext, max_tokens: int, **params: Any) -> dict[str, Any]:
    return probe_body(ctx, max_tokens=max_tokens, seed=OMIT, temperature=0.0, **params)


def arm(ctx: CheckContext, body: dict[str, Any]) -> Arm:
    key = canonical_json(body)
    found = ctx.shared.arms.get(key)
    if found is None:
        found = ctx.shared.arms[key] = Arm(ctx.send, body)
    return found


@dataclass(frozen=True)
class Unusable:
    """Samples that cannot be compared, the reason, and the samples themselves (the evidence)."""

    judgement: Judgement
    exchanges: list[Exchange]


async def look(
    ctx: CheckContext, a: dict[str, Any], b: dict[str, Any], a_name: str, b_name: str, n: int, futility: bool = False
) -> ArmComparison | Unusable:
    """One look at two arms: ``n`` samples of each, compared; with ``futility``, marked where
    undecided and a difference by the cap is out of reach."""
    first, second = await asyncio.gather(arm(ctx, a).take(n), arm(ctx, b).take(n))
    problem = samples_problem(first, [second])
    found = statistic([first, second])
    if problem or found is None:
        why = problem or Judgement(Verdict.INCONCLUSIVE, "some samples have neither log-probabilities nor text")
        return Unusable(why, [*first, *second])
    name, (values_a, values_b) = found
    comparison = compare(values_a, values_b, recall=ctx.recall)
    stopped = futility and comparison.finding is Finding.UNDECIDED and futile(values_a, values_b, ctx.recall)
    return ArmComparison(name, comparison, first, second, a_name, b_name, futile=stopped)


async def sequential(
    ctx: CheckContext,
    a: dict[str, Any],
    b: dict[str, Any],
    a_name: str,
    b_name: str,
    up_to: int | None = None,
    futility: bool = False,
) -> ArmComparison | Unusable:
    """Compare two arms at each look until the test decides (or ``up_to`` samples, at most
    the cap); with ``futility``, also until a difference is out of reach (where no other
    finding could change the verdict)."""
    result: ArmComparison | None = None
    for n in LOOKS:
        if up_to is not None and n > up_to and result is not None:
            break
        found = await look(ctx, a, b, a_name, b_name, n, futility)
        if isinstance(found, Unusable):
            return found
        result = found
        if result.finding is not Finding.UNDECIDED or result.futile:
            break
    assert result is not None
    return result


def _statistics(*comparisons: ArmComparison | None) -> dict[str, Any]:
    """The evidence of a statistical probe: per arm, every sample's statistic and text."""
    shown: dict[str, Any] = {"tests": []}
    arms: dict[str, Any] = {}
    for c in comparisons:
        if c is None:
            continue
        found = statistic([c.a, c.b])
        values = found[1] if found else [[], []]
        for name, samples, stat in ((c.a_name, c.a, values[0]), (c.b_name, c.b, values[1])):
            arms[name] = {
                "requests": len(samples),
                "statistic": [round(v, 4) for v in stat],
                "texts": [(text_of(e) or "")[:60] for e in samples],
            }
        shown["statistic"] = c.statistic
        shown["tests"].append(
            {
                "arms": [c.a_name, c.b_name],
                "finding": c.finding.value,
                "means": [round(c.comparison.mean_a, 4), round(c.comparison.mean_b, 4)],
                "p_difference": c.comparison.p_difference,
                "p_equivalence": c.comparison.p_equivalence,
                "alpha_per_look": c.comparison.alpha,
                "power": round(c.comparison.power, 3),
                "stopped_for_futility": c.futile,
            }
        )
    shown["arms"] = arms
    return shown


def _spent(*comparisons: ArmComparison | None) -> list[Exchange]:
    seen: dict[int, Exchange] = {}
    for c in comparisons:
        if c is not None:
            for e in [*c.a, *c.b]:
                seen[id(e)] = e
    return list(seen.values())


def _shown(*comparisons: ArmComparison | None) -> list[Exchange]:
    """One request of each arm: the reproducers (the statistic of every sample is listed)."""
    first: dict[str, Exchange] = {}
    for c in comparisons:
        if c is not None:
            first.setdefault(c.a_name, c.a[0])
            first.setdefault(c.b_name, c.b[0])
    return list(first.values())


async def _neutral(ctx: CheckContext, base: dict[str, Any], n: int, label: str) -> ArmComparison | None:
    """The parameter-set control at up to ``n`` samples: the base arm with a parameter at its
    neutral default (None where the surface documents none). Only a difference refutes, so
    it stops once a difference is out of reach (futility), as well as when it decides."""
    key = neutral_key(ctx)
    if key is None:
        return None
    with_key = {**base, key[0]: key[1]}
    found = await sequential(ctx, base, with_key, label, f"{key[0]}={key[1]!r}", up_to=n, futility=True)
    return found if isinstance(found, ArmComparison) else None  # its failures show in the arm's own probe


async def greedy_baseline(ctx: CheckContext, param: str, tokens: int) -> Baseline:
    """The seed-free counterpart of ``seeded.baseline`` for a penalty: greedy decoding sent
    twice, longer, with a neutral key, and with *another* penalty (which must change it, or an
    ignored penalty could not be seen)."""
    sibling = next((n for n in NEUTRAL_KEYS if n != param and documents(ctx, n, EFFECTS[n].value)), None)

    async def make() -> Baseline:
        body = greedy_body(ctx, tokens)
        key = neutral_key(ctx)
        key = key if key and key[0] != param else None
        optional = [
            ctx.send(greedy_body(ctx, tokens, **{sibling: EFFECTS[sibling].value})) if sibling else None,
            ctx.send(greedy_body(ctx, tokens, **{key[0]: key[1]})) if key else None,
        ]
        base, again, longer, *extra = await asyncio.gather(
            ctx.send(body),
            ctx.send(body, fresh=True),
            ctx.send(greedy_body(ctx, tokens + INERT_EXTRA_TOKENS)),
            *(o for o in optional if o is not None),
        )
        other = extra.pop(0) if sibling else None
        with_key = extra.pop(0) if key else None
        variation = f"{sibling}={EFFECTS[sibling].value!r} (another penalty)" if sibling else "another penalty"
        shown = f"{key[0]}={key[1]!r}" if key else ""
        return Baseline(
            base=base,
            again=again,
            longer=longer,
            other_seed=other,
            neutral_key=with_key,
            neutral_key_name=shown,
            variation=variation,
            kind="greedy",
        )

    return await ctx.shared.greedy_baselines.get((param, tokens), make)


async def _greedy_differential(ctx: CheckContext, param: str, effect: Effect) -> ProbeFinding:
    tokens = effect.max_tokens
    baseline = await greedy_baseline(ctx, param, tokens)
    neutral = effect.neutral if effect.neutral is not None and documents(ctx, param, effect.neutral) else None
    if param not in ctx.surface.parameters:
        neutral = effect.neutral
    sends = [ctx.send(greedy_body(ctx, tokens, **{param: effect.value}))]
    if neutral is not None:
        sends.append(ctx.send(greedy_body(ctx, tokens, **{param: neutral})))
    probe, *control = await asyncio.gather(*sends)
    differential = Differential(baseline=baseline, probe=probe, control=control[0] if control else None)
    judgement = judge_differential(differential, param, effect.value, neutral)
    sent = [*baseline.sent(), *control, probe]
    return ProbeFinding(judgement, sent, effect.value, mode="greedy")


async def _greedy_equivalence(ctx: CheckContext, profile: Profile, param: str, effect: Effect) -> ProbeFinding:
    greedy = await ctx.send(greedy_body(ctx, SAMPLE_TOKENS))
    base = sample_body(ctx)
    probe = sample_body(ctx, **{param: effect.value})
    if not profile.greedy_reproduces:
        judgement = probe_failure([greedy]) or Judgement(
            Verdict.INCONCLUSIVE,
            f"{param}={effect.value!r} must make sampling equal greedy decoding, but greedy decoding does not "
            f"reproduce here ({profile.describe()}), so there is no greedy output to compare with",
        )
        return ProbeFinding(judgement, [greedy], effect.value, mode="statistical")
    rates, result = None, None
    for n in LOOKS:
        without, with_value = await asyncio.gather(arm(ctx, base).take(n), arm(ctx, probe).take(n))
        problem = samples_problem(without, [with_value, [greedy]])
        if problem:
            return ProbeFinding(problem, [greedy, without[0], with_value[0]], effect.value)
        target = text_of(greedy)
        hits = sum(text_of(e) == target for e in with_value)
        rates = compare_rates(hits, n, sum(text_of(e) == target for e in without), n, ctx.recall)
        if rates.all_hit and rates.significant:
            break
        if not rates.all_hit:
            # Not applied as documented: now, does it do anything at all?
            found = await sequential(ctx, base, probe, "without it", f"{param}={effect.value!r}")
            if isinstance(found, Unusable):
                return ProbeFinding(found.judgement, found.exchanges, effect.value)
            result = found
            break
    assert rates is not None
    samples = arm(ctx, probe).samples
    without_samples = arm(ctx, base).samples[: len(samples)]
    arms = SampledGreedy(greedy=greedy, without=without_samples, with_value=samples, rates=rates, result=result)
    judgement = judge_sampled_greedy(arms, param, effect.value)
    statistics = _statistics(result) | {"greedy": text_of(greedy), "equal_to_greedy": rates.describe("greedy")}
    shown = [greedy, without_samples[0], samples[0]]
    spent = [greedy, *without_samples, *samples, *_spent(result)]
    return ProbeFinding(
        judgement,
        shown,
        effect.value,
        mode="statistical",
        spent=spent,
        statistics=statistics,
    )


async def _sampled(ctx: CheckContext, param: str, effect: Effect) -> ProbeFinding:
    base = sample_body(ctx)
    found = await sequential(
        ctx, base, sample_body(ctx, **{param: effect.value}), "without it", f"{param}={effect.value!r}"
    )
    if isinstance(found, Unusable):
        return ProbeFinding(found.judgement, found.exchanges, effect.value, mode="statistical")
    neutral = (
        await _neutral(ctx, base, found.comparison.n_a, "without it") if found.finding is Finding.DIFFERENT else None
    )
    judgement = judge_sampled_effect(SampledEffect(result=found, neutral=neutral), param, effect.value)
    return ProbeFinding(
        judgement,
        _shown(found, neutral),
        effect.value,
        mode="statistical",
        spent=_spent(found, neutral),
        statistics=_statistics(found, neutral),
    )


async def _greedy_default(
    ctx: CheckContext, param: str, documented: Any, alternatives: list[Any], model: Any = None
) -> ProbeFinding:
    tokens = EFFECTS[param].max_tokens
    baseline = await greedy_baseline(ctx, param, tokens)
    omitted, explicit, *others = await asyncio.gather(
        ctx.send(greedy_body(ctx, tokens)),
        ctx.send(greedy_body(ctx, tokens, **{param: documented})),
        *(ctx.send(greedy_body(ctx, tokens, **{param: a})) for a in alternatives),
    )
    trial = DefaultTrial(
        label=f"greedy decoding, no seed, {tokens} tokens",
        omitted=omitted,
        documented=explicit,
        alternatives={repr(a): e for a, e in zip(alternatives, others, strict=True)},
        inert=baseline.longer,
    )
    judgement = judge_default(DefaultSearch(baseline=baseline, trials=[trial]), param, documented, model)
    sent = [*baseline.sent(), *trial.exchanges()]
    return ProbeFinding(judgement, sent, documented, mode="greedy")


async def _first_of_default(
    ctx: CheckContext, param: str, omitted: dict[str, Any], documented: Any, alternative: Any | None, tokens: int
) -> tuple[ArmComparison | Unusable, ArmComparison | Unusable | None]:
    """Omitted against the documented default, look by look. Once a difference from it is out
    of reach (statistics.futile), only equivalence is left to find, which shows the default
    only if the alternatives are told apart from omitted (HONOURED); so the first alternative
    is then compared at the same look, and where it is equivalent to omitted or a difference
    from it is out of reach too, no verdict but INCONCLUSIVE is left: the comparison stops."""
    first: ArmComparison | Unusable | None = None
    other: ArmComparison | Unusable | None = None
    body = sample_body(ctx, tokens, **{param: documented})
    for n in LOOKS:
        first = await look(ctx, omitted, body, "omitted", f"{param}={documented!r}", n, futility=True)
        if isinstance(first, Unusable) or first.finding is not Finding.UNDECIDED:
            break
        told_apart = isinstance(other, ArmComparison) and other.finding is Finding.DIFFERENT
        if alternative is None or not first.futile or told_apart:
            continue
        other_body = sample_body(ctx, tokens, **{param: alternative})
        other = await look(ctx, omitted, other_body, "omitted", f"{param}={alternative!r}", n, futility=True)
        if isinstance(other, Unusable):
            return other, None
        if ruled_out(other):
            break
    assert first is not None
    return first, other


def ruled_out(alternative: ArmComparison) -> bool:
    """An alternative that can no longer be told apart from omitted."""
    return alternative.finding is Finding.EQUIVALENT or alternative.futile


async def _sampled_default(ctx: CheckContext, param: str, documented: Any, alternatives: list[Any]) -> ProbeFinding:
    tokens = LONG_SAMPLE_TOKENS if param in LONG_SAMPLES else SAMPLE_TOKENS
    omitted = sample_body(ctx, tokens, **({"temperature": OMIT} if param == "temperature" else {}))
    alternative = alternatives[0] if alternatives else None
    first, early = await _first_of_default(ctx, param, omitted, documented, alternative, tokens)
    if isinstance(first, Unusable):
        return ProbeFinding(first.judgement, first.exchanges, documented)
    tried: list[ArmComparison] = []
    neutral = None
    if first.finding is Finding.DIFFERENT:
        base = sample_body(ctx, tokens)
        neutral = await _neutral(ctx, base, first.comparison.n_a, f"temperature=1.0, {param} omitted")
    elif first.finding is Finding.EQUIVALENT:
        # Each alternative gets as many samples as the equivalence took, no more: one not told
        # apart by then leaves the default unshown (INCONCLUSIVE), so spending more cannot help,
        # nor can going on once a difference is out of reach.
        for value in alternatives:
            body = sample_body(ctx, tokens, **{param: value})
            found = await sequential(
                ctx, omitted, body, "omitted", f"{param}={value!r}", first.comparison.n_a, futility=True
            )
            if isinstance(found, Unusable):
                return ProbeFinding(found.judgement, found.exchanges, documented)
            tried.append(found)
            if found.finding is not Finding.DIFFERENT:
                break
    elif isinstance(early, ArmComparison) and ruled_out(early):
        tried.append(early)  # why the first comparison stopped short of the cap
    arms = SampledDefault(first=first, alternatives=tried, neutral=neutral)
    judgement = judge_sampled_default(arms, param, documented)
    return ProbeFinding(
        judgement,
        _shown(first, *tried, neutral),
        documented,
        mode="statistical",
        spent=_spent(first, *tried, neutral, early if isinstance(early, ArmComparison) else None),
        statistics=_statistics(first, *tried, neutral),
    )


CAP: Final = LOOKS[-1]  # the most samples an arm is grown to, by any probe


def _arms(ctx: CheckContext, *bodies: dict[str, Any]) -> Ceiling:
    found = Ceiling()
    for body in bodies:
        found += arm_samples(ctx.context_tokens, body, CAP)
    return found


def _neutral_cost(ctx: CheckContext, base: dict[str, Any]) -> Ceiling:
    key = neutral_key(ctx)
    return _arms(ctx, base, {**base, key[0]: key[1]}) if key else Ceiling()


def greedy_baseline_cost(ctx: CheckContext, param: str, tokens: int) -> Ceiling:
    """What ``greedy_baseline`` sends, once per run, penalty and length."""
    sibling = next((n for n in NEUTRAL_KEYS if n != param and documents(ctx, n, EFFECTS[n].value)), None)
    body = greedy_body(ctx, tokens)
    key = neutral_key(ctx)
    key = key if key and key[0] != param else None
    bodies = [body, greedy_body(ctx, tokens + INERT_EXTRA_TOKENS)]
    if sibling:
        bodies.append(greedy_body(ctx, tokens, **{sibling: EFFECTS[sibling].value}))
    if key:
        bodies.append(greedy_body(ctx, tokens, **{key[0]: key[1]}))
    cost = sends(ctx.context_tokens, *bodies) + fresh(ctx.context_tokens, body, 1)
    return shared(f"greedy baseline {param} {tokens}", cost)


def effect_cost(ctx: CheckContext, profile: Profile, param: str, effect: Effect) -> Ceiling:
    if param in PENALTIES and profile.greedy_reproduces:
        tokens = effect.max_tokens
        neutral = effect.neutral if effect.neutral is not None and documents(ctx, param, effect.neutral) else None
        if param not in ctx.surface.parameters:
            neutral = effect.neutral
        control = [greedy_body(ctx, tokens, **{param: neutral})] if neutral is not None else []
        probe = greedy_body(ctx, tokens, **{param: effect.value})
        return greedy_baseline_cost(ctx, param, tokens) + sends(ctx.context_tokens, probe, *control)
    base, probe = sample_body(ctx), sample_body(ctx, **{param: effect.value})
    if effect.greedy:
        greedy = sends(ctx.context_tokens, greedy_body(ctx, SAMPLE_TOKENS))
        return greedy + _arms(ctx, base, probe) if profile.greedy_reproduces else greedy
    return _arms(ctx, base, probe) + _neutral_cost(ctx, base)


def default_cost(ctx: CheckContext, profile: Profile, param: str, documented: Any, alternatives: list[Any]) -> Ceiling:
    if param in PENALTIES and profile.greedy_reproduces:
        tokens = EFFECTS[param].max_tokens
        values = [documented, *alternatives]
        trial = sends(
            ctx.context_tokens, greedy_body(ctx, tokens), *(greedy_body(ctx, tokens, **{param: v}) for v in values)
        )
        return greedy_baseline_cost(ctx, param, tokens) + trial
    tokens = LONG_SAMPLE_TOKENS if param in LONG_SAMPLES else SAMPLE_TOKENS
    omitted = sample_body(ctx, tokens, **({"temperature": OMIT} if param == "temperature" else {}))
    tried = [sample_body(ctx, tokens, **{param: value}) for value in [documented, *alternatives]]
    # Either the neutral control (omitted differs from the default) or the alternatives
    # (equivalent to it): both counted, since which one runs depends on the samples.
    return _arms(ctx, omitted, *tried) + _neutral_cost(ctx, sample_body(ctx, tokens))


@dataclass(frozen=True)
class SeedFreeProof:
    """Greedy outputs where greedy decoding reproduces, else arms of unseeded samples judged
    by tests whose false-positive rate is stated. Nothing here sends a seed."""

    profile: Profile
    name: Literal["seed-free"] = "seed-free"

    def reproducible(self) -> dict[str, Any]:
        """probe_body() arguments for a request whose output must reproduce: greedy decoding
        without a seed."""
        return {"seed": OMIT, "temperature": 0.0}

    def effect_cost(self, ctx: CheckContext, param: str, effect: Effect) -> Ceiling:
        return effect_cost(ctx, self.profile, param, effect)

    def default_cost(
        self, ctx: CheckContext, param: str, documented: Any, alternatives: list[Any], tokens: int
    ) -> Ceiling:
        return default_cost(ctx, self.profile, param, documented, alternatives)

    async def effect(self, ctx: CheckContext, param: str, effect: Effect) -> ProbeFinding:
        if param in PENALTIES and self.profile.greedy_reproduces:
            return await _greedy_differential(ctx, param, effect)
        if effect.greedy:
            return await _greedy_equivalence(ctx, self.profile, param, effect)
        return await _sampled(ctx, param, effect)

    async def default(
        self, ctx: CheckContext, param: str, documented: Any, alternatives: list[Any], tokens: int, model: Any = None
    ) -> ProbeFinding:
        if param in PENALTIES and self.profile.greedy_reproduces:
            return await _greedy_default(ctx, param, documented, alternatives, model)
        # The samples compare omitted with one value at a time: the model's value is tried as
        # an alternative, but which value a server applies instead is not searched for here.
        return await _sampled_default(ctx, param, documented, alternatives)
