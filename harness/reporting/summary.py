"""Aggregate records into one row per provider x parameter x check: the cell every report shows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.results import CONFORMING, FAILING, Record, Verdict, worst


@dataclass
class Cell:
    provider: str
    surface: str
    param: str
    check: str
    verdict: Verdict
    counts: Counter[str] = field(default_factory=Counter)
    records: list[Record] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        return self.verdict in FAILING

    @property
    def conforming(self) -> bool:
        return self.verdict in CONFORMING

    def worst_records(self, limit: int = 5) -> list[Record]:
        """The records behind the cell's verdict first: the evidence a reader wants."""
        ranked = sorted(self.records, key=lambda r: (r.verdict != self.verdict, r.case_id))
        return ranked[:limit]

    def to_json(self) -> dict[str, Any]:
        first = self.worst_records(1)[0]
        return {
            "provider": self.provider,
            "surface": self.surface,
            "param": self.param,
            "check": self.check,
            "verdict": self.verdict.value,
            "counts": dict(sorted(self.counts.items())),
            "detail": first.detail,
        }


def summarise(records: list[Record]) -> list[Cell]:
    cells: dict[tuple[str, str, str], Cell] = {}
    for record in records:
        key = (record.provider, record.param, record.check)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = Cell(record.provider, record.surface, record.param, record.check, record.verdict)
        cell.records.append(record)
        cell.counts[record.verdict.value] += 1
    for cell in cells.values():
        cell.verdict = worst([r.verdict for r in cell.records])
    return sorted(cells.values(), key=lambda c: (c.provider, c.param, c.check))


@dataclass
class RunTotals:
    providers: list[str]
    requests: int
    completion_tokens: int
    verdicts: Counter[str]

    @classmethod
    def of(cls, records: list[Record]) -> RunTotals:
        return cls(
            providers=sorted({r.provider for r in records}),
            requests=sum(r.requests for r in records),
            completion_tokens=sum(r.completion_tokens for r in records),
            verdicts=Counter(r.verdict.value for r in records),
        )


def per_provider(records: list[Record], sent: dict[str, dict[str, int]] | None = None) -> dict[str, RunTotals]:
    """Totals per provider; ``sent`` (the run log) gives the requests and tokens really sent,
    which the records' own sums overcount where checks share a request."""
    grouped: dict[str, list[Record]] = {}
    for record in records:
        grouped.setdefault(record.provider, []).append(record)
    totals = {name: RunTotals.of(group) for name, group in sorted(grouped.items())}
    for name, real in (sent or {}).items():
        if name in totals:
            totals[name].requests = real["requests"]
            totals[name].completion_tokens = real["completion_tokens"]
    return totals
