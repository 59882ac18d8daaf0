"""`harness run` and `harness record`: one provider held to one surface, then its gate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness import paths
from harness.checks.judges.profile import PROBE_MODES
from harness.errors import ConfigError
from harness.reporting.console import make_console, print_gate, print_summary
from harness.reporting.gate import GATES, apply_gate
from harness.reporting.summary import summarise
from harness.results import read_results
from harness.runs import RunOptions, run_provider
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


def positive_int(text: str) -> int:
    """argparse type for counts: a whole number of at least 1 (argparse makes it one line, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def _add_run_flags(parser: Any, with_mode: bool) -> None:
    parser.add_argument("--provider", required=True, help="a name from providers.toml")
    parser.add_argument("--schema", help="hold the provider to another documented surface than its own")
    if with_mode:
        parser.add_argument(
            "--mode",
            default="replay",
            choices=MODES,
            help="live: send; record: send and write cassettes; replay: offline (default)",
        )
    parser.add_argument("--out", type=Path, help="output folder (default: reports/<time>-<provider>)")
    parser.add_argument("--resume", type=Path, metavar="DIR", help="continue the run in DIR: only what is missing")
    parser.add_argument("--params", help="comma-separated parameters to test (default: all)")
    parser.add_argument("--checks", help="comma-separated check names (default: all enabled)")
    parser.add_argument(
        "--probe-mode",
        choices=PROBE_MODES,
        help="how sampling probes prove an effect: auto (measure whether the seed reproduces; the default), "
        "seeded, seed-free (overrides providers.toml)",
    )
    parser.add_argument("--no-seed", action="store_true", help="never send `seed` (overrides providers.toml)")
    parser.add_argument(
        "--gate",
        choices=GATES,
        default="strict",
        help="strict: any non-conformance fails (default); baseline: only regressions against baselines/; "
        "none: exit 0 whatever the verdicts",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        help="requests in flight, at most the provider's max_parallel_requests (the default)",
    )


def add_commands(sub: Any) -> None:
    run = sub.add_parser("run", help="run the checks against one provider")
    _add_run_flags(run, with_mode=True)
    run.set_defaults(func=cmd_run)
    record = sub.add_parser("record", help="re-record a provider's cassettes (live, then written to cassettes/)")
    _add_run_flags(record, with_mode=False)
    record.set_defaults(func=cmd_record)
