"""report.html: one self-contained page (no network, no CDN): providers as columns,
parameters as rows, each cell the verdict per check as a colour and a word, the documented
range beside it; a click shows the evidence. Provider text is escaped by Jinja when it is
rendered and only ever set as ``textContent`` by the page's script."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.reporting.reference import DIFFERENCES, Grading
from harness.reporting.summary import Cell, per_provider
from harness.results import CONFORMING, FAILING, SEVERITY, Record, Verdict, worst
from harness.schema import Surface
from harness.schema.model import Parameter

EXCERPT = 300  # characters of a response kept per exchange in the page


def documented(param: Parameter | None) -> str:
    """The documented surface of one parameter, in a few words."""
    if param is None:
        return "not documented"
    s = param.schema
    low = s.get("minimum", s.get("exclusiveMinimum"))
    high = s.get("maximum", s.get("exclusiveMaximum"))
    parts = ["|".join(param.types)]
    if low is not None or high is not None:
        left = "[" if "minimum" in s else "("
        right = "]" if "maximum" in s else ")"
        parts.append(f"{left}{'' if low is None else low}, {'' if high is None else high}{right}")
    if "enum" in s:
        parts.append("{" + ", ".join(str(v) for v in s["enum"] if v is not None) + "}")
    if param.has_default:
        parts.append(f"default {json.dumps(param.default)}")
    if param.placement != "standard":
        parts.append(param.placement)
    return ", ".join(parts)


@dataclass
class Column:
    provider: str
    surface: str
    status: str  # "run", or why not ("not run: set X")
    totals: dict[str, Any] = field(default_factory=dict)
    reference_of: str = ""  # a reference column shown beside the candidate it grades


def _reference_column(grading: Grading, surface: str) -> Column:
    pairing = grading.pairing
    where = f"recorded {pairing.date}" if pairing.run else f"run {pairing.date}".strip()
    return Column(
        f"{pairing.reference} \u2192 {pairing.candidate}",
        surface,
        "run",
        {"policy": pairing.policy, "where": where, "counts": dict(sorted(grading.counts().items()))},
        reference_of=pairing.candidate,
    )


def _graded_cells(
    grading: Grading, column: Column, grid: dict[str, dict[str, list[dict[str, Any]]]], evidence: dict[str, Any]
) -> None:
    """The reference's verdict per cell in its column, each with its comparison; the
    candidate's chips marked where they differ."""
    pairing = grading.pairing
    for cell in grading.cells:
        if cell.param not in grid:
            continue
        kind = cell.kind.value
        fails = cell.kind in grading.failing_kinds
        key = f"{column.provider}|{cell.param}|{cell.check}"
        verdict = cell.reference_verdict.value if cell.reference_verdict else "NOT_RUN"
        evidence[key] = {
            "provider": pairing.reference,
            "param": cell.param,
            "check": cell.check,
            "verdict": verdict,
            "counts": dict(cell.counts),
            "records": [
                {
                    "case": c.case_id,
                    "label": "",
                    "verdict": kind_verdict,
                    "detail": f"{c.kind.value}: {c.why}",
                    "expect": "",
                }
                for c in cell.worst_cases(FULL_EVIDENCE + LISTED)
                for kind_verdict in [c.reference.value if c.reference else "NOT_RUN"]
            ],
            "more": max(0, len(cell.cases) - FULL_EVIDENCE - LISTED),
        }
        chip = {"check": cell.check, "verdict": verdict, "key": key, "cmp": kind, "fails": fails}
        grid[cell.param].setdefault(column.provider, []).append(chip)
        for mine in grid[cell.param].get(pairing.candidate, []):
            if mine["check"] == cell.check and cell.kind in DIFFERENCES:
                mine.update(cmp=kind, fails=fails)


def _exchange_view(exchange: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": exchange.get("url", ""),
        "request": exchange.get("request"),
        "status": exchange.get("status"),
        "outcome": exchange.get("outcome"),
        "response": (exchange.get("response_excerpt") or "")[:EXCERPT],
        "error": exchange.get("error") or "",
    }


def _record_view(record: Record, full: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "case": record.case_id,
        "label": record.label,
        "verdict": record.verdict.value,
        "detail": record.detail,
        "expect": record.expect,
    }
    if full:
        # Reproducers (curl, OpenAI SDK) are rebuilt by the page from the last request: the
        # same text as results.jsonl holds, without carrying every request three times.
        view["exchanges"] = [_exchange_view(e) for e in (record.evidence.get("exchanges") or [])[:3]]
    return view


FULL_EVIDENCE = 3  # records per cell shown in full (one per distinct verdict)
LISTED = 6  # further records per cell listed by verdict and detail; the rest are in results.jsonl


def _cell_view(cell: Cell) -> dict[str, Any]:
    # The worst records come first and in full: what a reader must act on. The page stays
    # small on large runs (10 providers x 1,000 cases under 2 MB); results.jsonl has it all.
    ranked = cell.worst_records(FULL_EVIDENCE + LISTED)
    # One example in full per distinct verdict (worst first), the others listed.
    shown: set[Verdict] = set()
    records = []
    for record in ranked:
        full = record.verdict not in shown and len(shown) < FULL_EVIDENCE
        shown.add(record.verdict)
        records.append(_record_view(record, full=full))
    for view in records:
        view["detail"] = view["detail"][:300]
    return {
        "check": cell.check,
        "verdict": cell.verdict.value,
        "counts": dict(cell.counts),
        "records": records,
        "more": len(cell.records) - len(ranked),
    }


def cell_anchor(column: int, param: int) -> str:
    """The id of a cell of the detail table: by position, so no provider text lands in an id."""
    return f"cell-{column}-{param}"


