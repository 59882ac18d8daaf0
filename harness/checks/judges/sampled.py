"""Judges of sampling parameters on samples, for providers that do not reproduce a seeded
output (``judges.profile``): each arm is a list of unseeded requests, and a verdict rests on a
test with a stated false-positive rate (``judges.statistics``).

The statistic of one sample is its mean regret per token: the log-probability of the most
likely token minus that of the token chosen (0 where the most likely one was chosen), read
from the log-probabilities the provider returns with one alternative per token. Truncation
and lower temperatures lower it, penalties and higher temperatures raise it; it separates
sampling settings better per token than the mean surprise (minus the mean log-probability of
the chosen tokens), since it leaves out how likely the most likely token was, which varies
from place to place in the text whatever the setting. Without alternatives the statistic is
the mean surprise; without log-probabilities, a repetition rate: the text's zlib-compressed
size per character.

Controls:

- the base arm (temperature 1, no seed) must give different texts, or sampling is not on and
  no effect of a sampling parameter could be seen;
- an effect (HONOURED, or a default not applied) is credited to the parameter only if the same
  request with another parameter at its neutral default (``presence_penalty: 0``) is *not*
  told apart from the base arm at up to the same number of samples (it stops sooner once a
  difference is out of reach: ``statistics.futile``);
- no effect (IGNORED) is the equivalence test's finding: an effect of ``MARGIN`` standard
  deviations or more would have been called equivalent with at most ``ALPHA`` chance.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.checks.judges.effects import choice
from harness.checks.judges.outcome import Judgement, finish_reason, probe_failure, quote, text_of
from harness.checks.judges.shapes import guarded
from harness.checks.judges.statistics import MARGIN, Comparison, Finding, RateComparison
from harness.results import Verdict
from harness.transport import Exchange

REGRET = "mean regret per token (nats below the most likely token)"
SURPRISE = "mean surprise per token (nats)"
REPETITION = "zlib-compressed bytes per character (a repetition rate)"


def sample_text(exchange: Exchange) -> str | None:
    """The text of one sample: as ``text_of``, but an empty text is a sample too when the
    model chose to stop at once (finish_reason "stop"; vLLM samples its end-of-sequence token
    first about once in a hundred here). Null content, or empty without a stop, is not."""
    if exchange.content() == "" and finish_reason(exchange) == "stop":
        return ""
    return text_of(exchange)


def _chosen(exchange: Exchange) -> list[dict[str, Any]] | None:
    """The log-probability entries of the chosen tokens, or None without them, or where the
    tokens do not spell the text (log-probabilities of another text prove nothing about this
    one). A sample that stopped on its end-of-sequence token may list that token last: it was
    chosen too, and counts, when the others spell the text."""
    logprobs = choice(exchange).get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content or not all(isinstance(t, dict) for t in content):
        return None
    tokens = [t.get("token") for t in content]
    if not all(isinstance(t, str) for t in tokens):
        return None
    text = sample_text(exchange)
    spelt = "".join(str(t) for t in tokens)
    stopped_on_eos = finish_reason(exchange) == "stop" and "".join(str(t) for t in tokens[:-1]) == text
    if text is None or (spelt != text and not stopped_on_eos):
        return None
    if not all(_number(t.get("logprob")) is not None for t in content):
        return None
    return content


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def surprise(exchange: Exchange) -> float | None:
    """The mean negative log-probability of the chosen tokens (``_chosen``), or None."""
    content = _chosen(exchange)
    if content is None:
        return None
    return -sum(float(t["logprob"]) for t in content) / len(content)


def regret(exchange: Exchange) -> float | None:
    """The mean, over the chosen tokens (``_chosen``), of the most likely token's
    log-probability minus the chosen one's; None where a token lists no alternative."""
    content = _chosen(exchange)
    if content is None:
        return None
    gaps: list[float] = []
    for token in content:
        listed = token.get("top_logprobs")
        alternatives = [_number(a.get("logprob")) for a in listed if isinstance(a, dict)] if listed else []
        numbers = [a for a in alternatives if a is not None]
        if not numbers:
            return None
        chosen = float(token["logprob"])
        gaps.append(max(0.0, max(numbers) - chosen))
    return sum(gaps) / len(gaps)


def repetition(exchange: Exchange) -> float | None:
    text = text_of(exchange)
    if not text:
        return None
    data = text.encode("utf-8")
    return len(zlib.compress(data, 9)) / len(text)


