"""What the commands print: the per-column table, a run's summary and the gate's lines."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.engine import RunStats
from harness.reporting.gate import GateResult
from harness.reporting.reference import Grading
from harness.reporting.summary import per_provider
from harness.results import CONFORMING, FAILING, SEVERITY, Record, Verdict


def make_console() -> Console:
    """Wide when writing to a file or a CI log, where rich would otherwise assume 80 columns."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def _breakdown(counts: dict[str, int], verdicts: frozenset[Verdict] | list[Verdict]) -> str:
    return ", ".join(f"{v.value} {counts[v.value]}" for v in SEVERITY if v in verdicts and counts.get(v.value))


def print_table(records: list[Record], sent: dict[str, dict[str, int]], console: Console) -> None:
    table = Table(title="conformance (records per verdict)")
    for column in ("provider", "surface", "conforming", "non-conforming", "other", "requests", "tokens"):
        table.add_column(column, justify="right" if column in ("requests", "tokens") else "left")
    surfaces = {r.provider: r.surface for r in records}
    others = [v for v in SEVERITY if v not in FAILING and v not in CONFORMING]
    for name, totals in per_provider(records, sent).items():
        table.add_row(
            name,
            surfaces[name],
            _breakdown(totals.verdicts, CONFORMING),
            _breakdown(totals.verdicts, FAILING),
            _breakdown(totals.verdicts, others),
            str(totals.requests),
            str(totals.completion_tokens),
        )
    console.print(table)


def print_summary(out: Path, stats: RunStats, console: Console) -> None:
    parts = ", ".join(f"{v} {n}" for v, n in sorted(stats.verdicts.items()))
    console.print(
        f"{sum(stats.verdicts.values())} results ({parts}); {stats.requests} requests sent, "
        f"{stats.completion_tokens} completion tokens; {stats.skipped} skipped (already done)"
    )
    if stats.probes:
        console.print(f"probes: {stats.probes}", highlight=False, markup=False)
    console.print(f"results: {out / 'results.jsonl'}")


def print_gate(gate: GateResult, console: Console, limit: int | None = None) -> None:
    """The gate's notes, improvements and failures; at most ``limit`` failures, then a count."""
    shown = gate.failures if limit is None else gate.failures[:limit]
    for line in gate.notes + gate.improvements + shown:
        console.print(line, highlight=False, markup=False)
    if len(gate.failures) > len(shown):
        console.print(f"... and {len(gate.failures) - len(shown)} more", highlight=False)


def print_grading(grading: Grading, console: Console) -> None:
    """One line per graded pair: the policy, where the reference came from, its comparisons."""
    pairing = grading.pairing
    source = f"recorded in {pairing.run}" if pairing.run else "run alongside"
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(grading.counts().items()))
    console.print(
        f"graded {grading.name} ({pairing.policy}; reference {source}, {pairing.date}): {counts}; "
        f"{len(grading.failing())} failing under {pairing.policy}",
        highlight=False,
        markup=False,
    )
    if grading.tools is not None:
        console.print(f"  {grading.tools.describe()}", highlight=False, markup=False)
