"""Command line: one parser whose subcommands live in ``harness.commands`` (and ``harness init``
in ``scaffold``, ``check-config`` in ``datadesigner.command``); errors become exit codes.

Exit codes: 0 conforms, 1 conformance failures, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from harness import DISTRIBUTION, __version__
from harness.errors import HarnessError
from harness.redaction import scrub_text

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says what to do."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


DESCRIPTION = """Proves which parameters an OpenAI-compatible provider honours, not just accepts:
documented surfaces -> request matrices -> live or recorded requests -> verdicts with their
evidence -> reports and a CI gate. Start with `harness init` in your repository.
Exit codes: 0 conforms, 1 conformance failures, 2 usage or configuration error."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"harness {__version__} ({DISTRIBUTION})")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    from harness import scaffold
    from harness.commands import conformance, export, inspect, plan, run, tap
    from harness.datadesigner import command as check_config

    inspect.add_commands(sub)
    scaffold.add_init_command(sub)
    for module in (run, conformance, plan, tap, export, check_config):
        module.add_commands(sub)
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