def statistic(arms: Sequence[Sequence[Exchange]]) -> tuple[str, list[list[float]]] | None:
    """The per-sample statistic of every arm: regret where every sample lists alternatives,
    else surprise where every sample has logprobs, else the repetition rate; None if some
    sample has none of them."""
    for name, measure in ((REGRET, regret), (SURPRISE, surprise), (REPETITION, repetition)):
        values = [[measure(e) for e in arm] for arm in arms]
        if all(v is not None for arm in values for v in arm):
            return name, [[float(v) for v in arm if v is not None] for arm in values]
    return None


@dataclass(frozen=True)
class ArmComparison:
    """Two arms and what the test found; ``statistic`` names what was compared."""

    statistic: str
    comparison: Comparison
    a: list[Exchange]
    b: list[Exchange]
    a_name: str
    b_name: str
    futile: bool = False  # undecided, and a difference by the cap out of reach (statistics.futile)

    def describe(self) -> str:
        found = self.comparison.describe(self.statistic, self.a_name, self.b_name)
        return (
            f"{found}; stopped at {self.comparison.n_a}: a difference by the cap out of reach" if self.futile else found
        )

    @property
    def finding(self) -> Finding:
        return self.comparison.finding


def samples_problem(base: Sequence[Exchange], arms: Sequence[Sequence[Exchange]] = ()) -> Judgement | None:
    """Why samples cannot support a verdict: a failed request (of the base arm or the others),
    no text, or no variation in the base arm."""
    return probe_failure([*base, *(e for arm in arms for e in arm)]) or unvaried(base)


def unvaried(base: Sequence[Exchange]) -> Judgement | None:
    """The base arm (temperature 1, no seed) must give texts, and different ones."""
    texts = [sample_text(e) for e in base]
    if any(t is None for t in texts):
        return Judgement(Verdict.INCONCLUSIVE, "a sample answered without content: no text to compare")
    if len(set(texts)) == 1:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"{len(texts)} unseeded samples at temperature 1 all gave {quote(texts[0])}: sampling does not vary "
            "here, so no effect of a sampling parameter could be seen",
        )
    return None


def neutral_problem(neutral: ArmComparison | None, what: str) -> tuple[Judgement | None, str]:
    """The parameter-set control for an effect: (a verdict that overrides, the control text)."""
    if neutral is None:
        return None, ""
    if neutral.finding is Finding.DIFFERENT:
        return (
            Judgement(
                Verdict.INCONCLUSIVE,
                f"{what}, but so does {neutral.b_name} (a parameter at its neutral default, which does nothing): "
                f"this provider's samples change with the request itself ({neutral.describe()})",
            ),
            "",
        )
    return None, f"{neutral.b_name} (no effect by definition) is not told apart from the base ({neutral.describe()})"


@dataclass(frozen=True, kw_only=True)
class SampledEffect:
    """``result``: the base arm (``a``: temperature 1, no seed) against the same with the value
    (``b``); ``neutral``: the base arm against a parameter at its neutral default, where it was
    compared (the parameter-set control)."""

    result: ArmComparison
    neutral: ArmComparison | None

    @property
    def base(self) -> list[Exchange]:
        return self.result.a

    def exchanges(self) -> list[Exchange]:
        return [*self.result.a, *self.result.b]


@guarded
def judge_sampled_effect(arms: SampledEffect, param: str, value: Any) -> Judgement:
    result, neutral = arms.result, arms.neutral
    shown = f"{param}={value!r}"
    problem = unvaried(arms.base)
    if problem:
        return problem
    if result.finding is Finding.DIFFERENT:
        override, control = neutral_problem(neutral, f"{shown} moves the samples")
        if override:
            return override
        controls = [c for c in (control, "under no effect, a difference this large had at most 1% chance") if c]
        return Judgement(Verdict.HONOURED, f"{shown} moves the samples: {result.describe()}", "; ".join(controls))
    if result.finding is Finding.EQUIVALENT:
        return Judgement(
            Verdict.IGNORED,
            f"{shown} leaves the samples as they are: {result.describe()}",
            f"an effect of {MARGIN:g} standard deviation or more would have been called equivalent with at most 1% "
            "chance; unseeded samples at temperature 1 differ, so an effect could be seen",
        )
    return Judgement(
        Verdict.INCONCLUSIVE, f"{shown}: the samples decide neither way within the cap ({result.describe()})"
    )


@dataclass(frozen=True, kw_only=True)
class SampledGreedy:
    """``greedy``: greedy decoding (which reproduces: the profile's measurement); ``without``:
    unseeded samples at temperature 1 (the base arm), ``with_value``: the same with the value;
    ``rates``: how many of each equal greedy decoding; ``result``: the statistic compared,
    where some sample with the value is not greedy."""

    greedy: Exchange
    without: Sequence[Exchange]
    with_value: Sequence[Exchange]
    rates: RateComparison
    result: ArmComparison | None

    @property
    def base(self) -> Sequence[Exchange]:
        return self.without

    def exchanges(self) -> list[Exchange]:
        return [*self.without, *self.with_value, self.greedy]


