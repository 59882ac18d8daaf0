"""Two-sample tests for providers that do not reproduce a seeded output: each probe compares
samples drawn with and without a value, looking at them in growing batches (sequential
stopping) until a test decides or the cap on samples is reached.

Error rates are stated, not hoped for:

- DIFFERENT (the value moves the statistic): the two-sided Mann-Whitney U test, exact where
  no two samples tie. It assumes nothing about the statistic's distribution (a sampler's
  statistic can be skewed or lumpy), so under no effect the chance of calling a difference at
  any look is at most ``ALPHA``: the level is split evenly over the looks (a Bonferroni bound),
  so looking early costs no false positives.
- EQUIVALENT (no effect of ``MARGIN`` standard deviations or more): two one-sided Welch tests
  (TOST), with the same split of ``ALPHA``: under an effect at least that large, the chance of
  calling the arms equivalent is at most ``ALPHA``.
- ``power``: the chance that the design finds a difference of ``MARGIN`` standard deviations
  by its last look (noncentral t, for a normal statistic; the rank test is nearly as strong).
- Futility (only where a probe asks for it: where a difference is the one finding that could
  still change its verdict): from the second look on, a comparison stops UNDECIDED when the
  chance of a difference by the cap, were the trend so far the truth, is under ``FUTILITY``
  (conditional power, normal approximation). It never adds a finding, so the false-positive
  rates above hold; it costs a little power, against ``MARGIN`` at most ``FUTILITY_POWER_COST``
  (tests/unit/test_statistics.py measures it, for comparisons that may grow to the cap). Where
  the comparison is a control (the neutral-key control of a seed-free effect, which refutes by
  a difference only), that lost power is the control's: the chance that it misses a difference
  of ``MARGIN``, and so fails to refute a credited effect, grows by as much. A control capped
  below the cap (at its arm's size) was not measured apart.

The binary comparison (does a value make every sample equal greedy decoding?) uses Fisher's
exact test with the same split. scipy.stats does the arithmetic; each answer it gives goes
through a ``Recall`` the caller passes: computed here (``computed``, the default), or, in a
replay, looked up where an earlier process kept it (``checks.answers``), so a replay on a
machine that has run it before imports no scipy at all.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from types import ModuleType
from typing import Any, Final

ALPHA: Final = 0.01
# Samples per arm at each look; the last is the cap. Looks between the doublings let a
# comparison stop nearer the samples it needs (an equivalence mostly decides between 32 and
# 64), at the price of a smaller share of ALPHA per look.
LOOKS: Final = (8, 16, 24, 32, 48, 64)
MARGIN: Final = 1.0  # the smallest effect that counts, in standard deviations of the statistic
FUTILITY: Final = 0.05  # stop for futility below this chance of a difference by the cap
FUTILITY_POWER_COST: Final = 0.04  # the power against MARGIN that futility stopping may cost


@cache
def _stats() -> ModuleType:
    """scipy.stats, imported the first time a test runs: most runs never sample (a seeded
    provider), and importing it costs every process tens of megabytes and seconds."""
    from scipy import stats

    return stats


class Finding(Enum):
    DIFFERENT = "different"
    EQUIVALENT = "equivalent"
    UNDECIDED = "undecided"


def alpha_per_look(looks: int = len(LOOKS)) -> float:
    return ALPHA / looks


# How a test's arithmetic is answered: ``recall(name, args, compute)`` is ``compute()``, a pure
# function of ``name`` and ``args`` (plain numbers, strings and lists of them), or an answer
# kept from an earlier process for the same name, arguments and code (``checks.answers``).
Recall = Callable[[str, tuple[Any, ...], Callable[[], float]], float]


def computed(name: str, args: tuple[Any, ...], compute: Callable[[], float]) -> float:
    """Every answer computed here and now (a live run's, and any caller's without a store)."""
    return compute()


@cache
def design_power(n: int, looks: int = len(LOOKS), margin: float = MARGIN) -> float:
    """The chance that a t-test at level ``alpha_per_look`` finds a difference of
    ``margin`` standard deviations with ``n`` samples per arm."""
    df = 2 * n - 2
    stats = _stats()
    critical = float(stats.t.ppf(1 - alpha_per_look(looks) / 2, df))
    shift = margin * math.sqrt(n / 2)
    # (The lower tail underflows to nan for large shifts: it is 0 there.)
    upper, lower = (
        0.0 if math.isnan(p) else p
        for p in (float(stats.nct.sf(critical, df, shift)), float(stats.nct.cdf(-critical, df, shift)))
    )
    return upper + lower


@dataclass(frozen=True)
class Comparison:
    """What one look at two arms of samples found."""

    finding: Finding
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    p_difference: float
    p_equivalence: float
    alpha: float  # the level each test was held to at this look
    power: float  # of the whole design, against a difference of MARGIN standard deviations

    def describe(self, statistic: str, a: str, b: str) -> str:
        return (
            f"{statistic}: {a} {self.mean_a:.3f} (n={self.n_a}) vs {b} {self.mean_b:.3f} (n={self.n_b}); "
            f"Mann-Whitney p={self.p_difference:.2g}, equivalence within {MARGIN:g} sd p={self.p_equivalence:.2g}, "
            f"each held to {self.alpha:g} (alpha {ALPHA:g} over {len(LOOKS)} looks); "
            f"power {self.power:.2f} against a {MARGIN:g} sd effect at {LOOKS[-1]} samples"
        )


def _welch(a: Sequence[float], b: Sequence[float], alternative: str) -> float:
    result = _stats().ttest_ind(a, b, equal_var=False, alternative=alternative)
    return float(result.pvalue)


def compare(a: Sequence[float], b: Sequence[float], looks: int = len(LOOKS), recall: Recall = computed) -> Comparison:
    """One look at two arms of a per-sample statistic (at least 2 samples each)."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("compare() needs at least two samples per arm")
    alpha = alpha_per_look(looks)
    power = recall("design_power", (LOOKS[-1], looks, MARGIN), lambda: design_power(LOOKS[-1], looks))
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    var_a, var_b = statistics.variance(a), statistics.variance(b)
    if var_a == 0 and var_b == 0:
        # Both arms constant: no spread to test against; equal constants are one output.
        same = mean_a == mean_b
        finding = Finding.EQUIVALENT if same else Finding.DIFFERENT
        return Comparison(
            finding, len(a), len(b), mean_a, mean_b, 1.0 if same else 0.0, 0.0 if same else 1.0, alpha, power
        )
    ties = len(set(a) | set(b)) < len(a) + len(b)
    method = "asymptotic" if ties else "exact"
    p_difference = recall(
        "mannwhitneyu",
        (list(a), list(b), method),
        lambda: float(_stats().mannwhitneyu(a, b, alternative="two-sided", method=method).pvalue),
    )
    margin = MARGIN * math.sqrt((var_a + var_b) / 2)
    below, above = [x - margin for x in b], [x + margin for x in b]
    p_above = recall("welch", (list(a), below, "greater"), lambda: _welch(a, below, "greater"))  # > -margin
    p_below = recall("welch", (list(a), above, "less"), lambda: _welch(a, above, "less"))  # < +margin
    p_equivalence = max(p_above, p_below)
    if p_difference < alpha:
        finding = Finding.DIFFERENT
    elif p_equivalence < alpha:
        finding = Finding.EQUIVALENT
    else:
        finding = Finding.UNDECIDED
    return Comparison(finding, len(a), len(b), mean_a, mean_b, p_difference, p_equivalence, alpha, power)


