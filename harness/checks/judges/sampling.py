"""Judges of sampling parameters: a differential probe (the value changes the seeded output),
a greedy-equivalence probe (the value makes sampling equal greedy decoding), and a documented
default (omitting the parameter behaves like its documented default, and unlike the others).

Each needs controls that could have refuted it:

- the baseline, shared by every differential and default probe of one length
  (``Baseline``): the seeded base request reproduces; the same request with a longer
  ``max_tokens`` extends its text (and goes on past it where the short one stopped at the
  limit), so the text comes from a sampler run further and not from a cache or the request
  bytes; the same request with another documented parameter at its neutral default
  (``presence_penalty: 0`` ...) gives the same text, so a change of the parameter set alone
  does not change the output; and another seed changes the text, so sampling is on and an
  effect could be seen at all (needed for IGNORED only).
- differential: the same request with the parameter at its *neutral* value (the value at
  which it does nothing) must leave the output unchanged.
- greedy equivalence: a longer greedy request must extend the greedy text (the inert control,
  without a seed); sampling without the value must differ from greedy decoding under some
  seed (else there is no room for an effect); two seeds must both give the greedy text.
- default: the documented default must be told apart from the alternatives (other surfaces'
  defaults, common engine defaults, the probe's own value) by some probe; "omitted equals
  documented" is no evidence while an alternative gives the same text. "Not applied" needs
  an alternative that reproduces the omitted output exactly, or the inert control.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.checks.judges.outcome import Judgement, extends, finish_reason, probe_failure, quote, text_of
from harness.checks.judges.shapes import guarded
from harness.results import Verdict
from harness.transport import Exchange


@dataclass(frozen=True, kw_only=True)
class Baseline:
    """The seeded base request of one length and its controls (see the module docstring)."""

    base: Exchange
    again: Exchange  # the same request, sent again
    longer: Exchange  # the same request with a longer max_tokens
    other_seed: Exchange | None  # the same request under another seed (see ``variation``)
    neutral_key: Exchange | None = None  # with another documented parameter at its neutral default
    neutral_key_name: str = ""  # e.g. "presence_penalty=0"
    # What ``other_seed`` changed. Under greedy decoding (no seed) it is another penalty: the
    # proof that penalties act on greedy decoding here, so an ignored one could be seen.
    variation: str = "another seed"
    kind: str = "seeded"  # "greedy" where the base request is greedy decoding without a seed

    def exchanges(self) -> list[Exchange]:
        """What the guard checks. Not ``other_seed``: where it failed, an effect could not be
        seen (``sampling_visible``), which decides only IGNORED."""
        extra = [self.neutral_key] if self.neutral_key is not None else []
        return [self.base, self.again, self.longer, *extra]

    def sent(self) -> list[Exchange]:
        """Every request of the baseline (the evidence)."""
        return [*self.exchanges(), *([self.other_seed] if self.other_seed else [])]

    @property
    def text(self) -> str | None:
        return text_of(self.base)

    @property
    def sampling_visible(self) -> bool:
        """Another seed changes the text: sampling is on, so an effect on it could be seen."""
        if self.other_seed is None:
            return False
        other = text_of(self.other_seed)
        return self.other_seed.ok and other is not None and other != self.text


def _no_text(named: dict[str, Exchange]) -> Judgement | None:
    empty = [name for name, exchange in named.items() if text_of(exchange) is None]
    if empty:
        return Judgement(
            Verdict.INCONCLUSIVE, f"no generated text to compare ({', '.join(empty)} answered without content)"
        )
    return None


def inert_change_problem(short: Exchange, longer: Exchange, what: str) -> Judgement | None:
    """A longer max_tokens must extend the text, not replace it; where the short one stopped at
    its limit, the longer one must go on past it (a cache that ignores max_tokens does not)."""
    text, extended = text_of(short), text_of(longer)
    if extends(text, extended, strictly=finish_reason(short) == "length"):
        return None
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"an inert change (a longer max_tokens) replaced {what} ({quote(text)} -> {quote(extended)}) instead of "
        "extending it: this provider's text depends on the request itself (a response cache, or no real "
        "sampler behind it), so no difference can be attributed to a parameter",
    )


def baseline_problem(baseline: Baseline) -> Judgement | None:
    """Why the shared baseline cannot support a verdict, or None: the guard over its
    exchanges, then whether it reproduces, ignores a neutral key and extends."""
    return probe_failure(baseline.exchanges()) or _unsettled(baseline)


def _unsettled(baseline: Baseline) -> Judgement | None:
    empty = _no_text({"the base request": baseline.base, "its repeat": baseline.again})
    if empty:
        return empty
    if baseline.text != text_of(baseline.again):
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"the same {baseline.kind} request gave different outputs ({quote(baseline.text)} vs "
            f"{quote(text_of(baseline.again))}), so outputs with and without a value cannot be compared",
        )
    if baseline.neutral_key is not None and text_of(baseline.neutral_key) != baseline.text:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"sending {baseline.neutral_key_name} (its documented default, which does nothing) changed the "
            f"{baseline.kind} output ({quote(baseline.text)} -> {quote(text_of(baseline.neutral_key))}): this "
            "provider's output changes with the request itself, so no change can be attributed to a parameter",
        )
    return inert_change_problem(baseline.base, baseline.longer, f"the {baseline.kind} output")


@dataclass(frozen=True, kw_only=True)
class Differential:
    """``probe``: the baseline's base request with the value; ``control``: with the parameter's
    neutral value, which must leave the output unchanged (None where the parameter has no
    neutral value: the baseline's inert control is then the only one)."""

    baseline: Baseline
    probe: Exchange
    control: Exchange | None

    def exchanges(self) -> list[Exchange]:
        """The probe's own requests (the baseline is judged before them: ``judge_differential``)."""
        return [self.probe] + ([self.control] if self.control else [])


def judge_differential(probe: Differential, param: str, value: Any, neutral: Any) -> Judgement:
    """``param=value`` against the shared baseline, ``param=neutral`` the control."""
    # Not the shared guard alone: the shared baseline decides first, whole (its failures, then
    # whether it reproduces, ignores a neutral key and extends), before the probe's failures.
    return baseline_problem(probe.baseline) or _differential(probe, param, value, neutral)


@guarded
def _differential(differential: Differential, param: str, value: Any, neutral: Any) -> Judgement:
    baseline, probe, control = differential.baseline, differential.probe, differential.control
    shown = f"{param}={value!r}"
    named = {"the probe": probe} | ({"the control": control} if control else {})
    empty = _no_text(named)
    if empty:
        return empty
    base, after = baseline.text, text_of(probe)
    controls = [f"a longer max_tokens only extends the {baseline.kind} output"]
    if control is not None:
        if text_of(control) != base:
            return Judgement(
                Verdict.INCONCLUSIVE,
                f"the control {param}={neutral!r}, which does nothing, already changed the {baseline.kind} output "
                f"({quote(base)} -> {quote(text_of(control))}): a default that is not neutral, or an output that "
                "changes with the request itself, so no change can be attributed to the value",
            )
        controls.insert(0, f"{param}={neutral!r} (no effect by definition) leaves the {baseline.kind} output unchanged")
    if after != base:
        return Judgement(
            Verdict.HONOURED,
            f"{shown} changed the {baseline.kind} output: {quote(base)} -> {quote(after)}",
            "; ".join(controls),
        )
    if not baseline.sampling_visible:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"{shown} left the output unchanged, and so does {baseline.variation}: no effect of this kind "
            "could be seen here",
        )
    controls.append(f"{baseline.variation} changes the output, so an effect could be seen")
    return Judgement(
        Verdict.IGNORED, f"{shown} left the {baseline.kind} output unchanged ({quote(after)})", "; ".join(controls)
    )


