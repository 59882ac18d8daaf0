"""`harness run` and `harness record`: one provider held to one surface, then its gate."""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

from harness import paths
from harness.commands.plan import show_plan
from harness.errors import ConfigError
from harness.providers import load_providers, resolve_provider
from harness.reporting.console import make_console, print_gate, print_grading, print_summary
from harness.reporting.gate import apply_gate
from harness.reporting.reference import gradings_of, write_pairings
from harness.reporting.summary import summarise
from harness.results import read_results
from harness.runs import OPTIONS, RunOptions, add_arguments, run_provider
from harness.runs.reference import graded_checks, pairing_of, read_recorded, recorded_reference, reference_pairs
from harness.runs.runner import target_of
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
        budget_requests=args.budget_requests,
        budget_usd=args.budget_usd,
    )
    if options.resume is not None and not (options.resume / "results.jsonl").exists():
        raise ConfigError(f"--resume {options.resume}: no results.jsonl there to resume from")
    providers = load_providers()
    # Recording writes one provider's cassettes: a reference is graded by a run, not recorded with it.
    pairs = (
        []
        if options.mode == "record"
        else reference_pairs(
            providers, [resolve_provider(args.provider, providers)], args.reference or [], args.policy, args.schema
        )
    )
    if pairs and options.resume is not None:
        raise ConfigError("--resume cannot go with a reference: run the pair again into a new folder")
    pair = pairs[0] if pairs else None
    if pair is not None:
        options = dataclasses.replace(options, schema=pair.candidate.surface.name, checks=graded_checks(options.checks))
        if args.reference_run is not None:
            read_recorded(args.reference_run, pair.reference.column)
    if args.plan:
        shown = [target_of(options)] + ([pair.reference] if pair is not None and args.reference_run is None else [])
        show_plan(shown, options.params, options.checks)  # a pair's checks are graded_checks already
    out, stats = run_provider(options)
    console = make_console()
    print_summary(out, stats, console)
    not_gated: frozenset[str] = frozenset()
    if pair is not None:
        if args.reference_run is not None:
            date = recorded_reference(args.reference_run, pair.reference.column, out)
        else:
            reference = RunOptions(pair.reference.provider.name, schema=pair.reference.surface.name, mode=options.mode)
            run_provider(
                dataclasses.replace(
                    reference,
                    out=out,
                    jobs=options.jobs,
                    params=options.params,
                    checks=options.checks,
                    budget_requests=options.budget_requests,
                    budget_usd=options.budget_usd,
                )
            )
            date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            not_gated = frozenset({pair.reference.column})
        write_pairings(out, [pairing_of(pair, args.reference_run, date)])
    records = read_results(out / "results.jsonl")
    gradings = gradings_of(out, records)
    for grading in gradings:
        print_grading(grading, console)
    gate = apply_gate(args.gate, summarise(records), paths.project_root() / "baselines", gradings, not_gated)
    print_gate(gate, console, limit=20)
    return gate.exit_code


def cmd_record(args: argparse.Namespace) -> int:
    args.mode = "record"
    args.reference, args.reference_run, args.policy = [], None, None
    return cmd_run(args)


# The run options, in their order on the command line (declared in harness.runs.options).
RUN_FLAGS = ("schema", "mode", "out", "resume", "params", "checks", "probe_mode", "no_seed", "gate", "jobs")
# Before a live run: what it can spend, and the most it may (harness.runs.plan, engine.Admission).
BUDGET_FLAGS = ("plan", "budget_requests", "budget_usd")
REFERENCE_FLAGS = ("reference", "reference_run", "policy")


def add_commands(sub: Any) -> None:
    run = sub.add_parser("run", help="run the checks against one provider")
    add_arguments(run, OPTIONS["provider"].one(required=True), *RUN_FLAGS, *BUDGET_FLAGS, *REFERENCE_FLAGS)
    run.set_defaults(func=cmd_run)
    record = sub.add_parser("record", help="re-record a provider's cassettes (live, then written to cassettes/)")
    add_arguments(
        record,
        OPTIONS["provider"].one(required=True),
        *(f for f in RUN_FLAGS if f != "mode"),
        *BUDGET_FLAGS,
        "new_only",
    )
    record.set_defaults(func=cmd_record)
