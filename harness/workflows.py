"""The workflows behind `harness run` and `harness record`: resolve the provider, launch it
if it is local, set up record/replay, run every check's units, and write the results."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness import paths
from harness.checks import CheckContext
from harness.checks.judges.profile import PROBE_MODES, Profile
from harness.engine import DedupingSender, RunStats, plan, run_units
from harness.errors import ConfigError
from harness.generation import build_matrix
from harness.providers import Endpoints, Provider, load_providers, resolve_provider
from harness.reporting.gate import GATES, apply_gate
from harness.reporting.summary import summarise
from harness.results import Record, ResultsWriter, Verdict, read_results
from harness.schema import Surface, load_catalogue
from harness.transport import ClientSettings, ProviderClient
from harness.transport.cassettes import Mode, cassette, cassette_path

MODES = ("live", "record", "replay")


@dataclass
class RunOptions:
    provider: str
    schema: str | None = None
    mode: Mode = "replay"
    out: Path | None = None
    resume: Path | None = None
    params: list[str] | None = None
    jobs: int | None = None
    checks: list[str] | None = None
    probe_mode: str | None = None  # overrides providers.toml's probe_mode
    no_seed: bool = False  # overrides providers.toml's send_seed with false
    progress: bool = True
    retries: int = 2  # attempts after the first for transient failures (see ClientSettings)


def writable_folder(path: Path, flag: str = "--out") -> Path:
    """``path`` as a run folder: created if missing; one line if it is a file or read-only."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path}: exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".harness-write-test"
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"{flag} {path}: cannot write there: {err.strerror}") from err
    return path


