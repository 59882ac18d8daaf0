"""Command line: parse arguments, then hand over to one workflow function per command.

Exit codes: 0 conforms, 1 conformance failures, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from typing import NoReturn

from rich.console import Console
from rich.table import Table

from harness import DISTRIBUTION, __version__
from harness.errors import ConfigError, HarnessError
from harness.generation import build_matrix
from harness.providers import load_providers, resolve_provider
from harness.redaction import scrub_text
from harness.schema import Surface, load_catalogue

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says what to do."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _surface_for(args: argparse.Namespace) -> tuple[Surface, str]:
    """The surface a provider is held to (its own unless --schema), and its model name."""
    providers = load_providers()
    provider = resolve_provider(args.provider, providers)
    catalogue = load_catalogue()
    name = args.schema or provider.schema_name
    if name not in catalogue:
        raise ConfigError(f"unknown schema {name!r}; known surfaces: {', '.join(sorted(catalogue))}")
    return catalogue[name], provider.model


def _params(args: argparse.Namespace) -> list[str] | None:
    return [p.strip() for p in args.params.split(",") if p.strip()] if args.params else None


def cmd_matrix(args: argparse.Namespace) -> int:
    surface, model = _surface_for(args)
    params = _params(args)
    unknown = sorted(set(params or []) - set(surface.parameters))
    if unknown:
        raise ConfigError(f"--params: {', '.join(unknown)} not in surface {surface.name!r}")
    cases = build_matrix(surface, model, params)
    if args.json:
        json.dump([c.to_json() for c in cases], sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
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
    return EXIT_OK


def cmd_schemas(args: argparse.Namespace) -> int:
    catalogue = load_catalogue()
    if args.check:
        print(f"{len(catalogue)} surfaces valid: {', '.join(sorted(catalogue))}")
        return EXIT_OK
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
    return EXIT_OK


DESCRIPTION = """Proves which parameters an OpenAI-compatible provider honours, not just accepts:
documented surfaces -> request matrices -> live or recorded requests -> verdicts with their
evidence -> reports and a CI gate. Start with `harness init` in your repository.
Exit codes: 0 conforms, 1 conformance failures, 2 usage or configuration error."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"harness {__version__} ({DISTRIBUTION})")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    matrix = sub.add_parser("matrix", help="print the request matrix of a provider")
    matrix.add_argument("--provider", required=True, help="a name from providers.toml")
    matrix.add_argument("--schema", help="hold the provider to another documented surface")
    matrix.add_argument("--params", help="comma-separated parameters (default: all)")
    matrix.add_argument("--json", action="store_true", help="print the cases as JSON")
    matrix.set_defaults(func=cmd_matrix)

    schemas = sub.add_parser("schemas", help="list the documented surfaces and their parameters")
    schemas.add_argument("--check", action="store_true", help="validate every schema; exit 2 on the first error")
    schemas.set_defaults(func=cmd_schemas)

    from harness.scaffold import add_init_command

    add_init_command(sub)

    from harness.conformance import add_commands
    from harness.datadesigner.command import add_commands as add_config_commands
    from harness.workflows import add_run_commands

    add_run_commands(sub)
    add_commands(sub)
    add_config_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except HarnessError as err:
        sys.stderr.write(scrub_text(f"harness: error: {err}\n"))
        return err.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("harness: interrupted; finished cases are in results.jsonl (use --resume)\n")
        return 130
    except Exception as err:
        # A bug of the harness is never a conformance result (exit 1): one line, exit 2.
        if os.environ.get("HARNESS_DEBUG"):
            raise
        sys.stderr.write(
            scrub_text(f"harness: internal error: {type(err).__name__}: {err} (HARNESS_DEBUG=1 shows where)\n")
        )
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    raise SystemExit(main())
