"""Grading a candidate column against a reference column: the same probe plan, held to the same
surface, compared case by case (the same case id on both sides), then per parameter x check.

Documentation is silent on most of what breaks an integration, so a team asks "does our server
behave like the API we developed against?" (the method of the 2026 vendor verifiers: Kimi's K2
Vendor Verifier, MiniMax's and DeepSeek's ``dpv``). Each pair of records gets a ``Comparison``:
MATCH, a DIFFERENCE of one kind, or UNDECIDED when either side decided nothing (INCONCLUSIVE,
NOT_RUN, NOT_RECORDED, TRANSPORT_ERROR) or has no such case: an undecided pair is neither a
match nor a failure. The kinds, from the two verdicts alone:

- ``broken``: the candidate answers SERVER_ERROR (a 5xx or an unusable body) where the reference
  does not;
- ``stricter``: the candidate refuses (REJECTED, OVER_STRICT) what the reference accepts;
- ``laxer``: the candidate accepts what the reference refuses;
- ``ignored``: both accept, the candidate shows less of the effect (reference HONOURED,
  candidate IGNORED; or reference ACCEPTED/HONOURED where the candidate is IGNORED);
- ``extension``: the candidate shows an effect the reference does not (candidate HONOURED where
  the reference IGNORED), or answers where the reference breaks;
- ``envelope``: the same decision with another status code or another error envelope (dpv's
  ``official-parity`` compares statuses too).

Two policies decide which kinds fail: ``parity`` (every difference) and ``self-hosted`` (only
``broken`` and ``ignored``: a team's own deployment may refuse more, accept more or do more than
the reference, and that is reported, not failed). Pure: records in, a ``Grading`` out; the run
folder's ``grading.json`` (which pairs, which policy, where the reference came from) and
``reference.jsonl`` (a recorded reference's records) make it re-renderable from files alone.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.providers import file_stem
from harness.results import Record, Verdict, read_results, worst


class Comparison(StrEnum):
    MATCH = "MATCH"
    BROKEN = "broken"
    IGNORED = "ignored"
    STRICTER = "stricter"
    LAXER = "laxer"
    EXTENSION = "extension"
    ENVELOPE = "envelope"
    UNDECIDED = "UNDECIDED"


# Worst first: a cell's comparison is its worst pair's. UNDECIDED outranks MATCH as
# INCONCLUSIVE outranks ACCEPTED: a cell with an undecided case is not shown as matching.
ORDER = [
    Comparison.BROKEN,
    Comparison.IGNORED,
    Comparison.STRICTER,
    Comparison.LAXER,
    Comparison.EXTENSION,
    Comparison.ENVELOPE,
    Comparison.UNDECIDED,
    Comparison.MATCH,
]
DIFFERENCES = frozenset(ORDER) - {Comparison.MATCH, Comparison.UNDECIDED}
POLICIES: dict[str, frozenset[Comparison]] = {
    "parity": DIFFERENCES,
    "self-hosted": frozenset({Comparison.BROKEN, Comparison.IGNORED}),
}
DEFAULT_POLICY = "self-hosted"

_UNDECIDED = frozenset({Verdict.INCONCLUSIVE, Verdict.NOT_RUN, Verdict.NOT_RECORDED, Verdict.TRANSPORT_ERROR})
_REFUSES = frozenset({Verdict.REJECTED, Verdict.OVER_STRICT, Verdict.REFUSED})
_BREAKS = frozenset({Verdict.SERVER_ERROR, Verdict.BROKEN})
_NO_ANSWER = frozenset({Verdict.NOT_RUN, Verdict.NOT_RECORDED, Verdict.TRANSPORT_ERROR})
# Among verdicts that accepted the request: how much of the documented effect was seen.
# A gateway's verdicts (check `gateway`) rank the same way: forwarded as sent is the effect
# honoured, any silent change of the value (dropped, clamped, translated, added) is none.
_EFFECT = {
    Verdict.IGNORED: 0,
    Verdict.ACCEPTED: 1,
    Verdict.LENIENT: 1,
    Verdict.HONOURED: 2,
    Verdict.PASSED: 2,
    Verdict.DROPPED: 0,
    Verdict.CLAMPED: 0,
    Verdict.TRANSLATED: 0,
    Verdict.ADDED: 0,
}


def compare_verdicts(reference: Verdict, candidate: Verdict) -> Comparison:
    """The comparison of one case from its two verdicts (statuses aside: ``compare_records``)."""
    if reference in _UNDECIDED or candidate in _UNDECIDED:
        return Comparison.UNDECIDED
    if reference is candidate:
        return Comparison.MATCH
    if candidate in _BREAKS:
        return Comparison.BROKEN if reference not in _BREAKS else Comparison.MATCH
    if reference in _BREAKS:
        return Comparison.EXTENSION
    if (candidate in _REFUSES) != (reference in _REFUSES):
        return Comparison.STRICTER if candidate in _REFUSES else Comparison.LAXER
    if candidate in _REFUSES:  # both refuse: REJECTED and OVER_STRICT differ in the document only
        return Comparison.MATCH
    ours, theirs = _EFFECT[candidate], _EFFECT[reference]
    if ours == theirs:
        return Comparison.MATCH
    return Comparison.IGNORED if ours < theirs else Comparison.EXTENSION


def _last_status(record: Record) -> tuple[int | None, str]:
    """The last exchange's status and error-envelope form, where the record has one."""
    exchanges = record.evidence.get("exchanges") or []
    if not exchanges:
        return None, ""
    last = exchanges[-1]
    status = last.get("status")
    if not isinstance(status, int) or status < 400:
        return status if isinstance(status, int) else None, ""
    return status, envelope_form(str(last.get("response_excerpt") or ""))