def new_run_dir(label: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    folder = paths.reports_dir() / f"{stamp}-{label}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = paths.reports_dir() / f"{stamp}-{label}-{suffix}"
    return folder


@contextlib.contextmanager
def provider_endpoints(provider: Provider, mode: Mode) -> Iterator[Endpoints]:
    """Where to send: freshly launched local servers, or the configured URLs."""
    if provider.launch is not None and mode != "replay":
        from harness.local.launcher import launch_provider

        spec = provider.launch
        with launch_provider(spec.server, provider.max_parallel_requests, spec.embeddings) as endpoints:
            yield endpoints
        return
    yield Endpoints(provider.resolved_base_url(), provider.resolved_embeddings_base_url())


def preflight(base_url: str, timeout: float) -> None:
    """Fail fast, in one line, when the server cannot be reached at all."""
    try:
        httpx.get(base_url.rstrip("/") + "/models", timeout=min(timeout, 10.0))
    except httpx.HTTPError as err:
        raise ConfigError(
            f"cannot reach {base_url}: {type(err).__name__}; check base_url in providers.toml "
            "or that the server is running"
        ) from err


RUN_LOG = "runs.jsonl"


def append_run_log(out: Path, provider: str, surface: str, mode: str, stats: RunStats) -> None:
    """What was really sent per provider: records share requests, so their sums overcount."""
    line = {
        "provider": provider,
        "surface": surface,
        "mode": mode,
        "requests": stats.requests,
        "completion_tokens": stats.completion_tokens,
        "units": stats.units,
        "skipped": stats.skipped,
        "probes": stats.probes,
    }
    with (out / RUN_LOG).open("a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")


def read_run_log(out: Path) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    path = out / RUN_LOG
    if not path.exists():
        return totals
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        mine = totals.setdefault(entry["provider"], {"requests": 0, "completion_tokens": 0})
        mine["requests"] += int(entry.get("requests", 0))
        mine["completion_tokens"] += int(entry.get("completion_tokens", 0))
    return totals


def not_run_record(provider: Provider, surface: Surface, variable: str) -> Record:
    return Record(
        provider.name,
        surface.name,
        f"not-run.{provider.name}",
        "*",
        "setup",
        Verdict.NOT_RUN,
        f"not run: set {variable}",
    )


def _surface(provider: Provider, schema: str | None) -> Surface:
    catalogue = load_catalogue()
    name = schema or provider.schema_name
    if name not in catalogue:
        raise ConfigError(f"unknown schema {name!r}; known surfaces: {', '.join(sorted(catalogue))}")
    return catalogue[name]


def with_overrides(provider: Provider, options: RunOptions) -> Provider:
    """The command line over providers.toml, for how probes treat the seed."""
    update: dict[str, Any] = {}
    if options.probe_mode:
        update["probe_mode"] = options.probe_mode
    if options.no_seed:
        update["send_seed"] = False
    if not update:
        return provider
    if update.get("probe_mode", provider.probe_mode) == "seeded" and not update.get("send_seed", provider.send_seed):
        raise ConfigError("--probe-mode seeded needs a seed: it cannot go with --no-seed or send_seed = false")
    return provider.model_copy(update=update)


def parallel_requests(provider: Provider, jobs: int | None) -> int:
    """How many requests may be in flight: ``-j``, but never above providers.toml's
    ``max_parallel_requests`` (a provider's limit, not a default), said in one line."""
    if jobs is None:
        return provider.max_parallel_requests
    if jobs > provider.max_parallel_requests:
        sys.stderr.write(
            f"harness: -j {jobs} is above max_parallel_requests = {provider.max_parallel_requests} for "
            f"{provider.name!r} (providers.toml): at most {provider.max_parallel_requests} in flight\n"
        )
        return provider.max_parallel_requests
    return jobs


def run_provider(options: RunOptions) -> tuple[Path, RunStats]:
    """Run every check against one provider; returns the output folder and what happened."""
    provider = with_overrides(resolve_provider(options.provider, load_providers()), options)
    surface = _surface(provider, options.schema)
    if options.params:
        unknown = sorted(set(options.params) - set(surface.parameters) - set(surface.embeddings))
        if unknown:
            raise ConfigError(f"--params: {', '.join(unknown)} not in surface {surface.name!r}")
    out = writable_folder(options.resume or options.out or new_run_dir(provider.name))
    writer = ResultsWriter(out / "results.jsonl")
    done = {r.unit_id or r.case_id for r in read_results(out / "results.jsonl")} if options.resume else set()
    try:
        missing = provider.missing_key()
        if missing and options.mode != "replay":
            # Asked for by name, a provider that cannot run is a usage error; `harness
            # conformance` shows such providers as NOT_RUN columns instead.
            raise ConfigError(
                f"provider {provider.name!r} needs {missing}: set it (export {missing}=...) or use --mode replay"
            )
        with provider_endpoints(provider, options.mode) as endpoints:
            if options.mode != "replay":
                preflight(endpoints.base_url, provider.timeout)
            cassette_file = cassette_path(paths.cassettes_dir(), provider.name, surface.name)
            if options.mode == "record" and not options.params and not options.resume:
                cassette_file.unlink(missing_ok=True)  # a full re-record starts clean
            with cassette(cassette_file, options.mode, local=provider.is_local):
                stats = asyncio.run(_run(provider, surface, endpoints, options, writer, done))
            append_run_log(out, provider.name, surface.name, options.mode, stats)
    finally:
        writer.close()
    return out, stats


async def _run(
    provider: Provider,
    surface: Surface,
    endpoints: Endpoints,
    options: RunOptions,
    writer: ResultsWriter,
    done: set[str],
) -> RunStats:
    settings = ClientSettings(
        base_url=endpoints.base_url,
        embeddings_base_url=endpoints.embeddings_base_url,
        api_key=provider.api_key(),
        headers=provider.resolved_headers(),
        max_parallel_requests=parallel_requests(provider, options.jobs),
        timeout=provider.timeout,
        wait=options.mode != "replay",
        retries=options.retries,
    )
    async with ProviderClient(settings) as client:
        sender = DedupingSender(client, provider.name, provider.api_key_env)
        ctx = CheckContext(
            provider=provider.name,
            surface=surface,
            model=provider.model,
            cases=build_matrix(surface, provider.model, options.params),
            send=sender,
            api_key_env=provider.api_key_env,
            base_url=provider.resolved_base_url(),
            params=options.params,
            send_seed=provider.send_seed,
            probe_mode=provider.probe_mode,
        )
        units = plan(ctx, options.checks)
        show = options.progress and sys.stderr.isatty()
        with Progress(
            TextColumn(f"{provider.name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=not show,
            transient=True,
        ) as bar:
            task = bar.add_task("run", total=len(units))
            # (No callback when the bar is hidden: advancing it still takes its lock per unit.)
            advance = (lambda n: bar.advance(task, n)) if show else None
            stats = await run_units(units, writer, ctx, done, advance, keep_records=False)
        stats.requests = client.requests_sent
        stats.completion_tokens = sender.completion_tokens
        stats.probes = measured_profile(ctx)
    return stats


def measured_profile(ctx: CheckContext) -> str:
    """The provider's profile, where a probe measured it during the run."""
    task = ctx.memo.get("profile")
    if task is None or not task.done() or task.cancelled() or task.exception():
        return ""
    profile: Profile = task.result()
    return profile.describe()


def print_summary(out: Path, stats: RunStats, console: Console | None = None) -> None:
    console = console or Console(stderr=False, soft_wrap=True)
    parts = ", ".join(f"{v} {n}" for v, n in sorted(stats.verdicts.items()))
    tokens = stats.completion_tokens
    console.print(
        f"{sum(stats.verdicts.values())} results ({parts}); {stats.requests} requests sent, "
        f"{tokens} completion tokens; {stats.skipped} skipped (already done)"
    )
    if stats.probes:
        console.print(f"probes: {stats.probes}", highlight=False, markup=False)
    console.print(f"results: {out / 'results.jsonl'}")


def exit_code(records: list[Record], console: Console | None = None, gate_name: str = "strict") -> int:
    """`harness run` holds one provider to a gate, strict by default: any non-conformance, any
    missing evidence, or nothing decided at all is exit 1 (the lines say which)."""
    gate = apply_gate(gate_name, summarise(records), paths.project_root() / "baselines")
    for line in gate.notes + gate.failures[:20]:
        (console or Console(soft_wrap=True)).print(line, highlight=False, markup=False)
    if len(gate.failures) > 20:
        (console or Console(soft_wrap=True)).print(f"... and {len(gate.failures) - 20} more", highlight=False)
    return gate.exit_code


def cmd_run(args: argparse.Namespace) -> int:
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
    print_summary(out, stats)
    records = read_results(out / "results.jsonl")
    return exit_code(records, gate_name=args.gate)


def cmd_record(args: argparse.Namespace) -> int:
    args.mode = "record"
    return cmd_run(args)


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


def positive_int(text: str) -> int:
    """argparse type for counts: a whole number of at least 1 (argparse makes it one line, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def add_run_commands(sub: Any) -> None:
    run = sub.add_parser("run", help="run the checks against one provider")
    _add_run_flags(run, with_mode=True)
    run.set_defaults(func=cmd_run)
    record = sub.add_parser("record", help="re-record a provider's cassettes (live, then written to cassettes/)")
    _add_run_flags(record, with_mode=False)
    record.set_defaults(func=cmd_record)
