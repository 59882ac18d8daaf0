"""Judges of sampling parameters: a differential probe (the value changes the seeded output),
a greedy-equivalence probe (the value makes sampling equal greedy decoding), and a documented
default (omitting the parameter behaves like its documented default, and unlike the others).

Each needs a control that could have refuted it:

- differential: the same request with the parameter at its *neutral* value (the value at
  which it does nothing) must leave the output unchanged. A response cache, or a provider
  whose text depends on the request bytes, changes the output for any change; the neutral
  control catches it.
- greedy equivalence: sampling without the value must differ from greedy decoding (else
  there is no room for an effect), and two seeds must both give the greedy text.
- default: the documented default must be told apart from the alternatives (other
  surfaces' defaults, common engine defaults) by some probe; "omitted equals documented" is
  no evidence while an alternative gives the same text. "Not applied" needs the inert
  control (a longer ``max_tokens`` must extend the omitted output, not replace it) or an
  alternative that reproduces the omitted output exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.checks.judges.outcome import Judgement, probe_failure, quote, text_of
from harness.results import Verdict
from harness.transport import Exchange

# A differential probe's control when the parameter has no neutral value: the base request
# with a longer max_tokens, which must extend the seeded output and not replace it.
INERT: Any = object()


def _no_text(named: dict[str, Exchange]) -> Judgement | None:
    empty = [name for name, exchange in named.items() if text_of(exchange) is None]
    if empty:
        return Judgement(
            Verdict.INCONCLUSIVE, f"no generated text to compare ({', '.join(empty)} answered without content)"
        )
    return None


def judge_differential(
    param: str,
    value: Any,
    neutral: Any,
    repeats: Sequence[Exchange],
    control: Exchange,
    probe: Exchange,
    provider: str,
) -> Judgement:
    """``repeats``: the seeded base request twice; ``probe``: with ``param=value``;
    ``control``: with ``param=neutral``, which must leave the output unchanged, or, where the
    parameter has no neutral value (``neutral`` is ``INERT``), the base request with a longer
    ``max_tokens``, which must only extend it."""
    shown = f"{param}={value!r}"
    failed = probe_failure([*repeats, control, probe], provider)
    if failed:
        return failed
    empty = _no_text({"the base request": repeats[0], "the control": control, "the probe": probe})
    if empty:
        return empty
    base, again, controlled, after = text_of(repeats[0]), text_of(repeats[1]), text_of(control), text_of(probe)
    assert base is not None and controlled is not None
    if base != again:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"the same seed gave different outputs ({quote(base)} vs {quote(again)}), "
            "so a differential probe cannot decide",
        )
    if neutral is INERT:
        holds, what = controlled.startswith(base), "a longer max_tokens (an inert change)"
        control_text = f"{what} only extended the seeded output"
    else:
        holds, what = controlled == base, f"{param}={neutral!r}, which does nothing,"
        control_text = f"{param}={neutral!r} (no effect by definition) left the seeded output unchanged"
    if not holds:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"the control {what} already changed the seeded output ({quote(base)} -> {quote(controlled)}): "
            "this provider's output changes with the request itself (a response cache, or a default that is "
            "not neutral), so no change can be attributed to the value",
        )
    if after != base:
        return Judgement(
            Verdict.HONOURED, f"{shown} changed the seeded output: {quote(base)} -> {quote(after)}", control_text
        )
    return Judgement(Verdict.IGNORED, f"{shown} left the seeded output unchanged ({quote(after)})", control_text)


def judge_greedy(
    param: str,
    value: Any,
    sampled: Sequence[Exchange],
    greedy: Exchange,
    seeded: Sequence[Exchange],
    seeds: Sequence[int],
    provider: str,
) -> Judgement:
    """Per seed in ``seeds``: ``sampled`` at temperature 1 without the value, ``seeded`` with
    it; ``greedy``: temperature 0. The value must make every seed give the greedy text, and
    sampling without it must differ from greedy decoding under some seed (else there is no
    room for an effect). Ignored means: with the value, each seed gives what it gives without.
    For ``temperature=0`` the greedy reference is the probe itself; the second seed decides."""
    shown = f"{param}={value!r}"
    failed = probe_failure([*sampled, greedy, *seeded], provider)
    if failed:
        return failed
    named = {"greedy decoding": greedy}
    named |= {f"sampling, seed {s}": e for s, e in zip(seeds, sampled, strict=True)}
    named |= {f"{shown}, seed {s}": e for s, e in zip(seeds, seeded, strict=True)}
    empty = _no_text(named)
    if empty:
        return empty
    reference = text_of(greedy)
    without = [text_of(e) for e in sampled]
    outputs = [text_of(e) for e in seeded]
    if all(t == reference for t in without):
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"sampling at temperature 1 already equals greedy decoding under {len(seeds)} seeds: no room for an effect",
        )
    differing = next(s for s, t in zip(seeds, without, strict=True) if t != reference)
    if all(o == reference for o in outputs):
        return Judgement(
            Verdict.HONOURED,
            f"{shown} equals greedy decoding under {len(seeds)} seeds ({quote(reference)})",
            f"sampling without it differs from greedy decoding under seed {differing}",
        )
    if outputs == without:
        return Judgement(
            Verdict.IGNORED,
            f"{shown} left the seeded outputs unchanged ({quote(outputs[0])})",
            f"greedy decoding ({quote(reference)}) differs from sampling under seed {differing}",
        )
    shown_outputs = ", ".join(f"seed {s}: {quote(o)}" for s, o in zip(seeds, outputs, strict=True))
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"{shown} changes the output but not to greedy decoding ({shown_outputs}; greedy: {quote(reference)})",
    )


@dataclass
class DefaultTrial:
    """One probe configuration of a default check and what each request gave."""

    label: str  # e.g. "temperature 1, seed 1234, 16 tokens"
    omitted: Exchange
    documented: Exchange
    alternatives: dict[str, Exchange] = field(default_factory=dict)  # repr(value) -> exchange
    inert: Exchange | None = None  # the omitted request with a longer max_tokens

    def exchanges(self) -> list[Exchange]:
        sent = [self.omitted, self.documented, *self.alternatives.values()]
        return sent + ([self.inert] if self.inert is not None else [])


def undecided_alternatives(trials: Sequence[DefaultTrial]) -> list[str]:
    """The alternatives no trial has told apart from the documented default so far."""
    if not trials:
        return []
    left = list(trials[0].alternatives)
    for trial in trials:
        documented = text_of(trial.documented)
        left = [a for a in left if a not in trial.alternatives or text_of(trial.alternatives[a]) == documented]
    return left


def judge_default(
    param: str,
    documented: Any,
    repeats: Sequence[Exchange],
    trials: Sequence[DefaultTrial],
    provider: str,
) -> Judgement:
    """``repeats``: the base request twice (the seed must reproduce); ``trials``: the probe
    configurations tried, in order (a plan stops adding them once one decides)."""
    failed = probe_failure([*repeats, *(e for t in trials for e in t.exchanges())], provider)
    if failed:
        return failed
    first, again = text_of(repeats[0]), text_of(repeats[1])
    if first is None or first != again:
        return Judgement(
            Verdict.INCONCLUSIVE,
            "the same seed gave different outputs (or none), so omitted and explicit cannot be compared",
        )
    for trial in trials:
        empty = _no_text({"omitted": trial.omitted, "explicit": trial.documented})
        if empty:
            return empty
        omitted, explicit = text_of(trial.omitted), text_of(trial.documented)
        if omitted != explicit:
            return _not_applied(param, documented, trial, omitted, explicit)
    left = undecided_alternatives(trials)
    tried = "; ".join(t.label for t in trials)
    if not trials[0].alternatives:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"omitting {param} gives the same output as {documented!r}, but no other value was tried, "
            "so nothing shows the parameter matters here",
        )
    if not left:
        return Judgement(
            Verdict.HONOURED,
            f"omitting {param} behaves like the documented default {documented!r}",
            f"every alternative ({', '.join(trials[0].alternatives) or 'none'}) gives another output "
            f"in at least one of: {tried}",
        )
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"omitting {param} gives the same output as {documented!r}, but also as {', '.join(left)}: "
        f"no probe tried ({tried}) tells these values apart, so the default is not shown",
    )


def _not_applied(
    param: str, documented: Any, trial: DefaultTrial, omitted: str | None, explicit: str | None
) -> Judgement:
    matches = [name for name, e in trial.alternatives.items() if text_of(e) == omitted]
    inert = text_of(trial.inert) if trial.inert is not None else None
    inert_holds = inert is not None and omitted is not None and inert.startswith(omitted)
    found = f"; the real default behaves like {param}={matches[0]}" if matches else ""
    detail = (
        f"the documented default {param}={documented!r} is not applied when omitted ({trial.label}): "
        f"omitted gives {quote(omitted)}, explicit gives {quote(explicit)}{found}"
    )
    if matches:
        return Judgement(Verdict.IGNORED, detail, f"{param}={matches[0]} reproduces the omitted output exactly")
    if inert_holds:
        return Judgement(
            Verdict.IGNORED, detail, "a longer max_tokens extends the omitted output (an inert change changes nothing)"
        )
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"omitting {param} and sending {documented!r} differ, but so does an inert change (a longer max_tokens "
        f"gave {quote(inert)} instead of extending {quote(omitted)}): the difference cannot be attributed to {param}",
    )
