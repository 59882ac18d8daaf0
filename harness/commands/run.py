"""`harness run` and `harness record`: one provider held to one surface, then its gate."""

from __future__ import annotations

import argparse
from typing import Any

from harness import paths
from harness.errors import ConfigError
from harness.reporting.console import make_console, print_gate, print_summary
from harness.reporting.gate import apply_gate
from harness.reporting.summary import summarise
from harness.results import read_results
from harness.runs import OPTIONS, RunOptions, add_arguments, run_provider
from harness.transport.cassettes import MODES


def cmd_run(args: argparse.Namespace) -> int:
    """Strict by default: any non-conformance, any missing evidence, or nothing decided at all
    is exit 1 (the printed lines say which)."""
    if args.mode not in MODES:
        raise ConfigError(f"--mode must be one of {', '.join(MODES)}")
    options = RunOptions(
        provider=args.provider,
        schema=args.schema,
        mode=args.mode,
        out=args.out,
        resume=args.resume,
        params=[p.strip() for p in args.params.split(",") if p.strip()] if args.params else None,
        jobs=args.jobs,
        checks=args.checks.split(",") if args.checks else None,
        probe_mode=args.probe_mode,
        no_seed=args.no_seed,
        new_only=getattr(args, "new_only", False),
    )
    if options.resume is not None and not (options.resume / "results.jsonl").exists():
        raise ConfigError(f"--resume {options.resume}: no results.jsonl there to resume from")
    out, stats = run_provider(options)
    console = make_console()
    print_summary(out, stats, console)
    gate = apply_gate(args.gate, summarise(read_results(out / "results.jsonl")), paths.project_root() / "baselines")
    print_gate(gate, console, limit=20)
    return gate.exit_code


def cmd_record(args: argparse.Namespace) -> int:
    args.mode = "record"
    return cmd_run(args)


# The run options, in their order on the command line (declared in harness.runs.options).
RUN_FLAGS = ("schema", "mode", "out", "resume", "params", "checks", "probe_mode", "no_seed", "gate", "jobs")


def add_commands(sub: Any) -> None:
    run = sub.add_parser("run", help="run the checks against one provider")
    add_arguments(run, OPTIONS["provider"].one(required=True), *RUN_FLAGS)
    run.set_defaults(func=cmd_run)
    record = sub.add_parser("record", help="re-record a provider's cassettes (live, then written to cassettes/)")
    add_arguments(record, OPTIONS["provider"].one(required=True), *(f for f in RUN_FLAGS if f != "mode"), "new_only")
    record.set_defaults(func=cmd_record)
