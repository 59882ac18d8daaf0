"""The run options, declared once: each option's command-line flag, its pytest ini name (the
plugin's flag is ``--harness-<flag>``), its type, default and help. The commands render them
into argparse (``add_arguments``), the pytest plugin into ``pytest_addoption``; so a flag
means the same, and says the same, wherever it is given."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.checks.judges.profile import PROBE_MODES
from harness.errors import ConfigError
from harness.reporting.gate import GATES
from harness.reporting.reference import POLICIES
from harness.reporting.shards import Shard
from harness.transport.cassettes import MODES

# text: a string; list: repeatable, in order; path: a folder or file; choice: one of
# ``choices``; flag: on or off; count: a whole number of at least 1; shard: K/N; amount: a number above 0.
Kind = Literal["text", "list", "path", "choice", "flag", "count", "shard", "amount"]


def positive_int(text: str) -> int:
    """A count: a whole number of at least 1 (as an argparse type, a bad one is one line, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def shard_spec(text: str) -> Shard:
    """``K/N`` (as an argparse type, a bad one is one line, exit 2)."""
    try:
        return Shard.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def positive_amount(text: str) -> float:
    """An amount: a finite number above 0 (as an argparse type, a bad one is one line, exit 2)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number above 0")
    return value


@dataclass(frozen=True)
class Option:
    dest: str  # the attribute: args.<dest>; the plugin's is harness_<dest>
    flag: str  # the command line's long flag
    help: str
    kind: Kind = "text"
    ini: str = ""  # the pytest ini name; "" where the plugin does not take the option
    choices: tuple[str, ...] = ()
    default: Any = None
    metavar: str | None = None
    short: str = ""  # a short flag on the command line (never the plugin's: pytest has its own)
    required: bool = False

    @property
    def plugin_flag(self) -> str:
        return "--harness-" + self.flag.removeprefix("--")

    @property
    def plugin_dest(self) -> str:
        return f"harness_{self.dest}"

    def one(self, *, required: bool = False) -> Option:
        """This option taking a single value (``harness run --provider`` names one provider)."""
        return dataclasses.replace(self, kind="text", required=required)

    def defaulting(self, default: Any) -> Option:
        """This option with another default (``conformance`` gates on the baseline); with none,
        the help names none (the command decides, as ``report`` does for ``--gate``)."""
        described = self.help.replace(" (default: %(default)s)", "") if default is None else self.help
        return dataclasses.replace(self, default=default, help=described)

    def parsing(self) -> dict[str, Any]:
        """How argparse (and so pytest's parser) reads the option's value(s)."""
        kwargs: dict[str, Any] = {}
        if self.kind == "flag":
            kwargs["action"] = "store_true"
        elif self.kind == "list":
            kwargs["action"] = "append"
        elif self.kind == "path":
            kwargs["type"] = Path
        elif self.kind == "choice":
            kwargs["choices"] = self.choices
        elif self.kind == "count":
            kwargs["type"] = positive_int
        elif self.kind == "shard":
            kwargs["type"] = shard_spec
        elif self.kind == "amount":
            kwargs["type"] = positive_amount
        if self.metavar:
            kwargs["metavar"] = self.metavar
        return kwargs

    def described(self, ini: bool = False) -> str:
        """The help, with what the command line or the ini file adds to it."""
        notes = ["repeatable"] if self.kind == "list" else []
        if ini and self.ini:
            notes.append(f"ini: {self.ini}")
        return f"{self.help} ({'; '.join(notes)})" if notes else self.help

    def from_ini(self, value: Any) -> Any:
        """An ini file's value (pytest gives strings, lists and booleans), checked as the command
        line checks it; a bad one is a ConfigError naming the ini setting."""
        if self.kind in ("list", "flag"):
            return value
        text = str(value).strip()
        if not text:
            return self.default
        if self.kind == "choice" and text not in self.choices:
            raise ConfigError(f"{self.ini} = {text!r}: must be one of {', '.join(self.choices)}")
        parse = {"count": positive_int, "amount": positive_amount}.get(self.kind)
        if parse is not None:
            try:
                return parse(text)
            except argparse.ArgumentTypeError as err:
                raise ConfigError(f"{self.ini} = {text!r}: {err}") from None
        return text


OPTIONS: dict[str, Option] = {
    option.dest: option
    for option in (
        Option(
            "provider",
            "--provider",
            "a provider to run: a name from providers.toml",
            "list",
            ini="harness_providers",
        ),
        Option(
            "model",
            "--model",
            "a model of the chosen providers (one of an entry's models), a column each; default: all",
            "list",
            ini="harness_models",
        ),
        Option(
            "schema",
            "--schema",
            "hold the provider to this documented surface instead of its own",
            ini="harness_schema",
        ),
        Option(
            "hold",
            "--hold",
            "also hold PROVIDER to SURFACE, a column of its own, as also_held_to in providers.toml does",
            "list",
            ini="harness_hold",
            metavar="PROVIDER=SURFACE",
        ),
        Option(
            "mode",
            "--mode",
            "live: send; record: send and write cassettes; replay: offline (the default)",
            "choice",
            ini="harness_mode",
            choices=MODES,
            default="replay",
        ),
        Option("live", "--live", "send real requests (launching local servers)", "flag"),
        Option(
            "out",
            "--out",
            "folder for results.jsonl and the reports (default: a new folder in reports/)",
            "path",
            ini="harness_out",
            metavar="DIR",
        ),
        Option("resume", "--resume", "continue the run in DIR: only what is missing", "path", metavar="DIR"),
        Option("params", "--params", "comma-separated parameters to test (default: all)"),
        Option("checks", "--checks", "comma-separated check names (default: all enabled)"),
        Option(
            "probe_mode",
            "--probe-mode",
            "how sampling probes prove an effect: auto (measure whether the seed reproduces; the default), "
            "seeded, seed-free (overrides providers.toml)",
            "choice",
            ini="harness_probe_mode",
            choices=PROBE_MODES,
        ),
        Option(
            "new_only",
            "--new-only",
            "record: keep every answer the cassette has and send only the requests it lacks "
            "(adds a check without moving a recorded verdict)",
            "flag",
        ),
        Option("no_seed", "--no-seed", "never send `seed` (overrides providers.toml)", "flag", ini="harness_no_seed"),
        Option(
            "gate",
            "--gate",
            "strict: any non-conformance fails; baseline: only regressions against baselines/; "
            "none: exit 0 whatever the verdicts (default: %(default)s)",
            "choice",
            choices=GATES,
            default="strict",
        ),
        Option(
            "reference",
            "--reference",
            "grade against this provider, held to the same surface: REF for every provider run, or "
            "CANDIDATE=REF (overrides reference in providers.toml)",
            "list",
            metavar="REF|CANDIDATE=REF",
        ),
        Option(
            "reference_run",
            "--reference-run",
            "a previous run folder whose reference column stands in for the live reference (not sent again)",
            "path",
            metavar="DIR",
        ),
        Option(
            "policy",
            "--policy",
            "how a difference from the reference counts: parity (every difference fails) or self-hosted "
            "(only broken and ignored fail; the default, or reference_policy in providers.toml)",
            "choice",
            choices=tuple(POLICIES),
        ),
        Option(
            "shard",
            "--shard",
            "run shard K of N: conformance, whole columns balanced by their units; run, every N-th unit "
            "of the column (live only); the same share in every job (merge the run folders with "
            "`harness report --merge`)",
            "shard",
            metavar="K/N",
        ),
        Option(
            "plan",
            "--plan",
            "print the plan first (the most requests, tokens and money each column can spend, as `harness plan` "
            "does), then run",
            "flag",
        ),
        Option(
            "budget_requests",
            "--budget-requests",
            "start no unit whose ceiling could take the requests past N (each column; with budget_requests in "
            "providers.toml, the smaller); units not started are NOT_RUN 'budget reached'",
            "count",
            metavar="N",
        ),
        Option(
            "budget_usd",
            "--budget-usd",
            "start no unit whose ceiling could take the money past X US dollars (each column, at the provider's "
            "price; with budget_usd in providers.toml, the smaller)",
            "amount",
            metavar="X",
        ),
        Option(
            "jobs",
            "--jobs",
            "requests in flight, at most the provider's max_parallel_requests (the default)",
            "count",
            ini="harness_jobs",
            short="-j",
        ),
    )
}


def option(name: str | Option) -> Option:
    return name if isinstance(name, Option) else OPTIONS[name]


def add_arguments(parser: argparse.ArgumentParser, *names: str | Option) -> None:
    """Each option (a name of ``OPTIONS``, or one derived from it) as an argparse argument."""
    for spec in map(option, names):
        flags = [spec.short, spec.flag] if spec.short else [spec.flag]
        kwargs = {"dest": spec.dest, "help": spec.described(), **spec.parsing()}
        if spec.kind != "flag":
            kwargs["default"] = spec.default
        if spec.required:
            kwargs["required"] = True
        parser.add_argument(*flags, **kwargs)
