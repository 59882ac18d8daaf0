"""The CI gate. ``strict``: any non-conformance fails. ``baseline``: compare each
provider x parameter x check with the committed ``baselines/<provider>.json`` and fail only
on regressions (a cell that was not failing and now is), reporting improvements too."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError
from harness.reporting.summary import Cell
from harness.results import FAILING, Verdict

GATES = ("strict", "baseline", "none")


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
    return folder / f"{provider}.json"


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


def apply_gate(gate: str, cells: list[Cell], baselines: Path) -> GateResult:
    result = GateResult(gate)
    if gate == "none":
        return result
    if gate == "strict":
        result.failures = [f"{c.provider}: {_key(c)} is {c.verdict.value}" for c in cells if c.verdict in FAILING]
        return result
    loaded: dict[str, dict[str, str]] = {}
    for cell in cells:
        if cell.provider not in loaded:
            path = baseline_path(baselines, cell.provider)
            loaded[cell.provider] = load_baseline(path)
            if not path.exists() and cell.verdict is not Verdict.NOT_RUN:
                result.notes.append(
                    f"{cell.provider}: no baseline at {path}; every failing cell counts as a regression"
                )
        before = loaded[cell.provider].get(_key(cell))
        was_failing = before is not None and Verdict(before) in FAILING
        now_failing = cell.verdict in FAILING
        name = f"{cell.provider}: {_key(cell)}"
        if now_failing and not was_failing:
            result.failures.append(f"regression: {name} was {before or 'not tested'}, now {cell.verdict.value}")
        elif was_failing and not now_failing and cell.verdict not in (Verdict.NOT_RECORDED, Verdict.NOT_RUN):
            result.improvements.append(f"improvement: {name} was {before}, now {cell.verdict.value}")
    return result