@guarded
def judge_sampled_greedy(arms: SampledGreedy, param: str, value: Any) -> Judgement:
    """A value that must make sampling equal greedy decoding, without a seed: every sample with
    it must give the greedy text, unlike the base arm."""
    greedy, rates, probes, result = arms.greedy, arms.rates, arms.with_value, arms.result
    shown = f"{param}={value!r}"
    problem = unvaried(arms.base)
    if problem:
        return problem
    target = f"greedy decoding ({quote(text_of(greedy))})"
    if rates.all_hit:
        if rates.significant:
            return Judgement(
                Verdict.HONOURED,
                f"{shown} makes every sample equal greedy decoding: {rates.describe(target)}",
                "greedy decoding reproduces without a seed; unseeded samples without the value differ from it",
            )
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"{shown}: every sample equals greedy decoding, but so do too many without it ({rates.describe(target)})",
        )
    missed = next(text_of(e) for e in probes if text_of(e) != text_of(greedy))
    not_greedy = f"{rates.n_with - rates.hits_with} of {rates.n_with} samples with {shown} are not greedy decoding"
    if result is not None and result.finding is Finding.EQUIVALENT:
        return Judgement(
            Verdict.IGNORED,
            f"{not_greedy} (e.g. {quote(missed)}), and they are not told apart from samples without it: "
            f"{result.describe()}",
            f"greedy decoding reproduces ({quote(text_of(greedy))}); an effect of {MARGIN:g} standard deviation or "
            "more would have been called equivalent with at most 1% chance",
        )
    found = f" ({result.describe()})" if result is not None else ""
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"{not_greedy} (e.g. {quote(missed)}): the value is not applied as documented, but the samples do not show "
        f"it has no effect{found}",
    )


@dataclass(frozen=True, kw_only=True)
class SampledDefault:
    """``first``: omitted (a) vs the documented default sent (b); ``alternatives``: omitted vs
    each alternative value, in order, the last one tried being the first not told apart;
    ``neutral``: the parameter-set control, where it was compared."""

    first: ArmComparison
    alternatives: Sequence[ArmComparison]
    neutral: ArmComparison | None

    @property
    def base(self) -> list[Exchange]:
        return self.first.a

    def exchanges(self) -> list[Exchange]:
        return [*self.first.a, *self.first.b, *(e for x in self.alternatives for e in x.b)]


@guarded
def judge_sampled_default(arms: SampledDefault, param: str, documented: Any) -> Judgement:
    first, alternatives, neutral = arms.first, arms.alternatives, arms.neutral
    problem = unvaried(arms.base)
    if problem:
        return problem
    if first.finding is Finding.DIFFERENT:
        what = f"omitting {param} and sending its documented default {documented!r} give different samples"
        override, control = neutral_problem(neutral, what)
        if override:
            return override
        controls = [c for c in (control, "under no effect, a difference this large had at most 1% chance") if c]
        return Judgement(
            Verdict.IGNORED,
            f"the documented default {param}={documented!r} is not applied when omitted: {first.describe()}",
            "; ".join(controls),
        )
    if first.finding is Finding.UNDECIDED and alternatives and alternatives[0].finding is not Finding.DIFFERENT:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"omitting {param} is not told apart from {alternatives[0].b_name} ({alternatives[0].describe()}), so "
            f"the default cannot be shown; nor from {documented!r} ({first.describe()})",
        )
    if first.finding is Finding.UNDECIDED:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"omitting {param} and sending {documented!r}: the samples decide neither way within the cap "
            f"({first.describe()})",
        )
    if not alternatives:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"omitting {param} is equivalent to {documented!r}, but no other value was tried, so nothing shows the "
            "parameter matters here",
        )
    undecided = [x for x in alternatives if x.finding is not Finding.DIFFERENT]
    if undecided:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"omitting {param} is equivalent to {documented!r} ({first.describe()}), but the samples do not tell it "
            f"from {undecided[0].b_name} either ({undecided[0].describe()}), so the default is not shown",
        )
    told = ", ".join(x.b_name for x in alternatives)
    return Judgement(
        Verdict.HONOURED,
        f"omitting {param} behaves like the documented default {documented!r}: {first.describe()}",
        f"the samples tell omitted apart from every alternative ({told}), each at alpha 1%",
    )