def _overview(
    columns: list[Column], params: list[str], grid: dict[str, dict[str, list[dict[str, Any]]]]
) -> tuple[dict[str, list[dict[str, str]]], list[dict[str, Any]]]:
    """The compact grid (per parameter, one square per column: the worst verdict of its chips,
    the words for hovering, the detail cell it links to) and, per column, its cells' verdicts
    counted, worst first, as the segments of a bar."""
    overview: dict[str, list[dict[str, str]]] = {}
    counts: list[Counter[str]] = [Counter() for _ in columns]
    for row, param in enumerate(params):
        squares = []
        for at, column in enumerate(columns):
            chips = grid[param][column.provider]
            verdicts = [Verdict(chip["verdict"]) for chip in chips]
            counts[at].update(v.value for v in verdicts)
            verdict = worst(verdicts).value if verdicts else ""
            words = ", ".join(f"{chip['check']} {chip['verdict']}" for chip in chips)
            words = words or (column.status if column.status != "run" else "no verdict")
            squares.append(
                {
                    "verdict": verdict,
                    "title": f"{column.provider} \u00b7 {param}: {words}",
                    "href": cell_anchor(at, row),
                }
            )
        overview[param] = squares
    bars = []
    for column, counted in zip(columns, counts, strict=True):
        total = sum(counted.values())
        segments = [
            {"verdict": v.value, "count": counted[v.value], "share": round(100 * counted[v.value] / total, 2)}
            for v in SEVERITY
            if counted[v.value]
        ]
        title = ", ".join(f"{s['verdict']} {s['count']}" for s in segments) or column.status
        bars.append({"provider": column.provider, "total": total, "segments": segments, "title": title})
    return overview, bars


def build_page(
    records: list[Record],
    cells: list[Cell],
    surfaces: dict[str, Surface],
    provider_surfaces: dict[str, str],
    meta: dict[str, Any],
    gradings: list[Grading] | None = None,
) -> dict[str, Any]:
    totals = per_provider(records, meta.get("sent"))
    columns: list[Column] = []
    for provider, surface in provider_surfaces.items():
        mine = [r for r in records if r.provider == provider]
        not_run = next((r.detail for r in mine if r.verdict is Verdict.NOT_RUN), None)
        t = totals.get(provider)
        columns.append(
            Column(
                provider,
                surface,
                not_run or "run",
                {"requests": t.requests, "tokens": t.completion_tokens} if t else {},
            )
        )
    for grading in gradings or []:
        at = next((i for i, c in enumerate(columns) if c.provider == grading.pairing.candidate), None)
        if at is not None:
            columns.insert(at + 1, _reference_column(grading, columns[at].surface))
    params: list[str] = []
    for column in columns:
        for name, param in surfaces[column.surface].parameters.items():
            if param.sent and name not in params:
                params.append(name)
    for cell in cells:
        if cell.param not in params and cell.param != "*":
            params.append(cell.param)
    grid: dict[str, dict[str, list[dict[str, Any]]]] = {p: {c.provider: [] for c in columns} for p in params}
    evidence: dict[str, Any] = {}
    for cell in cells:
        if cell.param not in grid or cell.provider not in grid[cell.param]:
            continue
        key = f"{cell.provider}|{cell.param}|{cell.check}"
        evidence[key] = {"provider": cell.provider, "param": cell.param, **_cell_view(cell)}
        grid[cell.param][cell.provider].append({"check": cell.check, "verdict": cell.verdict.value, "key": key})
    for grading in gradings or []:
        for column in columns:
            if column.reference_of == grading.pairing.candidate and column.provider.startswith(
                grading.pairing.reference
            ):
                _graded_cells(grading, column, grid, evidence)
    docs = {p: {c.provider: documented(surfaces[c.surface].parameters.get(p)) for c in columns} for p in params}
    overview, bars = _overview(columns, params, grid)
    key_envs: dict[str, str] = meta.get("key_envs", {})
    reproduce = {
        c.provider: {
            "key_env": key_envs.get(c.provider, ""),
            "standard": sorted(n for n, p in surfaces[c.surface].parameters.items() if p.placement == "standard"),
        }
        for c in columns
    }
    return {
        "meta": meta,
        "columns": columns,
        "params": params,
        "grid": grid,
        "docs": docs,
        "evidence_json": json.dumps(evidence, ensure_ascii=True, default=str, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026"),
        "reproduce": reproduce,
        "overview": overview,
        "bars": bars,
        "present": sorted({segment["verdict"] for bar in bars for segment in bar["segments"]}),
        "verdicts": [v.value for v in SEVERITY],
        "failing": sorted(v.value for v in FAILING),
        "conforming": sorted(v.value for v in CONFORMING),
        "failing_count": sum(1 for c in cells if c.verdict in FAILING),
        "gradings": [
            {
                **g.pairing.to_json(),
                "differences": len(g.differences()),
                "failing": len(g.failing()),
                "tools": g.tools.describe() if g.tools else "",
            }
            for g in gradings or []
        ],
    }


def render_html(page: dict[str, Any]) -> str:
    env = Environment(
        loader=PackageLoader("harness.reporting", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**page)


def write_html(
    records: list[Record],
    cells: list[Cell],
    surfaces: dict[str, Surface],
    provider_surfaces: dict[str, str],
    meta: dict[str, Any],
    path: Path,
    gradings: list[Grading] | None = None,
) -> None:
    page = build_page(records, cells, surfaces, provider_surfaces, meta, gradings)
    path.write_text(render_html(page), encoding="utf-8")