def envelope_form(body: str) -> str:
    """An error body's shape, in a few words: ``error{message,type,...}`` for OpenAI's envelope
    (its keys, sorted), ``object=error{...}`` for the older one, else its top-level keys."""
    try:
        data = json.loads(body)
    except ValueError:
        return "not JSON" if body else "empty"
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}"
    error = data.get("error")
    if isinstance(error, dict):
        return "error{" + ",".join(sorted(error)) + "}"
    prefix = "object=error" if data.get("object") == "error" else ""
    return prefix + "{" + ",".join(sorted(data)) + "}"


def compare_records(reference: Record, candidate: Record) -> tuple[Comparison, str]:
    """One case's comparison and why, statuses and error envelopes included."""
    kind = compare_verdicts(reference.verdict, candidate.verdict)
    why = f"reference {reference.verdict.value}, candidate {candidate.verdict.value}"
    if kind is not Comparison.MATCH:
        return kind, why
    (ref_status, ref_form), (cand_status, cand_form) = _last_status(reference), _last_status(candidate)
    if ref_status is None or cand_status is None:
        return kind, why
    if ref_status != cand_status:
        return Comparison.ENVELOPE, f"{why}; status {ref_status} vs {cand_status}"
    if ref_form != cand_form:
        return Comparison.ENVELOPE, f"{why}; error envelope {ref_form} vs {cand_form}"
    return kind, why


@dataclass
class CaseComparison:
    case_id: str
    kind: Comparison
    why: str
    reference: Verdict | None
    candidate: Verdict | None


@dataclass
class GradedCell:
    """One parameter x check of the candidate beside the reference's."""

    param: str
    check: str
    kind: Comparison
    reference_verdict: Verdict | None
    candidate_verdict: Verdict | None
    cases: list[CaseComparison] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def key(self) -> str:
        return f"{self.param} [{self.check}]"

    def worst_cases(self, limit: int = 3) -> list[CaseComparison]:
        return sorted(self.cases, key=lambda c: (ORDER.index(c.kind), c.case_id))[:limit]

    def to_json(self) -> dict[str, Any]:
        return {
            "param": self.param,
            "check": self.check,
            "comparison": self.kind.value,
            "reference": self.reference_verdict.value if self.reference_verdict else None,
            "candidate": self.candidate_verdict.value if self.candidate_verdict else None,
            "counts": dict(sorted(self.counts.items())),
            "why": [f"{c.case_id}: {c.kind.value}: {c.why}" for c in self.worst_cases()],
        }


@dataclass(frozen=True)
class Pairing:
    """Which column is graded against which, under which policy, and where the reference came
    from (``run``: a recorded reference's run folder, else ""; ``date``: when it was run)."""

    candidate: str
    reference: str
    policy: str = DEFAULT_POLICY
    run: str = ""
    date: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "candidate": self.candidate,
            "reference": self.reference,
            "policy": self.policy,
            "run": self.run,
            "date": self.date,
        }


