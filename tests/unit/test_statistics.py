"""The statistics behind seed-free probes, on synthetic samples with known answers: the stated
false-positive rates hold, the stated power is reached, and sequential stopping stops."""

from __future__ import annotations

import random

import pytest

from harness.checks.judges.statistics import (
    ALPHA,
    FUTILITY_POWER_COST,
    LOOKS,
    MARGIN,
    Finding,
    chance_of_difference,
    compare,
    compare_rates,
    design_power,
    futile,
)

RUNS = 400  # sequential experiments per known answer


def sequential(shift: float, rng: random.Random, sd: float = 0.3, futility: bool = False) -> Finding:
    """One experiment as the probes run it: grow both arms look by look until a finding (or,
    with ``futility``, until a difference is out of reach)."""
    return sized(shift, rng, sd, futility)[0]


def sized(shift: float, rng: random.Random, sd: float = 0.3, futility: bool = False) -> tuple[Finding, int]:
    a: list[float] = []
    b: list[float] = []
    finding = Finding.UNDECIDED
    for n in LOOKS:
        while len(a) < n:
            a.append(rng.gauss(1.2, sd))
            b.append(rng.gauss(1.2 + shift * sd, sd))
        finding = compare(a, b).finding
        if finding is not Finding.UNDECIDED or (futility and futile(a, b)):
            break
    return finding, len(a)


def rate(findings: list[Finding], finding: Finding) -> float:
    return sum(f is finding for f in findings) / len(findings)


def test_no_effect_is_called_a_difference_at_most_alpha_of_the_time() -> None:
    rng = random.Random(11)
    findings = [sequential(0.0, rng) for _ in range(RUNS)]
    # alpha is 1%; the binomial 99.9% bound over RUNS experiments is about 1% more
    assert rate(findings, Finding.DIFFERENT) <= ALPHA + 0.015
    # ... and no effect is found equivalent almost every time by the cap
    assert rate(findings, Finding.EQUIVALENT) >= 0.95


def test_a_lumpy_statistic_keeps_the_false_positive_rate() -> None:
    """A sampler's statistic can be bimodal (a text that falls into a loop or not): the
    difference test is a rank test, so its false-positive rate does not rest on normality."""
    rng = random.Random(15)

    def lumpy() -> float:
        return rng.gauss(0.2, 0.01) if rng.random() < 0.8 else rng.gauss(3.0, 0.01)

    findings = []
    for _ in range(RUNS):
        a: list[float] = []
        b: list[float] = []
        finding = Finding.UNDECIDED
        for n in LOOKS:
            while len(a) < n:
                a.append(lumpy())
                b.append(lumpy())
            finding = compare(a, b).finding
            if finding is not Finding.UNDECIDED:
                break
        findings.append(finding)
    assert rate(findings, Finding.DIFFERENT) <= ALPHA + 0.015


def test_an_effect_beyond_the_margin_is_called_equivalent_at_most_alpha_of_the_time() -> None:
    rng = random.Random(12)
    findings = [sequential(MARGIN * 1.2, rng) for _ in range(RUNS)]
    assert rate(findings, Finding.EQUIVALENT) <= ALPHA + 0.015
    assert rate(findings, Finding.DIFFERENT) >= 0.95


def test_a_large_effect_is_found_early() -> None:
    rng = random.Random(13)
    a = [rng.gauss(1.0, 0.2) for _ in range(LOOKS[0])]
    b = [rng.gauss(2.0, 0.2) for _ in range(LOOKS[0])]  # five standard deviations
    found = compare(a, b)
    assert found.finding is Finding.DIFFERENT and found.p_difference < found.alpha


def test_the_stated_power_is_the_power_observed() -> None:
    rng = random.Random(14)
    n = LOOKS[-1]
    hits = 0
    for _ in range(300):
        a = [rng.gauss(0.0, 1.0) for _ in range(n)]
        b = [rng.gauss(MARGIN, 1.0) for _ in range(n)]
        hits += compare(a, b).p_difference < compare(a, b).alpha
    assert abs(hits / 300 - design_power(n)) < 0.06
    assert design_power(LOOKS[0]) < design_power(LOOKS[-1])


def test_constant_arms_are_one_output_or_two() -> None:
    assert compare([1.0, 1.0], [1.0, 1.0]).finding is Finding.EQUIVALENT
    assert compare([1.0, 1.0], [2.0, 2.0]).finding is Finding.DIFFERENT
    with pytest.raises(ValueError, match="two samples"):
        compare([1.0], [1.0, 2.0])


def test_rates_every_sample_greedy_with_the_value_none_without() -> None:
    found = compare_rates(8, 8, 0, 8)
    assert found.all_hit and found.significant
    assert not compare_rates(8, 8, 8, 8).significant  # sampling was greedy anyway: no evidence
    assert not compare_rates(7, 8, 0, 8).all_hit


def test_futility_costs_at_most_the_stated_power_against_the_margin() -> None:
    rng = random.Random(16)
    runs = 300
    plain = rate([sequential(MARGIN, rng) for _ in range(runs)], Finding.DIFFERENT)
    stopped = rate([sequential(MARGIN, rng, futility=True) for _ in range(runs)], Finding.DIFFERENT)
    # two independent estimates of about 0.99: 0.03 of binomial slack between them
    assert stopped >= plain - FUTILITY_POWER_COST - 0.03
    assert stopped >= design_power(LOOKS[-1]) - FUTILITY_POWER_COST - 0.03


def test_futility_stops_a_comparison_with_no_effect_early_and_adds_no_difference() -> None:
    rng = random.Random(17)
    runs = 200
    stopped = [sized(0.0, rng, futility=True) for _ in range(runs)]
    plain = [sized(0.0, rng) for _ in range(runs)]
    assert rate([f for f, _ in stopped], Finding.DIFFERENT) <= ALPHA + 0.02
    # where nothing but a difference matters, a no-effect comparison costs clearly fewer samples
    assert sum(n for _, n in stopped) <= 0.8 * sum(n for _, n in plain)
    assert sum(n == LOOKS[-1] for _, n in stopped) < sum(n == LOOKS[-1] for _, n in plain)


def test_the_chance_of_a_difference_follows_the_evidence() -> None:
    rng = random.Random(18)
    same = [rng.gauss(0.0, 1.0) for _ in range(LOOKS[1])]
    apart = [x + 3.0 for x in same]
    assert chance_of_difference(same, apart) > 0.99
    assert chance_of_difference(same, apart, cap=LOOKS[1]) == 0.0  # at the cap: no looks left
    assert not futile(same, apart)
    assert not futile(same[: LOOKS[0]], [x + 0.01 for x in same[: LOOKS[0]]])  # never at the first look
