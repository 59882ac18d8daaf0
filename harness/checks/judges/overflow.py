"""Judges of the context window: a prompt longer than the served context, and a prompt plus
``max_tokens`` that does not fit. Refusing either with a validation error is right. A 200 for
the first whose ``usage.prompt_tokens`` is short of what the prompt measures means the prompt
was cut and the model never saw all of it: the output looks fine and nothing says so.

What the prompt measures needs no tokenizer: the same prompt with 1, 2 and 3 blocks of a
fixed increment gives tokens per increment (``Measure``); the two differences must agree,
else the server's counts are no ruler and the judge says INCONCLUSIVE.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from harness.checks.judges.outcome import (
    VALIDATION_STATUSES,
    Judgement,
    finish_reason,
    is_validation_refusal,
    probe_failure,
    unusable,
)
from harness.checks.judges.ranges import envelope_quality
from harness.results import Verdict
from harness.transport import Exchange

# Counted short of the measure by more than this share of it (and two tokens, for a
# template's joints), a prompt was cut.
TRUNCATION_SLACK = 0.02


def prompt_tokens(exchange: Exchange) -> int | None:
    body = exchange.json if isinstance(exchange.json, dict) else {}
    usage = body.get("usage")
    count = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def completion_count(exchange: Exchange) -> int | None:
    body = exchange.json if isinstance(exchange.json, dict) else {}
    usage = body.get("usage")
    count = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


@dataclass(frozen=True, kw_only=True)
class Measure:
    """The same short prompt with ``step``, ``2 * step`` and ``3 * step`` copies of the
    increment (``one``, ``two``, ``three``)."""

    one: Exchange
    two: Exchange
    three: Exchange
    step: int

    def exchanges(self) -> list[Exchange]:
        return [self.one, self.two, self.three]


@dataclass(frozen=True)
class Ruler:
    """What the measure found: the prompt tokens at ``step`` copies and tokens per copy."""

    base: int  # prompt tokens with ``step`` copies
    step: int
    per_copy: float

    def expected(self, copies: int) -> float:
        return self.base + (copies - self.step) * self.per_copy

    def copies_for(self, tokens: int) -> int:
        """Copies of the increment that make a prompt of at least ``tokens`` tokens."""
        return self.step + max(1, math.ceil((tokens - self.base) / self.per_copy))

    def __str__(self) -> str:
        return f"{self.per_copy:g} tokens per copy of the increment ({self.base} at {self.step} copies)"


def measure(shape: Measure) -> Ruler | Judgement:
    """Tokens per increment, or why the counts are no ruler."""
    failed = probe_failure(shape.exchanges())
    if failed is not None:
        return Judgement(failed.verdict, f"measuring the prompt: {failed.detail}")
    counts = [prompt_tokens(e) for e in shape.exchanges()]
    if any(c is None for c in counts):
        return Judgement(
            Verdict.INCONCLUSIVE, "no usage.prompt_tokens in the answers: the prompt's length cannot be measured"
        )
    one, two, three = (c or 0 for c in counts)
    first, second = two - one, three - two
    if first <= 0 or first != second:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"the increment does not measure consistently: prompt_tokens {one}, {two}, {three} for "
            f"{shape.step}, {2 * shape.step} and {3 * shape.step} copies",
        )
    return Ruler(one, shape.step, first / shape.step)


@dataclass(frozen=True, kw_only=True)
class Overflow:
    """``measure``: the ruler's three requests; ``long``: the same prompt with ``copies``
    copies, measured to exceed the context."""

    measure: Measure
    long: Exchange
    copies: int

    def exchanges(self) -> list[Exchange]:
        return [*self.measure.exchanges(), self.long]


def _refused(exchange: Exchange, what: str) -> Judgement:
    quality = envelope_quality(exchange, "context")
    message = quality["message"] or exchange.excerpt(120)
    grade = ", ".join(k for k in ("json", "openai_shape") if not quality[k])
    lacks = f"; error envelope lacks: {grade}" if grade else ""
    return Judgement(Verdict.REJECTED, f"HTTP {exchange.status}: {what} refused: {message!r}{lacks}")


def judge_prompt_overflow(shape: Overflow, context: int, statuses: Iterable[int] = VALIDATION_STATUSES) -> Judgement:
    """A prompt measured to exceed ``context`` tokens must be refused; a 200 whose
    prompt_tokens fall short of the measure was cut (IGNORED)."""
    ruler = measure(shape.measure)
    if isinstance(ruler, Judgement):
        return ruler
    long = shape.long
    expected = ruler.expected(shape.copies)
    what = f"a prompt of about {expected:.0f} tokens (context {context})"
    fixed = unusable(long)
    if fixed is not None:
        return fixed
    if is_validation_refusal(long, frozenset(statuses) | VALIDATION_STATUSES):
        return _refused(long, what)
    if not long.ok:
        return Judgement(
            Verdict.INCONCLUSIVE, f"HTTP {long.status} for {what} is not a validation refusal: {long.excerpt(160)}"
        )
    counted = prompt_tokens(long)
    control = f"the same prompt at 1-3 times {ruler.step} copies measures {ruler}"
    if counted is None:
        return Judgement(Verdict.INCONCLUSIVE, f"{what} was answered 200 without usage.prompt_tokens to compare")
    if counted < expected * (1 - TRUNCATION_SLACK) - 2:
        return Judgement(
            Verdict.IGNORED,
            f"prompt silently truncated: {what} answered 200 with prompt_tokens {counted}; the model never saw "
            f"{expected - counted:.0f} tokens of it and nothing in the reply says so",
            control,
        )
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"{what} was answered 200 with all {counted} prompt tokens counted: the served context is larger than "
        f"the {context} tokens configured (context_tokens in providers.toml), so nothing overflowed",
        control,
    )


@dataclass(frozen=True, kw_only=True)
class Overfill:
    """``probe``: a prompt that fits, with ``max_tokens`` that the context cannot also hold."""

    probe: Exchange

    def exchanges(self) -> list[Exchange]:
        return [self.probe]


def judge_max_tokens_overflow(
    shape: Overfill,
    context: int,
    max_tokens: int,
    fitted_by_documentation: str = "",
    statuses: Iterable[int] = VALIDATION_STATUSES,
) -> Judgement:
    """Prompt plus ``max_tokens`` beyond ``context``: a refusal is right (OpenAI's
    context_length_exceeded); a 200 is LENIENT, and says whether the completion was cut at the
    context's end. ``fitted_by_documentation``: the surface documents lowering it to fit."""
    exchange = shape.probe
    what = f"max_tokens={max_tokens} beyond what the context of {context} leaves after the prompt"
    fixed = unusable(exchange)
    if fixed is not None:
        return fixed
    if is_validation_refusal(exchange, frozenset(statuses) | VALIDATION_STATUSES):
        return _refused(exchange, what)
    if not exchange.ok:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"HTTP {exchange.status} for {what} is not a validation refusal: {exchange.excerpt(160)}",
        )
    prompt, completion, finish = prompt_tokens(exchange), completion_count(exchange), finish_reason(exchange)
    if prompt is None or completion is None:
        said = "no usage to tell whether it was cut"
    elif completion < max_tokens and finish == "length":
        said = (
            f"max_tokens cut to fit: finish_reason 'length' after {completion} tokens, where prompt ({prompt}) and "
            f"completion fill {prompt + completion} of the {context}; a client reads 'length' as its own max_tokens"
        )
    else:
        said = f"finish_reason {finish!r} after {completion} tokens: the model stopped before any cut"
    if fitted_by_documentation:
        return Judgement(Verdict.ACCEPTED, f"{what} accepted, as documented ({fitted_by_documentation}): {said}")
    return Judgement(Verdict.LENIENT, f"{what} accepted with HTTP 200, where OpenAI refuses it: {said}")
