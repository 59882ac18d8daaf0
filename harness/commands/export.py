"""`harness export supported-parameters` and `harness export litellm`: what a run folder
measured, per column, as OpenRouter's `supported_parameters` list or a LiteLLM proxy
`model_list`; each names the run it came from. The evidence is read by
`harness.reporting.exports`; this module picks the folder and columns and writes the file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from harness import __version__, paths
from harness.engine import DedupingSender, plan
from harness.errors import ConfigError
from harness.providers import Provider, load_providers
from harness.redaction import scrub_text
from harness.reporting.exports import (
    EFFECT_CHECKS,
    ColumnEvidence,
    litellm_deployment,
    litellm_why,
    measured_columns,
    supported_parameters,
)
from harness.reporting.litellm_params import LITELLM_VERSION, UNSUPPORTED
from harness.reporting.runlog import column_runs
from harness.results import Record, Verdict, read_results
from harness.runs import Target, check_context
from harness.schema import Surface, load_catalogue
from harness.transport.routes import pin


def _run_folder(folder: Path | None) -> Path:
    folder = folder or paths.reports_dir() / "latest"
    if not (folder / "results.jsonl").is_file():
        raise ConfigError(f"{folder}: no results.jsonl; pass a run folder, or run `harness conformance` first")
    return folder


def _columns(folder: Path, wanted: list[str] | None) -> tuple[list[ColumnEvidence], list[Record], dict[str, Surface]]:
    records = read_results(folder / "results.jsonl")
    catalogue = load_catalogue()
    surfaces = {r.surface for r in records if r.verdict is not Verdict.NOT_RUN}
    unknown = sorted(surfaces - set(catalogue))
    if unknown:
        raise ConfigError(
            f"{folder}: surface {', '.join(unknown)} not in the catalogue (run from the project holding it)"
        )
    parameters = {name: {p.name for p in catalogue[name].parameters.values() if p.sent} for name in surfaces}
    probed = {name: effect_probed(catalogue[name]) for name in surfaces}
    columns = measured_columns(records, parameters, probed)
    if not wanted:
        return columns, records, catalogue
    measured = {c.column: c for c in columns}
    for name in wanted:
        if name not in measured:
            why = next((r.detail for r in records if r.provider == name and r.verdict is Verdict.NOT_RUN), "")
            known = ", ".join(measured) or "none"
            raise ConfigError(
                f"--column {name}: {why or 'not a column of ' + str(folder)} (columns measured there: {known})"
            )
    return [measured[name] for name in dict.fromkeys(wanted)], records, catalogue


def _run(folder: Path, columns: list[ColumnEvidence]) -> dict[str, Any]:
    """Where the evidence came from: the folder, when each column ran and by which harness."""
    runs = column_runs(folder)
    dates = sorted(runs[c.column]["date"] for c in columns if runs.get(c.column, {}).get("date"))
    versions = sorted({runs[c.column]["harness"] for c in columns if runs.get(c.column, {}).get("harness")})
    return {
        "folder": str(folder.resolve()),
        "date": dates[-1] if dates else "",
        "harness": ", ".join(versions) or "unknown (the run log predates it)",
        "exported_by": f"harness {__version__}",
        "columns": {
            c.column: {
                "surface": c.surface,
                "date": runs.get(c.column, {}).get("date", ""),
                "mode": runs.get(c.column, {}).get("mode", ""),
            }
            for c in columns
        },
    }


def _write(text: str, out: Path | None) -> None:
    text = scrub_text(text)
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"--out {out}: cannot write there: {err.strerror}") from err
    print(f"wrote {out}")


def cmd_supported_parameters(args: argparse.Namespace) -> int:
    folder = _run_folder(args.folder)
    columns, _, _ = _columns(folder, args.column)
    document = supported_parameters(columns, _run(folder, columns))
    _write(json.dumps(document, indent=1, ensure_ascii=False) + "\n", args.out)
    return 0


def effect_probed(surface: Surface) -> set[str]:
    """The parameters of ``surface`` a whole run probes for an effect (``EFFECT_CHECKS``), as
    planned for a provider held to it (nothing is sent)."""
    provider = Provider.model_validate(
        {"name": "export", "base_url": "http://127.0.0.1:9/v1", "model": "m", "schema": surface.name}
    )
    ctx = check_context(Target(provider, surface), DedupingSender(None))
    return {unit.param for check, unit in plan(ctx, sorted(EFFECT_CHECKS))}


def _entry(column: str, surface: Surface, providers: dict[str, Provider]) -> tuple[str, str | None]:
    """The key variable of the column's provider entry and the route it pins (None), from the
    entry whose column (any of its models and routes) this is."""
    for provider in providers.values():
        for model in [None, *provider.served_models]:
            for route in [None, *provider.routes]:
                if Target(provider, surface, model, route).column == column:
                    return provider.api_key_env, route
    return "", None


def _providers_or_empty() -> dict[str, Provider]:
    """An export needs no providers.toml (a folder copied elsewhere): no key names then."""
    try:
        return load_providers()
    except ConfigError:
        return {}


def cmd_litellm(args: argparse.Namespace) -> int:
    folder = _run_folder(args.folder)
    columns, _, catalogue = _columns(folder, args.column)
    run = _run(folder, columns)
    providers = _providers_or_empty()
    entries = []
    for c in columns:
        key_env, route = _entry(c.column, catalogue[c.surface], providers)
        entries.append(litellm_deployment(c, args.litellm_provider, key_env, pin(route) if route else None))
    header = [
        f"LiteLLM proxy model_list exported by harness {__version__} from {run['folder']}",
        f"measured {run['date']} by harness {run['harness']}; LiteLLM's parameter table: {LITELLM_VERSION}",
        *(f"{c.column}: held to {c.surface}" for c in columns),
        *(line for c in columns for line in litellm_why(c, args.litellm_provider)),
    ]
    body = yaml.safe_dump({"model_list": entries}, sort_keys=False, default_flow_style=False)
    _write("".join(f"# {line}\n" for line in header) + body, args.out)
    return 0


def add_commands(sub: Any) -> None:
    export = sub.add_parser("export", help="what a run measured, as clients read it")
    export_sub = export.add_subparsers(dest="format", required=True)  # same parser class as its parent

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("folder", nargs="?", type=Path, help="a run folder (default: reports/latest)")
        parser.add_argument("--out", type=Path, help="write to this file (default: standard output)")
        parser.add_argument(
            "--column", action="append", help="only this column (repeatable; default: every column that ran)"
        )

    supported = export_sub.add_parser(
        "supported-parameters", help="per column, OpenRouter's supported_parameters list, from the evidence"
    )
    common(supported)
    supported.set_defaults(func=cmd_supported_parameters)
    litellm = export_sub.add_parser("litellm", help="a LiteLLM proxy model_list entry per column, from the evidence")
    common(litellm)
    litellm.add_argument(
        "--litellm-provider",
        default="openai",
        choices=sorted(UNSUPPORTED),
        help="LiteLLM's provider prefix for the model (default: openai, any OpenAI-compatible server)",
    )
    litellm.set_defaults(func=cmd_litellm)
