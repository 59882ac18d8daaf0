"""`harness plan`: what a live run of each column can spend at most, before anything is sent
(``runs.plan``), as a table or ``--json``; and ``--plan`` on the live commands, which prints
it first and then runs. ``harness plan --from RUN`` plans each column under the profile its
last run in that folder measured."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.checks.judges.profile import Profile
from harness.errors import ConfigError
from harness.providers import load_providers, resolve_provider
from harness.reporting.console import make_console
from harness.reporting.runlog import RUN_LOG, measured_profiles
from harness.runs import add_arguments, conformance_targets
from harness.runs.plan import ColumnPlan, plan_column
from harness.runs.reference import graded_checks, reference_pairs
from harness.runs.targets import Target, parse_hold


def _number(value: int | None) -> str:
    return "unbounded" if value is None else f"{value:,}"


def _money(usd: float | None) -> str:
    if usd is None:
        return "no price"
    return "unbounded" if math.isinf(usd) else f"${usd:,.4f}"


def print_plans(plans: list[ColumnPlan], console: Console) -> None:
    measured = any(p.measured_in for p in plans)
    under = " under the profile its last run measured" if measured else ""
    table = Table(title=f"plan: the most each column's run can spend{under} (nothing was sent)")
    for name in ("column", "units", "requests", "+ retries", "completion tokens", "prompt tokens", "USD", "key"):
        table.add_column(name, justify="left" if name in ("column", "key") else "right")
    for found in plans:
        table.add_row(
            found.column,
            str(found.units),
            _number(found.requests),
            f"{found.retry_allowance:,}",
            _number(found.completion_tokens),
            f"~{found.prompt_tokens:,}",
            _money(found.usd),
            f"missing: {found.missing_key}" if found.missing_key else "ok",
        )
    console.print(table)
    for found in plans:
        if found.measured_in:
            console.print(
                f"{found.column}: planned for {found.profiles[0].profile} probes, as measured by {found.measured_in}; "
                f"whatever this run measures, at most {found.any_profile_requests:,} requests",
                highlight=False,
            )
        elif measured:
            console.print(
                f"{found.column}: no profile measured in that folder: planned for every profile", highlight=False
            )
        if len(found.profiles) > 1:
            each = "; ".join(f"{p.profile}: {p.total.requests:,} requests" for p in found.profiles)
            console.print(f"{found.column}: by the profile the run measures: {each}", highlight=False)
        unbounded = sorted({unit for p in found.profiles for unit in p.unbounded})
        if unbounded:
            shown = ", ".join(unbounded[:4]) + (f" and {len(unbounded) - 4} more" if len(unbounded) > 4 else "")
            console.print(
                f"{found.column}: completion tokens unbounded: {len(unbounded)} units send a request no max_tokens "
                f"bounds ({shown}); context_tokens in providers.toml bounds them",
                highlight=False,
            )
        undeclared = sorted({unit for p in found.profiles for unit in p.undeclared})
        if undeclared:
            console.print(
                f"{found.column}: unbounded: {len(undeclared)} units declare no ceiling ({', '.join(undeclared)})",
                style="red",
                highlight=False,
            )
    console.print(
        "requests: without retries; '+ retries': the most retries can add (each request retried at most "
        f"{plans[0].retries if plans else 2} times). Prompt tokens: an estimate from above (a token per byte "
        "of each request's messages and tools, plus a chat template's share). USD: at providers.toml's price, "
        "without retries.",
        highlight=False,
    )


def plans_of(
    targets: list[Target],
    params: list[str] | None,
    checks: list[str] | None,
    graded: frozenset[str] = frozenset(),
    measured: dict[str, tuple[Profile, str]] | None = None,
) -> list[ColumnPlan]:
    """Each column's plan; a graded pair's columns (``graded``) also send the graded checks;
    a column in ``measured`` is planned under the profile measured there."""
    return [
        plan_column(t, params, graded_checks(checks) if t.column in graded else checks, (measured or {}).get(t.column))
        for t in targets
    ]


def profiles_from(folder: str) -> dict[str, tuple[Profile, str]]:
    """``--from``: the profile each column's last run in ``folder`` measured, with where."""
    path = Path(folder)
    if not (path / RUN_LOG).is_file():
        raise ConfigError(f"--from {folder}: no {RUN_LOG} there (a run folder: harness run/conformance --out)")
    return {
        column: (profile, f"its run in {folder}" + (f" of {date}" if date else ""))
        for column, (profile, date) in measured_profiles(path).items()
    }


def show_plan(
    targets: list[Target], params: list[str] | None, checks: list[str] | None, graded: frozenset[str] = frozenset()
) -> None:
    """``--plan`` on a live command: the plan first (then the command runs)."""
    print_plans(plans_of(targets, params, checks, graded), make_console())


def _split(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def cmd_plan(args: argparse.Namespace) -> int:
    providers = load_providers()
    chosen = (
        [resolve_provider(name, providers) for name in args.provider] if args.provider else list(providers.values())
    )
    holds = [parse_hold(text) for text in args.hold or []]
    targets, _ = conformance_targets(providers, chosen, holds, args.schema, args.model)
    # A graded pair's columns, as `harness conformance --reference` runs them.
    graded: set[str] = set()
    for pair in reference_pairs(providers, chosen, args.reference or [], None, args.schema):
        for target in (pair.candidate, pair.reference):
            graded.add(target.column)
            if target.column not in {t.column for t in targets}:
                targets.append(target)
    measured = profiles_from(args.from_run) if args.from_run else None
    plans = plans_of(targets, _split(args.params), _split(args.checks), frozenset(graded), measured)
    if args.json:
        document: dict[str, Any] = {"columns": [p.as_json() for p in plans]}
        print(json.dumps(document, indent=1))
    else:
        print_plans(plans, make_console())
    return 0


def add_commands(sub: Any) -> None:
    found = sub.add_parser(
        "plan", help="the most requests, tokens and money each column's run can spend, sending nothing"
    )
    add_arguments(found, "provider", "model", "schema", "hold", "reference", "params", "checks")
    found.add_argument(
        "--from",
        dest="from_run",
        metavar="RUN",
        help="plan each column under the profile (seeded or seed-free) its last run in this run folder measured, "
        "not the costliest a run may measure",
    )
    found.add_argument("--json", action="store_true", help="machine-readable output")
    found.set_defaults(func=cmd_plan)
