"""The CI gate. ``strict``: any non-conformance fails, and so does missing evidence
(NOT_RECORDED, TRANSPORT_ERROR) or a provider with no decided cell. ``baseline``: compare each
provider x parameter x check with the committed ``baselines/<provider>.json`` and fail on
regressions: a cell that was not failing and now is, or a decided cell that lost its evidence
(now INCONCLUSIVE, TRANSPORT_ERROR or NOT_RECORDED), and so does a provider with no decided
cell. ``none``: verdicts never fail.

Whatever the gate, a run that decided nothing never passes: a dead provider, or replay with
no cassette, is not a conforming one. NOT_RUN (no key) is neutral and printed; NOT_RUN
"budget reached" (a unit a budget did not start) is missing evidence: strict fails on it,
baseline where the cell had evidence. Missing
evidence is read from a cell's counts, not only its verdict: one NOT_RECORDED record in a cell
whose worst verdict is INCONCLUSIVE or LENIENT is still missing evidence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError
from harness.providers import file_stem
from harness.reporting.reference import (
    BELOW,
    TOOL_AGREEMENT_KEY,
    Grading,
    grading_baseline_path,
    load_grading_baseline,
)
from harness.reporting.summary import Cell
from harness.results import BUDGET_REACHED, CONFORMING, DECIDED, FAILING, MISSING_EVIDENCE, Verdict, budget_stopped

GATES = ("strict", "baseline", "none")
UNDECIDED = frozenset({Verdict.INCONCLUSIVE}) | MISSING_EVIDENCE


@dataclass
class GateResult:
    gate: str
    failures: list[str] = field(default_factory=list)  # what makes the exit code 1
    improvements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


def _key(cell: Cell) -> str:
    return f"{cell.param} [{cell.check}]"


def baseline_path(folder: Path, provider: str) -> Path:
    """A column's baseline: ``<column>.json``, the column as a file name (a model's ``/``)."""
    return folder / f"{file_stem(provider)}.json"


def load_baseline(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: malformed baseline: invalid JSON at line {err.lineno} column {err.colno}") from err
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, dict) or not all(v in Verdict.__members__ for v in cells.values()):
        raise ConfigError(f"{path}: /cells: malformed baseline: expected a map of 'param [check]' to a verdict")
    return {str(k): str(v) for k, v in cells.items()}


def write_baselines(cells: list[Cell], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    by_provider: dict[str, dict[str, str]] = {}
    for cell in cells:
        if cell.verdict in (Verdict.NOT_RUN, Verdict.NOT_RECORDED):
            continue
        by_provider.setdefault(cell.provider, {})[_key(cell)] = cell.verdict.value
    for provider, verdicts in by_provider.items():
        path = baseline_path(folder, provider)
        path.write_text(json.dumps({"provider": provider, "cells": dict(sorted(verdicts.items()))}, indent=1) + "\n")
        written.append(path)
    return written


def _by_provider(cells: list[Cell]) -> dict[str, list[Cell]]:
    grouped: dict[str, list[Cell]] = {}
    for cell in cells:
        grouped.setdefault(cell.provider, []).append(cell)
    return grouped


def missing_evidence(cell: Cell) -> list[str]:
    """The missing-evidence verdicts among a cell's records (whatever its worst verdict); a
    unit a budget did not start is one: the cell's evidence was not gathered, not found absent."""
    found = [v.value for v in sorted(MISSING_EVIDENCE) if cell.counts.get(v.value)]
    if any(budget_stopped(r) for r in cell.records):
        found.append(f"{Verdict.NOT_RUN.value} ({BUDGET_REACHED})")
    return found


def _evidence_rules(cells: list[Cell], result: GateResult, gate: str) -> None:
    """NOT_RUN is printed; under strict and baseline a provider with no decided cell fails;
    under strict any missing evidence fails too."""
    for provider, group in _by_provider(cells).items():
        if all(c.verdict is Verdict.NOT_RUN and not missing_evidence(c) for c in group):
            result.notes.append(f"{provider}: NOT_RUN ({group[0].worst_records(1)[0].detail})")
            continue
        if gate == "none":
            continue
        if gate == "strict":
            for cell in group:
                if missing_evidence(cell):
                    result.failures.append(
                        f"{provider}: {_key(cell)} has {', '.join(missing_evidence(cell))}: no evidence"
                    )
        if not any(c.verdict in DECIDED for c in group):
            result.failures.append(f"{provider}: no cell decided: nothing shows this provider conforms")