@dataclass(frozen=True, kw_only=True)
class GreedyProbe:
    """Per seed in ``seeds``: ``sampled`` at temperature 1 without the value, ``seeded`` with
    it; ``greedy``: temperature 0, and ``greedy_longer`` the same with a longer max_tokens."""

    greedy: Exchange
    greedy_longer: Exchange
    sampled: Sequence[Exchange]
    seeded: Sequence[Exchange]
    seeds: Sequence[int]

    def exchanges(self) -> list[Exchange]:
        return [*self.sampled, self.greedy, self.greedy_longer, *self.seeded]


@guarded
def judge_greedy(probe: GreedyProbe, param: str, value: Any) -> Judgement:
    """The value must make every seed give the greedy text, and sampling without it must
    differ from greedy decoding under some seed (else there is no room for an effect).
    Ignored means: with the value, each seed gives what it gives without. For
    ``temperature=0`` the greedy reference is the probe itself; the second seed decides."""
    greedy, greedy_longer = probe.greedy, probe.greedy_longer
    sampled, seeded, seeds = probe.sampled, probe.seeded, probe.seeds
    shown = f"{param}={value!r}"
    named = {"greedy decoding": greedy}
    named |= {f"sampling, seed {s}": e for s, e in zip(seeds, sampled, strict=True)}
    named |= {f"{shown}, seed {s}": e for s, e in zip(seeds, seeded, strict=True)}
    empty = _no_text(named)
    if empty:
        return empty
    inert = inert_change_problem(greedy, greedy_longer, "the greedy output")
    if inert:
        return inert
    reference = text_of(greedy)
    without = [text_of(e) for e in sampled]
    outputs = [text_of(e) for e in seeded]
    if all(t == reference for t in without):
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"sampling at temperature 1 already equals greedy decoding under {len(seeds)} seeds: no room for an effect",
        )
    differing = next(s for s, t in zip(seeds, without, strict=True) if t != reference)
    inert_text = "a longer greedy request extends the greedy output"
    if all(o == reference for o in outputs):
        return Judgement(
            Verdict.HONOURED,
            f"{shown} equals greedy decoding under {len(seeds)} seeds ({quote(reference)})",
            f"sampling without it differs from greedy decoding under seed {differing}; {inert_text}",
        )
    if outputs == without:
        return Judgement(
            Verdict.IGNORED,
            f"{shown} left the seeded outputs unchanged ({quote(outputs[0])})",
            f"greedy decoding ({quote(reference)}) differs from sampling under seed {differing}; {inert_text}",
        )
    shown_outputs = ", ".join(f"seed {s}: {quote(o)}" for s, o in zip(seeds, outputs, strict=True))
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"{shown} changes the output but not to greedy decoding ({shown_outputs}; greedy: {quote(reference)})",
    )


