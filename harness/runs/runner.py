"""Run every check against one provider held to one surface: launch it if it is local, set
up record or replay, run the units concurrently, write the records and the run log."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness import paths
from harness.checks import CheckContext
from harness.checks.judges.profile import Profile
from harness.engine import DedupingSender, RunStats, plan, run_units
from harness.errors import ConfigError
from harness.generation import build_matrix
from harness.providers import Endpoints, load_providers, resolve_provider
from harness.reporting.runlog import append_run_log
from harness.results import ResultsWriter, read_results
from harness.runs.folders import new_run_dir, writable_folder
from harness.runs.setup import client_settings, parallel_requests, preflight, provider_endpoints, with_overrides
from harness.runs.targets import Target
from harness.schema import surface_named
from harness.transport import ProviderClient
from harness.transport.cassettes import Cassette, Mode, cassette, cassette_path


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


def check_context(target: Target, sender: DedupingSender, params: list[str] | None = None) -> CheckContext:
    """What every check of a run sees: the column, the surface, the matrix and the sender."""
    provider = target.provider
    return CheckContext(
        provider=target.column,
        surface=target.surface,
        model=provider.model,
        cases=build_matrix(target.surface, provider.model, params),
        send=sender,
        api_key_env=provider.api_key_env,
        base_url=provider.resolved_base_url(),
        params=params,
        send_seed=provider.send_seed,
        probe_mode=provider.probe_mode,
        structure_budget=provider.structure_budget,
    )


def target_of(options: RunOptions) -> Target:
    provider = with_overrides(resolve_provider(options.provider, load_providers()), options.probe_mode, options.no_seed)
    return Target(provider, surface_named(options.schema or provider.schema_name))


def run_provider(options: RunOptions) -> tuple[Path, RunStats]:
    """Run every check against one provider; returns the output folder and what happened."""
    target = target_of(options)
    provider, surface = target.provider, target.surface
    if options.params:
        unknown = sorted(set(options.params) - set(surface.parameters) - set(surface.embeddings))
        if unknown:
            raise ConfigError(f"--params: {', '.join(unknown)} not in surface {surface.name!r}")
    out = writable_folder(options.resume or options.out or new_run_dir(target.column))
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
            with cassette(cassette_file, options.mode, local=provider.is_local) as tape:
                stats = asyncio.run(run_with_endpoints(target, endpoints, options, writer, done, tape))
            append_run_log(out, target.column, surface.name, options.mode, stats)
    finally:
        writer.close()
    return out, stats


async def run_with_endpoints(
    target: Target,
    endpoints: Endpoints,
    options: RunOptions,
    writer: ResultsWriter,
    done: set[str],
    tape: Cassette | None = None,
) -> RunStats:
    """The units of every check, through one client at ``endpoints`` (already launched), over
    ``tape`` when recording or replaying."""
    provider = target.provider
    settings = client_settings(
        provider,
        endpoints,
        options.mode,
        max_parallel_requests=parallel_requests(provider, options.jobs),
        retries=options.retries,
    )
    async with ProviderClient(settings, cassette=tape) as client:
        sender = DedupingSender(client, provider.name, provider.api_key_env)
        ctx = check_context(target, sender, options.params)
        units = plan(ctx, options.checks)
        show = options.progress and sys.stderr.isatty()
        with Progress(
            TextColumn(target.column),
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
