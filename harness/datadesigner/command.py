"""`harness check-config FILE --provider NAME [--live]`: the static check always, the live
one on request; the same records, reports and exit codes as `harness run`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import __version__
from harness.errors import ConfigError
from harness.providers import load_providers
from harness.reporting.console import make_console, print_table
from harness.reporting.junit import write_junit
from harness.reporting.reports import write_reports
from harness.reporting.runlog import read_run_log
from harness.results import DECIDED, FAILING, MISSING_EVIDENCE, Record, ResultsWriter, Verdict, budget_stopped
from harness.runs import (
    ColumnOptions,
    Target,
    add_arguments,
    new_run_dir,
    open_column,
    with_overrides,
    writable_folder,
)
from harness.runs.setup import budget_of
from harness.schema import surface_named

if TYPE_CHECKING:
    from harness.checks.cost import Budget
    from harness.datadesigner.config import ConfigFile

# Data Designer's modules (its package, YAML, pydantic, every check family) are imported when
# check-config runs: every other command builds this parser too and should not pay for them.


def fails_the_config(record: Record) -> bool:
    """A failing verdict; REJECTED on the static check (the config sends a value the provider
    documents as invalid, so it will not work there) or by Data Designer's own health check
    (it cannot use the answers); or a live request with no evidence (not answered, not
    recorded, or not sent: the budget was reached). The exit code and junit.xml both follow
    this rule."""
    from harness.datadesigner.live import USABLE
    from harness.datadesigner.static import CHECK

    return (
        record.verdict in FAILING
        or record.verdict in MISSING_EVIDENCE
        or budget_stopped(record)
        or (record.check in (CHECK, USABLE) and record.verdict is Verdict.REJECTED)
    )


def _check_live(
    target: Target, config: ConfigFile, writer: ResultsWriter, out: Path, budget: Budget | None = None
) -> None:
    """Data Designer's own health check, then the config's requests judged by the checks, each
    alias through the column's client narrowed to its own concurrency and timeout (what Data
    Designer will use) and its own model name."""
    from harness.datadesigner.live import health_record, units_for
    from harness.datadesigner.requests import Target as DataDesignerTarget

    provider = target.provider
    with open_column(target, ColumnOptions(mode="live", run_log=out, budget=budget)) as column:
        endpoints = column.endpoints
        embeddings = endpoints.embeddings_base_url or endpoints.base_url
        where = DataDesignerTarget(endpoints.base_url, embeddings, provider.api_key(), provider.timeout)
        for model in config.models:
            writer.write(health_record(config, model, where, target.column, target.surface))
            params = model.inference_parameters
            ctx = column.renew(
                model=model.model,
                max_parallel_requests=params.max_parallel_requests,
                timeout=float(params.timeout) if params.timeout else None,
            )
            column.run_units(units_for(ctx, config, model), writer)


def cmd_check_config(args: argparse.Namespace) -> int:
    from harness.datadesigner.config import DROPPED_KEYS, data_designer_home, load_config_file, merged_extra_body
    from harness.datadesigner.mapping import by_provider
    from harness.datadesigner.static import CHECK, static_records

    # --provider says where every alias goes: it stands in for a provider Data Designer's
    # registry does not have. Without it, Data Designer's own resolution decides.
    config = load_config_file(
        args.file or data_designer_home() / "model_configs.yaml", args.providers, stand_in=bool(args.provider)
    )
    groups = by_provider(config, load_providers(), args.provider)
    # Every usage error (a key, a budget without a price) before anything is written.
    checked: list[tuple[Target, ConfigFile, Budget | None]] = []
    for entry, models in groups:
        provider = with_overrides(entry, args.probe_mode, args.no_seed)
        if args.live and provider.missing_key():
            raise ConfigError(
                f"--live needs {provider.missing_key()} for provider {provider.name!r}: set it, or drop --live"
            )
        budget = budget_of(provider, args.budget_requests, args.budget_usd) if args.live else None
        checked.append((Target(provider, surface_named(args.schema or provider.schema_name)), models, budget))
    names = "-".join(target.provider.name for target, _, _ in checked)
    out: Path = writable_folder(args.out or new_run_dir(f"check-config-{names}"))
    for stale in ("results.jsonl", "runs.jsonl"):  # a check is always whole: no resume here
        (out / stale).unlink(missing_ok=True)
    writer = ResultsWriter(out / "results.jsonl")
    try:
        for target, models, budget in checked:
            for record in static_records(models, target.column, target.surface):
                writer.write(record)
            if args.live:
                _check_live(target, models, writer, out, budget)
    finally:
        writer.close()
    meta: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "mode": "check-config live" if args.live else "check-config static",
        "harness": __version__,
        "versions": {"config": str(config.path)},
    }
    records, cells = write_reports(out, meta)
    # write_reports judges cells as a provider run does, where REJECTED conforms: junit.xml is
    # written again under this command's own rule, so it fails exactly when the exit code does.
    write_junit(cells, out / "junit.xml", float(meta.get("elapsed_s", 0.0)), also_failing=fails_the_config)
    console = make_console()
    print_table(records, read_run_log(out), console)
    for model in config.models:
        if model.provider in config.stand_ins:
            console.print(
                f"[{model.alias}] Data Designer has no provider {model.provider!r} "
                f"({config.providers_path or 'its built-in providers'}): checked against --provider {args.provider} "
                "standing in for it, with no extra_body or headers of its own; Data Designer itself refuses "
                "this config until that provider exists",
                highlight=False,
                markup=False,
            )
        dropped = sorted(DROPPED_KEYS & set(merged_extra_body(model, config.providers)))
        if dropped:
            console.print(
                f"[{model.alias}] not judged: {', '.join(dropped)}: Data Designer's generate() removes it from "
                "every request (engine/models/facade.py)",
                highlight=False,
                markup=False,
            )
    problems = [r for r in records if fails_the_config(r)]
    # A config with nothing to probe live (embeddings with default settings, image models)
    # sends nothing: only where something was probed must something have been decided.
    live = [r for r in records if r.check != CHECK]
    undecided = bool(args.live and live and not any(r.verdict in DECIDED for r in live))
    shown: set[str] = set()
    for record in sorted(records, key=lambda r: (r.label, r.param)):
        line = f"{record.verdict.value}: {record.param} [{record.check}] {record.detail}"
        notable = record.verdict not in (Verdict.ACCEPTED, Verdict.HONOURED, Verdict.REJECTED) or record in problems
        if notable and line not in shown:
            shown.add(line)
            console.print(line, highlight=False, markup=False)
    if undecided:
        console.print("the live check decided nothing: no answer shows this config works", highlight=False)
    console.print(f"report: {out / 'report.html'}", highlight=False, markup=False)
    return 1 if problems or undecided else 0


def add_commands(sub: Any) -> None:
    parser = sub.add_parser("check-config", help="will this Data Designer model config work on that provider?")
    parser.add_argument(
        "file",
        type=Path,
        nargs="?",
        help="Data Designer's model_configs.yaml (default: the one in $DATA_DESIGNER_HOME or ~/.data-designer)",
    )
    parser.add_argument(
        "--providers",
        type=Path,
        help="Data Designer's model_providers.yaml (default: the one in its home, else its built-in providers)",
    )
    parser.add_argument(
        "--provider",
        help="send every alias to this providers.toml entry, whether or not Data Designer knows the config's "
        "provider (default: the entry at each Data Designer provider's endpoint, else nvidia-nim / openai / "
        "openrouter for its built-in ones)",
    )
    add_arguments(parser, "schema", "live", "out", "probe_mode", "no_seed", "budget_requests", "budget_usd")
    parser.set_defaults(func=cmd_check_config)