def chance_of_difference(a: Sequence[float], b: Sequence[float], cap: int = LOOKS[-1]) -> float:
    """Conditional power: the chance that the difference test decides at ``cap`` samples per
    arm, were the standardized difference seen so far the true one (a Brownian-motion
    projection of the z statistic; normal, for a rough stopping rule)."""
    n = min(len(a), len(b))
    if n >= cap:
        return 0.0
    spread = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    if spread == 0:
        return 1.0
    z = (sum(b) / len(b) - sum(a) / len(a)) / spread
    t = n / cap  # the information gathered so far
    stats = _stats()
    critical = float(stats.norm.isf(alpha_per_look() / 2))
    mean, sd = z / math.sqrt(t), math.sqrt(1 - t)
    return float(stats.norm.sf((critical - mean) / sd) + stats.norm.cdf((-critical - mean) / sd))


def futile(a: Sequence[float], b: Sequence[float], recall: Recall = computed) -> bool:
    """Stop for futility: past the first look, a difference by the cap is out of reach."""
    n = min(len(a), len(b))
    if not LOOKS[0] < n < LOOKS[-1]:
        return False
    return recall("chance_of_difference", (list(a), list(b)), lambda: chance_of_difference(a, b)) < FUTILITY


@dataclass(frozen=True)
class RateComparison:
    """Samples that hit a target (equal greedy decoding) with the value and without it."""

    hits_with: int
    n_with: int
    hits_without: int
    n_without: int
    p: float  # Fisher's exact test, one-sided: hits are more frequent with the value
    alpha: float

    @property
    def all_hit(self) -> bool:
        return self.hits_with == self.n_with

    @property
    def significant(self) -> bool:
        return self.p < self.alpha

    def describe(self, target: str) -> str:
        return (
            f"{self.hits_with}/{self.n_with} samples with the value equal {target}, {self.hits_without}/"
            f"{self.n_without} without it; Fisher p={self.p:.2g}, held to {self.alpha:g} "
            f"(alpha {ALPHA:g} over {len(LOOKS)} looks)"
        )


def compare_rates(
    hits_with: int, n_with: int, hits_without: int, n_without: int, recall: Recall = computed
) -> RateComparison:
    table = [[hits_with, n_with - hits_with], [hits_without, n_without - hits_without]]
    p = recall("fisher_exact", (table,), lambda: float(_stats().fisher_exact(table, alternative="greater").pvalue))
    return RateComparison(hits_with, n_with, hits_without, n_without, p, alpha_per_look())
