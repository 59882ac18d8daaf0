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

The binary comparison (does a value make every sample equal greedy decoding?) uses Fisher's
exact test with the same split.

The arithmetic is here, in the standard library, and gives scipy.stats' p-values (a test
holds the two to agreement): importing scipy.stats cost every seed-free run tens of megabytes
and seconds of start-up, for a handful of tests on at most 64 samples an arm.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Final

ALPHA: Final = 0.01
LOOKS: Final = (8, 16, 32, 64)  # samples per arm at each look; the last is the cap
MARGIN: Final = 1.0  # the smallest effect that counts, in standard deviations of the statistic


class Finding(Enum):
    DIFFERENT = "different"
    EQUIVALENT = "equivalent"
    UNDECIDED = "undecided"


def alpha_per_look(looks: int = len(LOOKS)) -> float:
    return ALPHA / looks


@cache
def design_power(n: int, looks: int = len(LOOKS), margin: float = MARGIN) -> float:
    """The chance that a t-test at level ``alpha_per_look`` finds a difference of
    ``margin`` standard deviations with ``n`` samples per arm."""
    df = 2 * n - 2
    critical = _t_isf(alpha_per_look(looks) / 2, df)
    shift = margin * math.sqrt(n / 2)
    return _noncentral_t_sf(critical, df, shift) + _noncentral_t_cdf(-critical, df, shift)


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
    """Welch's one-sided t-test (scipy.stats.ttest_ind(equal_var=False)): "greater" is the
    alternative mean(a) > mean(b), "less" mean(a) < mean(b)."""
    vn_a, vn_b = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    df = (vn_a + vn_b) ** 2 / (vn_a**2 / (len(a) - 1) + vn_b**2 / (len(b) - 1))
    t = (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(vn_a + vn_b)
    return _t_sf(t, df) if alternative == "greater" else _t_sf(-t, df)


def _mann_whitney(a: Sequence[float], b: Sequence[float], exact: bool) -> float:
    """The two-sided Mann-Whitney U test's p-value (scipy.stats.mannwhitneyu): exact (no ties)
    or asymptotic, with the tie correction and the continuity correction."""
    n1, n2 = len(a), len(b)
    ranks, ties = _average_ranks([*a, *b])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    if exact:
        counts = _u_counts(min(n1, n2), max(n1, n2))
        p = 2 * sum(counts[: n1 * n2 - round(u) + 1]) / math.comb(n1 + n2, n1)
    else:
        n = n1 + n2
        tie_term = sum(t**3 - t for t in ties)
        spread = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        p = 2 * _normal_sf((u - n1 * n2 / 2 - 0.5) / spread)
    return min(max(p, 0.0), 1.0)


def _average_ranks(values: list[float]) -> tuple[list[float], list[int]]:
    """Ranks from 1, tied values sharing their average rank; and the size of each group of ties."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    groups: list[int] = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            ranks[i] = (start + end) / 2 + 1
        groups.append(end - start + 1)
        start = end + 1
    return ranks, groups


@cache
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """How many of the C(n1+n2, n1) orderings give each U from 0 to n1*n2: the coefficients
    of the Gaussian binomial [n1+n2 choose n1], built as prod (1 - q^(n2+i)) / (1 - q^i)."""
    coefficients = [0] * (n1 * n2 + n1 + 1)
    coefficients[0] = 1
    for i in range(1, n1 + 1):
        for j in range(len(coefficients) - 1, n2 + i - 1, -1):  # times (1 - q^(n2+i))
            coefficients[j] -= coefficients[j - n2 - i]
        for j in range(i, len(coefficients)):  # divided by (1 - q^i), exactly
            coefficients[j] += coefficients[j - i]
    return tuple(coefficients[: n1 * n2 + 1])


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def _log_beta_front(a: float, b: float, x: float) -> float:
    return math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        for aa in (
            m * (b - m) * x / ((a - 1 + 2 * m) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1 + 2 * m)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h


def _beta_regularized(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x < (a + 1) / (a + b + 2):
        return math.exp(_log_beta_front(a, b, x)) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(_log_beta_front(b, a, 1 - x)) * _beta_fraction(b, a, 1 - x) / b


def _t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * _beta_regularized(df / 2, 0.5, df / (df + t * t))
    return tail if t > 0 else 1.0 - tail


def _t_isf(p: float, df: float) -> float:
    """The t with P(T > t) = p (0 < p < 1/2), by bisection."""
    low, high = 0.0, 1.0
    while _t_sf(high, df) > p:
        low, high = high, high * 2
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        low, high = (middle, high) if _t_sf(middle, df) > p else (low, middle)
    return (low + high) / 2


def _chi_square_mean(df: int, f: Callable[[float], float]) -> float:
    """E[f(V)] for V chi-square with ``df`` degrees of freedom (Simpson's rule; f bounded and smooth)."""
    spread = math.sqrt(2 * df)
    low, high = max(0.0, df - 40 * spread), df + 40 * spread + 40
    steps = 4000
    width = (high - low) / steps
    log_norm = (df / 2) * math.log(2) + math.lgamma(df / 2)

    def weighted(v: float) -> float:
        if v <= 0:
            return 0.0
        return f(v) * math.exp((df / 2 - 1) * math.log(v) - v / 2 - log_norm)

    total = weighted(low) + weighted(high)
    total += sum((4 if i % 2 else 2) * weighted(low + i * width) for i in range(1, steps))
    return total * width / 3


def _noncentral_t_sf(t: float, df: int, shift: float) -> float:
    """P(T > t) for T = (Z + shift) / sqrt(V / df): the noncentral t."""
    return _chi_square_mean(df, lambda v: _normal_sf(t * math.sqrt(v / df) - shift))


def _noncentral_t_cdf(t: float, df: int, shift: float) -> float:
    return _chi_square_mean(df, lambda v: 1.0 - _normal_sf(t * math.sqrt(v / df) - shift))


def compare(a: Sequence[float], b: Sequence[float], looks: int = len(LOOKS)) -> Comparison:
    """One look at two arms of a per-sample statistic (at least 2 samples each)."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("compare() needs at least two samples per arm")
    alpha = alpha_per_look(looks)
    power = design_power(LOOKS[-1], looks)
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
    p_difference = _mann_whitney(a, b, exact=not ties)
    margin = MARGIN * math.sqrt((var_a + var_b) / 2)
    p_above = _welch(a, [x - margin for x in b], "greater")  # mean_a - mean_b > -margin
    p_below = _welch(a, [x + margin for x in b], "less")  # mean_a - mean_b < +margin
    p_equivalence = max(p_above, p_below)
    if p_difference < alpha:
        finding = Finding.DIFFERENT
    elif p_equivalence < alpha:
        finding = Finding.EQUIVALENT
    else:
        finding = Finding.UNDECIDED
    return Comparison(finding, len(a), len(b), mean_a, mean_b, p_difference, p_equivalence, alpha, power)


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


def compare_rates(hits_with: int, n_with: int, hits_without: int, n_without: int) -> RateComparison:
    # Fisher's exact test, one-sided: P(at least hits_with of the hits fall among the samples
    # with the value), the margins fixed (hypergeometric).
    hits, total = hits_with + hits_without, n_with + n_without
    tables = sum(math.comb(n_with, k) * math.comb(n_without, hits - k) for k in range(hits_with, min(hits, n_with) + 1))
    p = min(1.0, tables / math.comb(total, hits))
    return RateComparison(hits_with, n_with, hits_without, n_without, p, alpha_per_look())