@dataclass(kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class DefaultSearch:
    """``baseline``: the base request and its controls; ``trials``: the probe configurations
    tried, in order (a plan stops adding them once one decides)."""

    baseline: Baseline
    trials: Sequence[DefaultTrial]

    def exchanges(self) -> list[Exchange]:
        """The trials' requests (the baseline is judged before them: ``judge_default``)."""
        return [e for t in self.trials for e in t.exchanges()]


def judge_default(search: DefaultSearch, param: str, documented: Any, model: Any = None) -> Judgement:
    """Omitting ``param`` must behave like its ``documented`` default, and unlike every
    alternative in some trial. ``model``: the value the served model's generation_config.json
    sets (one of the alternatives), named as such when the server applies it, or does not."""
    # Not the shared guard alone: the shared baseline decides first, whole, before the trials'
    # failures (as in ``judge_differential``).
    return baseline_problem(search.baseline) or _default(search, param, documented, model)


def _named(value: str, model: Any) -> str:
    """An alternative (its repr) as the detail names it: the model's own value says so."""
    if model is not None and value == repr(model):
        return f"{value} (the model's generation_config.json value)"
    return value


@guarded
def _default(search: DefaultSearch, param: str, documented: Any, model: Any = None) -> Judgement:
    baseline, trials = search.baseline, search.trials
    for trial in trials:
        empty = _no_text({"omitted": trial.omitted, "explicit": trial.documented})
        if empty:
            return empty
        omitted, explicit = text_of(trial.omitted), text_of(trial.documented)
        if omitted != explicit:
            return _not_applied(param, documented, trial, omitted, explicit, model)
    left = [_named(a, model) for a in undecided_alternatives(trials)]
    tried = "; ".join(t.label for t in trials)
    if not trials[0].alternatives:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"omitting {param} gives the same output as {documented!r}, but no other value was tried, "
            "so nothing shows the parameter matters here",
        )
    if not left:
        # Where the model sets a value of its own, say the server does not apply it: the
        # documented default wins over the model's generation_config.json.
        applied = (
            f", not the model's generation_config.json value {model!r}"
            if model is not None and repr(model) in trials[0].alternatives
            else ""
        )
        return Judgement(
            Verdict.HONOURED,
            f"omitting {param} behaves like the documented default {documented!r}{applied}",
            f"every alternative ({', '.join(trials[0].alternatives)}) gives another output in at least one of: "
            f"{tried}; a longer max_tokens only extends the {baseline.kind} output",
        )
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"omitting {param} gives the same output as {documented!r}, but also as {', '.join(left)}: "
        f"no probe tried ({tried}) tells these values apart, so the default is not shown",
    )


def _not_applied(
    param: str, documented: Any, trial: DefaultTrial, omitted: str | None, explicit: str | None, model: Any = None
) -> Judgement:
    matches = [_named(name, model) for name, e in trial.alternatives.items() if text_of(e) == omitted]
    inert = text_of(trial.inert) if trial.inert is not None else None
    inert_holds = trial.inert is not None and inert_change_problem(trial.omitted, trial.inert, "") is None
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
