"""`harness matrix` and `harness schemas`: what would be sent, and what is documented."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.errors import ConfigError
from harness.generation import build_matrix
from harness.providers import load_providers, resolve_provider
from harness.schema import load_catalogue, surface_named


def cmd_matrix(args: argparse.Namespace) -> int:
    provider = resolve_provider(args.provider, load_providers())
    surface = surface_named(args.schema or provider.schema_name)
    params = [p.strip() for p in args.params.split(",") if p.strip()] if args.params else None
    unknown = sorted(set(params or []) - set(surface.parameters))
    if unknown:
        raise ConfigError(f"--params: {', '.join(unknown)} not in surface {surface.name!r}")
    cases = build_matrix(surface, provider.default_model, params)
    if args.json:
        json.dump([c.to_json() for c in cases], sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    table = Table(title=f"{args.provider} held to '{surface.name}': {len(cases)} cases")
    for column in ("parameter", "placement", "cases", "accept", "reject", "unspecified"):
        table.add_column(column, justify="right" if column not in ("parameter", "placement") else "left")
    per_param: dict[str, Counter[str]] = {}
    for case in cases:
        per_param.setdefault(case.param, Counter())[case.expect] += 1
    for param, counts in per_param.items():
        placement = surface.parameters[param].placement if param in surface.parameters else "combination"
        table.add_row(
            param,
            placement,
            str(sum(counts.values())),
            str(counts["accept"]),
            str(counts["reject"]),
            str(counts["unspecified"]),
        )
    Console().print(table)
    print(f"{len(cases)} cases")
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    catalogue = load_catalogue()
    if args.check:
        print(f"{len(catalogue)} surfaces valid: {', '.join(sorted(catalogue))}")
        return 0
    for surface in catalogue.values():
        table = Table(title=f"{surface.name}: {surface.title} ({surface.path.name})")
        for column in ("parameter", "type", "range", "default", "placement", "provenance"):
            table.add_column(column)
        for param in surface.parameters.values():
            s = param.schema
            low = s.get("minimum", s.get("exclusiveMinimum"))
            high = s.get("maximum", s.get("exclusiveMaximum"))
            left = "[" if "minimum" in s else "("
            right = "]" if "maximum" in s else ")"
            rng = f"{left}{'' if low is None else low}, {'' if high is None else high}{right}"
            if low is None and high is None:
                rng = "-"
            table.add_row(
                param.name,
                "|".join(param.types),
                rng,
                json.dumps(param.default) if param.has_default else "-",
                param.placement,
                param.provenance_kind,
            )
        Console().print(table)
    return 0


def add_commands(sub: Any) -> None:
    matrix = sub.add_parser("matrix", help="print the request matrix of a provider")
    matrix.add_argument("--provider", required=True, help="a name from providers.toml")
    matrix.add_argument("--schema", help="hold the provider to another documented surface")
    matrix.add_argument("--params", help="comma-separated parameters (default: all)")
    matrix.add_argument("--json", action="store_true", help="print the cases as JSON")
    matrix.set_defaults(func=cmd_matrix)
    schemas = sub.add_parser("schemas", help="list the documented surfaces and their parameters")
    schemas.add_argument("--check", action="store_true", help="validate every schema; exit 2 on the first error")
    schemas.set_defaults(func=cmd_schemas)