def _baseline(cells: list[Cell], baselines: Path, result: GateResult) -> None:
    loaded: dict[str, dict[str, str]] = {}
    for cell in cells:
        if cell.provider not in loaded:
            path = baseline_path(baselines, cell.provider)
            loaded[cell.provider] = load_baseline(path)
            if not path.exists() and cell.verdict is not Verdict.NOT_RUN:
                result.notes.append(
                    f"{cell.provider}: no baseline at {path}; every failing cell counts as a regression"
                )
        before_name = loaded[cell.provider].get(_key(cell))
        before = Verdict(before_name) if before_name is not None else None
        name = f"{cell.provider}: {_key(cell)}"
        now = cell.verdict
        if now in FAILING and (before is None or before not in FAILING):
            result.failures.append(f"regression: {name} was {before_name or 'not tested'}, now {now.value}")
        elif before in DECIDED and (now in UNDECIDED or missing_evidence(cell)):
            shown = now.value if now in UNDECIDED else f"{now.value} with {', '.join(missing_evidence(cell))}"
            if now is Verdict.NOT_RUN:
                shown = ", ".join(missing_evidence(cell))  # a unit the budget did not start
            result.failures.append(f"regression: {name} was {before_name}, now {shown}: evidence lost")
        elif before in FAILING and now in CONFORMING:
            result.improvements.append(f"improvement: {name} was {before_name}, now {now.value}")


def _grading(gate: str, grading: Grading, baselines: Path, result: GateResult) -> None:
    """The differences the grading's policy fails on: all of them under strict, the new ones
    (against the pair's baseline of known differences) under baseline."""
    pairing = grading.pairing
    known = load_grading_baseline(grading_baseline_path(baselines, pairing)) if gate == "baseline" else {}
    for cell in grading.cells:
        was = known.get(cell.key)
        if was and cell.kind.value == "MATCH":
            result.improvements.append(f"improvement: {grading.name}: {cell.key} was {was}, now MATCH")
    if grading.tools is not None and grading.tools.passes is False and known.get(TOOL_AGREEMENT_KEY) != BELOW:
        result.failures.append(f"{grading.name}: {grading.tools.describe()}")
    for cell in grading.failing():
        was = known.get(cell.key)
        if was == cell.kind.value:
            continue
        before = f" (baselined: {was})" if was else ""
        result.failures.append(
            f"{grading.name}: {cell.key} is {cell.kind.value}{before}: reference "
            f"{cell.reference_verdict}, candidate {cell.candidate_verdict}"
        )


def apply_gate(
    gate: str,
    cells: list[Cell],
    baselines: Path,
    gradings: list[Grading] | None = None,
    not_gated: frozenset[str] = frozenset(),
) -> GateResult:
    """The gate over ``cells`` (except the columns in ``not_gated``: a reference run only to be
    graded against) and over each grading under its policy."""
    result = GateResult(gate)
    cells = [c for c in cells if c.provider not in not_gated]
    if gate != "none":
        for grading in gradings or []:
            _grading(gate, grading, baselines, result)
    _evidence_rules(cells, result, gate)
    if gate == "strict":
        result.failures += [f"{c.provider}: {_key(c)} is {c.verdict.value}" for c in cells if c.verdict in FAILING]
    elif gate == "baseline":
        _baseline(cells, baselines, result)
    if not any(c.verdict in DECIDED for c in cells):
        ran = [c for c in cells if c.verdict is not Verdict.NOT_RUN]
        why = "no cell has a conforming or failing verdict" if ran else "nothing ran"
        if cells and not ran:
            why = "every provider is NOT_RUN"
        result.failures.append(f"the run decided nothing ({why}): a gate cannot pass on no evidence")
    return result
