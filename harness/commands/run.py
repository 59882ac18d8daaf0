"""`harness run` and `harness record`: one provider held to one surface, then its gate."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from harness import paths
from harness.commands.plan import show_plan
from harness.errors import ConfigError
from harness.providers import Provider, file_stem, load_providers, resolve_provider
from harness.reporting.console import make_console, print_gate, print_grading, print_summary
from harness.reporting.gate import apply_gate
from harness.reporting.reference import gradings_of, write_pairings
from harness.reporting.shards import Shard, ShardNote, write_shard_note
from harness.reporting.summary import summarise
from harness.results import read_results
from harness.runs import OPTIONS, RunOptions, Target, add_arguments, new_run_dir, run_provider
from harness.runs.reference import (
    ReferencePair,
    graded_checks,
    pairing_of,
    read_recorded,
    recorded_reference,
    reference_pairs,
)
from harness.runs.shards import whole_column_checks
from harness.runs.targets import expand, select_models
from harness.schema import surface_named
from harness.transport.cassettes import MODES


def _note_shard(out: Path, shard: Shard, columns: list[Target], options: RunOptions, console: Console) -> None:
    """The run folder's shard.json, and the checks a part of a column leaves out, said."""
    names = tuple(t.column for t in columns)
    split = dict.fromkeys(names, options.unit_share) if options.unit_share else {}
    left_out = tuple(whole_column_checks(options.checks)) if split else ()
    write_shard_note(out, ShardNote(shard, names, split=split, left_out=left_out, run_columns=names))
    if split:
        console.print(
            f"shard {shard} of {', '.join(names)}'s units; left out (they judge every exchange of the column): "
            f"{', '.join(left_out) or 'none'}",
            highlight=False,
        )


def _one_pair(pairs: list[ReferencePair], columns: list[Target], provider: str) -> ReferencePair | None:
    """The pair to grade, if any: it grades an entry's plain column; one of several models or
    a route is not one yet."""
    pair = pairs[0] if pairs else None
    wanted = [(t.model_name, t.route) for t in columns]
    if pair is not None and wanted != [(pair.candidate.model_name, pair.candidate.route)]:
        raise ConfigError(
            f"--reference: {provider!r} runs as {', '.join(t.column for t in columns)}: a reference "
            f"grades the column {pair.candidate.column!r} alone (an entry of one model, no routes)"
        )
    return pair


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
    shard: Shard | None = getattr(args, "shard", None)
    if shard is not None and shard.count > 1:
        if options.mode != "live" or args.reference:
            # See harness.runs.shards: a replay serves identical requests in the order the whole
            # column asked them; a reference column would be run whole in every shard.
            why = "a reference is graded whole" if args.reference else f"not {options.mode}"
            raise ConfigError(
                f"--shard {shard} splits one column's units: live only (--mode live), {why}; "
                "`harness conformance --shard` splits a run by whole columns in any mode"
            )
        options.unit_share = (shard.index, shard.count)
    if options.resume is not None and not (options.resume / "results.jsonl").exists():
        raise ConfigError(f"--resume {options.resume}: no results.jsonl there to resume from")
    providers = load_providers()
    columns = entry_columns(providers, args.provider, args.schema, args.model)
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
    pair = _one_pair(pairs, columns, args.provider)
    if pair is not None:
        options = dataclasses.replace(options, schema=pair.candidate.surface.name, checks=graded_checks(options.checks))
        if args.reference_run is not None:
            read_recorded(args.reference_run, pair.reference.column)
    if args.plan:
        shown = list(columns) + ([pair.reference] if pair is not None and args.reference_run is None else [])
        show_plan(shown, options.params, options.checks)  # a pair's checks are graded_checks already
    console = make_console()
    if len(columns) > 1 and options.resume is None:
        # The entry's columns, one after the other, into one run folder (and one gate).
        options = dataclasses.replace(options, out=options.out or new_run_dir(file_stem(args.provider)))
    for target in columns:
        out, stats = run_provider(dataclasses.replace(options, model=target.model_name, route=target.route))
        if len(columns) > 1:
            console.print(target.column, highlight=False, markup=False)
        print_summary(out, stats, console)
    if shard is not None:
        _note_shard(out, shard, columns, options, console)
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


def entry_columns(
    providers: dict[str, Provider], name: str, schema: str | None, models: list[str] | None
) -> list[Target]:
    """The columns ``harness run --provider NAME`` runs: one per model (those ``--model``
    names, or all) and route of the entry, held to ``schema`` or its own surface."""
    provider = resolve_provider(name, providers)
    return expand(provider, surface_named(schema or provider.schema_name), select_models([provider], models))


def cmd_record(args: argparse.Namespace) -> int:
    args.mode = "record"
    args.reference, args.reference_run, args.policy = [], None, None
    return cmd_run(args)


# The run options, in their order on the command line (declared in harness.runs.options).
RUN_FLAGS = ("model", "schema", "mode", "out", "resume", "params", "checks", "probe_mode", "no_seed", "gate", "jobs")
# Before a live run: what it can spend, and the most it may (harness.runs.plan, engine.Admission).
BUDGET_FLAGS = ("plan", "budget_requests", "budget_usd")
REFERENCE_FLAGS = ("reference", "reference_run", "policy")


def add_commands(sub: Any) -> None:
    run = sub.add_parser("run", help="run the checks against one provider")
    add_arguments(run, OPTIONS["provider"].one(required=True), *RUN_FLAGS, "shard", *BUDGET_FLAGS, *REFERENCE_FLAGS)
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