@dataclass(frozen=True)
class ToolAgreement:
    """Tool-call agreement with the reference over the versioned tool prompts (K2 Vendor
    Verifier's method): the trigger (``finish_reason == "tool_calls"``) precision, recall and F1
    against the reference answer for answer (same prompt, tool_choice and repeat), the share of
    the candidate's calls whose arguments parse and validate (schema accuracy) and whose names
    are right (name accuracy), and the reference's own run-to-run spread: the F1 of each of its
    repeats against each other one. The threshold is the lowest of those: a candidate agreeing
    less with the reference than the reference agrees with itself is below it."""

    version: str
    answers: int  # answer pairs compared
    precision: float | None
    recall: float | None
    f1: float
    schema_accuracy: float | None
    name_accuracy: float | None
    reference_schema_accuracy: float | None
    spread: tuple[float, ...]  # the reference's F1 between two of its repeats, each pair
    threshold: float | None

    @property
    def passes(self) -> bool | None:
        return None if self.threshold is None else self.f1 >= self.threshold

    def describe(self) -> str:
        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.2f}"

        spread = ", ".join(f"{f:.2f}" for f in self.spread) or "not measured"
        verdict = {None: "no threshold", True: "within", False: "BELOW"}[self.passes]
        return (
            f"tool calls ({self.version}, {self.answers} answers): trigger F1 {self.f1:.2f} "
            f"(precision {pct(self.precision)}, recall {pct(self.recall)}), schema accuracy "
            f"{pct(self.schema_accuracy)} (reference {pct(self.reference_schema_accuracy)}), name accuracy "
            f"{pct(self.name_accuracy)}; the reference's own spread (F1 between its repeats) {spread}: "
            f"threshold {pct(self.threshold)}, {verdict}"
        )

    def to_json(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__}, "passes": self.passes}


Answer = dict[str, Any]  # a record's evidence["tool_agreement"]


def _answers(records: list[Record]) -> dict[tuple[str, str, int], Answer]:
    found: dict[tuple[str, str, int], Answer] = {}
    for record in records:
        if record.verdict in _NO_ANSWER:
            continue  # nothing was answered (not recorded, not sent): no trigger either way
        seen = record.evidence.get("tool_agreement")
        if isinstance(seen, dict):
            found[(str(seen["prompt"]), str(seen["choice"]), int(seen["repeat"]))] = seen
    return found


def _triggered(answer: Answer) -> bool:
    return answer.get("finish_reason") == "tool_calls"


def _trigger_scores(pairs: list[tuple[Answer, Answer]]) -> tuple[float | None, float | None, float]:
    """Precision, recall and F1 of the candidate's triggers against the reference's (an answer
    that failed is no trigger). No trigger on either side is full agreement: F1 1."""
    tp = sum(1 for ref, cand in pairs if _triggered(ref) and _triggered(cand))
    fp = sum(1 for ref, cand in pairs if not _triggered(ref) and _triggered(cand))
    fn = sum(1 for ref, cand in pairs if _triggered(ref) and not _triggered(cand))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    if tp + fp + fn == 0:
        return precision, recall, 1.0
    return precision, recall, 2 * tp / (2 * tp + fp + fn)


def _share(answers: list[Answer], key: str) -> float | None:
    called = [a for a in answers if a.get("calls")]
    return sum(1 for a in called if a.get(key)) / len(called) if called else None


def tool_agreement(candidate: list[Record], reference: list[Record]) -> ToolAgreement | None:
    """The agreement of the two columns' tool-prompt answers, where both have some."""
    ours, theirs = _answers(candidate), _answers(reference)
    keys = sorted(set(ours) & set(theirs))
    if not keys:
        return None
    versions = {str(a.get("version")) for a in [*ours.values(), *theirs.values()]}
    precision, recall, f1 = _trigger_scores([(theirs[k], ours[k]) for k in keys])
    repeats = sorted({k[2] for k in theirs})
    spread = []
    for i, first in enumerate(repeats):
        for second in repeats[i + 1 :]:
            prompts = sorted(
                {(p, c) for p, c, r in theirs if r == first} & {(p, c) for p, c, r in theirs if r == second}
            )
            if prompts:
                pairs = [(theirs[(p, c, first)], theirs[(p, c, second)]) for p, c in prompts]
                spread.append(_trigger_scores(pairs)[2])
    return ToolAgreement(
        version="/".join(sorted(versions)),
        answers=len(keys),
        precision=precision,
        recall=recall,
        f1=f1,
        schema_accuracy=_share([ours[k] for k in keys], "schema_ok"),
        name_accuracy=_share([ours[k] for k in keys], "names_ok"),
        reference_schema_accuracy=_share([theirs[k] for k in keys], "schema_ok"),
        spread=tuple(spread),
        threshold=min(spread) if spread else None,
    )


@dataclass
class Grading:
    pairing: Pairing
    cells: list[GradedCell]
    tools: ToolAgreement | None = None

    @property
    def failing_kinds(self) -> frozenset[Comparison]:
        return POLICIES[self.pairing.policy]

    def failing(self) -> list[GradedCell]:
        return [c for c in self.cells if c.kind in self.failing_kinds]

    def differences(self) -> list[GradedCell]:
        return [c for c in self.cells if c.kind in DIFFERENCES]

    def counts(self) -> Counter[str]:
        return Counter(c.kind.value for c in self.cells)

    @property
    def name(self) -> str:
        return f"{self.pairing.candidate} vs {self.pairing.reference}"


