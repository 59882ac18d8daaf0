"""summary.md: short enough for a CI step summary or a pull-request comment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.reporting.reference import Grading
from harness.reporting.summary import Cell, per_provider
from harness.results import FAILING, SEVERITY, Record

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MARKUP = re.compile(r"([\\`*_\[\]<>|#!~])")


def _escape(text: str) -> str:
    """Provider text as inert Markdown: control bytes shown as escapes, line breaks as
    spaces, and every character Markdown or HTML would act on escaped with a backslash."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text).replace("\r", " ").replace("\n", " ")
    return _MARKUP.sub(r"\\\1", text).replace("&", "&amp;")


def render_grading(grading: Grading, limit: int = 25) -> list[str]:
    """One grading: the pair, the policy, where the reference came from, its differences."""
    pairing = grading.pairing
    source = f"recorded run {_escape(pairing.run)}" if pairing.run else "run alongside"
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(grading.counts().items()))
    lines = [
        "",
        f"## Graded against the reference: {_escape(pairing.candidate)} vs {_escape(pairing.reference)}",
        "",
        f"Policy **{pairing.policy}** (failing: {', '.join(sorted(k.value for k in grading.failing_kinds))}); "
        f"reference {source}, dated {pairing.date or 'unknown'}. Cells: {counts}.",
        "",
    ]
    if grading.tools is not None:
        lines += [_escape(grading.tools.describe()) + ".", ""]
    differences = grading.differences()
    if not differences:
        return [*lines, "No difference."]
    lines += [
        "| parameter | check | comparison | reference | candidate | fails | why |",
        "|---|---|---|---|---|---|---|",
    ]
    differences.sort(key=lambda c: (c.kind not in grading.failing_kinds, c.param, c.check))
    for cell in differences[:limit]:
        fails = "**yes**" if cell.kind in grading.failing_kinds else "no"
        why = _escape(cell.worst_cases(1)[0].why[:160])
        lines.append(
            f"| {_escape(cell.param)} | {cell.check} | {cell.kind.value} | {cell.reference_verdict} | "
            f"{cell.candidate_verdict} | {fails} | {why} |"
        )
    if len(differences) > limit:
        lines.append(f"\n... and {len(differences) - limit} more: see report.html")
    return lines


def render_markdown(
    records: list[Record],
    cells: list[Cell],
    meta: dict[str, Any],
    limit: int = 25,
    gradings: list[Grading] | None = None,
) -> str:
    lines = [f"# Provider conformance ({meta.get('mode', '')}, {meta.get('date', '')})", ""]
    totals = per_provider(records, meta.get("sent"))
    order = [v.value for v in SEVERITY]
    lines += ["| provider | surface | requests | completion tokens | verdicts |", "|---|---|---:|---:|---|"]
    surfaces = {c.provider: c.surface for c in cells}
    for name, t in totals.items():
        counts = ", ".join(f"{v} {t.verdicts[v]}" for v in order if t.verdicts[v])
        lines.append(f"| {name} | {surfaces.get(name, '')} | {t.requests} | {t.completion_tokens} | {counts} |")
    failing = [c for c in cells if c.verdict in FAILING]
    lines += ["", f"## Non-conformances ({len(failing)} provider x parameter x check)", ""]
    if failing:
        lines += ["| provider | parameter | check | verdict | detail |", "|---|---|---|---|---|"]
        failing.sort(key=lambda c: (SEVERITY.index(c.verdict), c.provider, c.param))
        for cell in failing[:limit]:
            detail = _escape(cell.worst_records(1)[0].detail[:180])
            provider, param = _escape(cell.provider), _escape(cell.param)
            lines.append(f"| {provider} | {param} | {cell.check} | **{cell.verdict.value}** | {detail} |")
        if len(failing) > limit:
            lines.append(f"\n... and {len(failing) - limit} more: see report.html")
    else:
        lines.append("None.")
    for grading in gradings or []:
        lines += render_grading(grading, limit)
    return "\n".join(lines) + "\n"


def write_markdown(
    records: list[Record], cells: list[Cell], meta: dict[str, Any], path: Path, gradings: list[Grading] | None = None
) -> None:
    path.write_text(render_markdown(records, cells, meta, gradings=gradings), encoding="utf-8")