def grade(pairing: Pairing, candidate: list[Record], reference: list[Record]) -> Grading:
    """Compare ``candidate``'s records with ``reference``'s, case by case (by case id)."""
    if pairing.policy not in POLICIES:
        raise ConfigError(f"policy {pairing.policy!r}: must be one of {', '.join(POLICIES)}")
    theirs = {r.case_id: r for r in reference}
    ours = {r.case_id: r for r in candidate}
    cells: dict[tuple[str, str], GradedCell] = {}
    for case_id in dict.fromkeys([*ours, *theirs]):
        mine, ref = ours.get(case_id), theirs.get(case_id)
        some = mine or ref
        assert some is not None
        if mine is not None and ref is not None:
            kind, why = compare_records(ref, mine)
        else:
            kind, why = Comparison.UNDECIDED, "no such case in the " + ("reference" if ref is None else "candidate")
        cell = cells.setdefault(
            (some.param, some.check), GradedCell(some.param, some.check, Comparison.MATCH, None, None)
        )
        cell.cases.append(
            CaseComparison(case_id, kind, why, ref.verdict if ref else None, mine.verdict if mine else None)
        )
        cell.counts[kind.value] += 1
    for cell in cells.values():
        cell.kind = min((c.kind for c in cell.cases), key=ORDER.index)
        cell.reference_verdict = _worst([c.reference for c in cell.cases])
        cell.candidate_verdict = _worst([c.candidate for c in cell.cases])
    return Grading(
        pairing, sorted(cells.values(), key=lambda c: (c.param, c.check)), tool_agreement(candidate, reference)
    )


def _worst(verdicts: list[Verdict | None]) -> Verdict | None:
    present = [v for v in verdicts if v is not None]
    return worst(present) if present else None


# The run folder's files: which pairs to grade, and a recorded reference's records.
GRADING_FILE = "grading.json"
REFERENCE_RECORDS = "reference.jsonl"


def write_pairings(out: Path, pairings: list[Pairing]) -> None:
    (out / GRADING_FILE).write_text(json.dumps([p.to_json() for p in pairings], indent=1) + "\n", encoding="utf-8")


def read_pairings(out: Path) -> list[Pairing]:
    path = out / GRADING_FILE
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Pairing(**{k: str(v) for k, v in item.items()}) for item in data]
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{path}: not a grading file ({err})") from err


def gradings_of(out: Path, records: list[Record]) -> list[Grading]:
    """Every grading the run folder asks for, from its records (and a recorded reference's)."""
    pairings = read_pairings(out)
    if not pairings:
        return []
    recorded = read_results(out / REFERENCE_RECORDS)
    gradings = []
    for pairing in pairings:
        candidate = [r for r in records if r.provider == pairing.candidate]
        source = recorded if pairing.run else records
        reference = [r for r in source if r.provider == pairing.reference]
        gradings.append(grade(pairing, candidate, reference))
    return gradings


# The baseline's entry for tool-call agreement below the reference's own spread.
TOOL_AGREEMENT_KEY = "tools [tool-agreement F1]"
BELOW = "below-threshold"


def grading_baseline_path(folder: Path, pairing: Pairing) -> Path:
    return folder / f"{file_stem(pairing.candidate)}.vs.{file_stem(pairing.reference)}.json"


def write_grading_baselines(gradings: list[Grading], folder: Path) -> list[Path]:
    """The known differences of each pair: a baselined difference does not fail the baseline
    gate, a new one does."""
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for grading in gradings:
        path = grading_baseline_path(folder, grading.pairing)
        cells = {c.key: c.kind.value for c in grading.cells if c.kind in DIFFERENCES}
        body: dict[str, Any] = {
            "candidate": grading.pairing.candidate,
            "reference": grading.pairing.reference,
            "cells": cells,
        }
        if grading.tools is not None and grading.tools.passes is False:
            cells[TOOL_AGREEMENT_KEY] = BELOW
        path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def load_grading_baseline(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: malformed grading baseline: invalid JSON at line {err.lineno}") from err
    cells = data.get("cells") if isinstance(data, dict) else None
    allowed = {k.value for k in DIFFERENCES} | {BELOW}
    if not isinstance(cells, dict) or not all(v in allowed for v in cells.values()):
        raise ConfigError(f"{path}: /cells: malformed grading baseline: expected 'param [check]' to a difference kind")
    return {str(k): str(v) for k, v in cells.items()}
