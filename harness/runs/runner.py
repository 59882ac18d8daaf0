"""One column's run, for every entry point: ``open_column`` launches the provider or resolves
where it answers, checks it can be reached, records or replays, and gives the column its
event loop, its client (from the provider's entry), its de-duplicating sender and the one
``CheckContext`` (built from the provider's settings: send_seed, probe_mode,
structure_budget). ``harness run``/``record``/``conformance`` (``run_provider``), the pytest
plugin and ``check-config --live`` all run their units through it."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness import paths
from harness.checks import CheckContext
from harness.checks.context import KeySender, Upstream
from harness.checks.cost import Budget, Spending
from harness.checks.registry import Unit
from harness.engine import Admission, DedupingSender, RunStats, budget_admission, plan, run_units, share
from harness.errors import ConfigError
from harness.generation import build_matrix, keep_expectations
from harness.providers import Endpoints, file_stem, load_providers, resolve_provider
from harness.reporting.runlog import append_run_log
from harness.results import ResultsWriter, read_results
from harness.runs.folders import new_run_dir, writable_folder
from harness.runs.setup import (
    GatewaySide,
    budget_of,
    client_settings,
    gateway_side,
    parallel_requests,
    preflight,
    provider_endpoints,
    with_overrides,
)
from harness.runs.targets import Target
from harness.schema import surface_named
from harness.transport import Exchange, ProviderClient
from harness.transport.cassettes import Cassette, Mode, cassette, cassette_path
from harness.transport.tap import TapRoute

T = TypeVar("T")


def check_context(
    target: Target, sender: DedupingSender, params: list[str] | None = None, model: str | None = None
) -> CheckContext:
    """What every check of a run sees: the column, the surface, the matrix and the sender
    (``model``: another model name than the column's, as a Data Designer alias sends)."""
    provider = target.provider
    model = model or target.model_name
    return CheckContext(
        provider=target.column,
        surface=target.surface,
        model=model,
        cases=build_matrix(target.surface, model, params),
        send=sender,
        api_key_env=provider.api_key_env,
        base_url=provider.resolved_base_url(),
        params=params,
        send_seed=provider.send_seed,
        probe_mode=provider.probe_mode,
        structure_budget=provider.structure_budget,
        context_tokens=provider.context_tokens,
        template_reads=frozenset(provider.template_reads),
        model_defaults=dict(provider.model_defaults),
        route=target.route,
    )


@dataclass(frozen=True)
class ColumnOptions:
    """How a column runs (the provider's own settings come from its entry)."""

    mode: Mode = "replay"
    params: list[str] | None = None  # --params: the matrix and the probes restricted to these
    jobs: int | None = None  # -j: at most the provider's max_parallel_requests
    retries: int = 2  # attempts after the first for transient failures (see ClientSettings)
    fresh_cassette: bool = False  # record: the cassette starts empty (a full re-record)
    new_only: bool = False  # record: serve what the cassette has, send only what it lacks
    run_log: Path | None = None  # a run folder: each run_units() adds its line to runs.jsonl there
    endpoints: Endpoints | None = None  # a server already running there: launch nothing, check nothing
    # A gateway's upstream already running there (launch nothing), and how to start the gateway
    # pointed at an address (in place of the launcher's start_gateway: a test's own gateway).
    upstream_endpoints: Endpoints | None = None
    launch_gateway: Callable[[str], AbstractContextManager[Endpoints]] | None = None
    budget: Budget | None = None  # start no unit whose ceiling could pass it (engine.Admission)


class Column:
    """An open column: its endpoints, its event loop, and the client, sender and context the
    units run through. Made by ``open_column``."""

    def __init__(
        self,
        target: Target,
        options: ColumnOptions,
        endpoints: Endpoints,
        runner: asyncio.Runner,
        tape: Cassette | None = None,
        side: GatewaySide | None = None,
    ) -> None:
        self.target, self.options, self.endpoints, self.tape = target, options, endpoints, tape
        self.side = side
        self._runner = runner
        self._limit = parallel_requests(target.provider, options.jobs)
        self.client: ProviderClient | None = None
        self.upstream_client: ProviderClient | None = None
        self.key_clients: dict[str | None, ProviderClient] = {}
        self.spending: Spending | None = None  # under a budget, set by run_units
        self.renew()

    def renew(
        self, *, model: str | None = None, max_parallel_requests: int | None = None, timeout: float | None = None
    ) -> CheckContext:
        """A new client, sender and context for the units to come (the previous client is
        closed): for another model name, concurrency limit or timeout, as each Data Designer
        alias has its own."""
        self.close()
        provider = self.target.provider
        settings = client_settings(
            provider,
            self.endpoints,
            self.options.mode,
            max_parallel_requests=max_parallel_requests or self._limit,
            timeout=timeout,
            retries=self.options.retries,
            route=self.target.route,
        )
        self.client = ProviderClient(settings, cassette=self.tape)
        self.sender = DedupingSender(self.client, provider.name, provider.api_key_env, model or self.target.model_name)
        self.ctx = check_context(self.target, self.sender, self.options.params, model)
        self.ctx.replaying = self.options.mode == "replay"
        if self.side is not None:
            self._renew_upstream(self.side)
        return self.ctx

    def _renew_upstream(self, side: GatewaySide) -> None:
        """The upstream's own client and sender, and the route through the tap, in the context."""
        upstream = side.upstream
        settings = client_settings(upstream, side.endpoints, self.options.mode, retries=self.options.retries)
        self.upstream_client = ProviderClient(settings, cassette=side.tape)
        sender = DedupingSender(self.upstream_client, upstream.name, upstream.api_key_env)
        direct = self.upstream_client

        async def raw_direct(body: dict[str, Any]) -> Exchange:
            return await direct.send(body)

        self.ctx.upstream = Upstream(upstream.name, upstream.default_model, sender, raw_direct)
        gateway = self.sender

        async def fresh(body: dict[str, Any]) -> Exchange:
            return await gateway(body, fresh=True)

        if side.tap is not None or (side.tap_tape is not None and side.tap_tape.mode == "replay"):
            self.ctx.tap = TapRoute(fresh, side.tap, side.tap_tape)
        keys = self.ctx.keys = self._key_sender(side)
        provider = self.target.provider
        own = provider.api_key() or self._launch_key
        # Known from the entry, so a replay plans the same probes as the recording did.
        self.ctx.keyed = bool(provider.api_key_env) or (provider.launch is not None and provider.launch.makes_key)

        async def raw(body: dict[str, Any]) -> Exchange:
            return await keys(body, own)

        self.ctx.raw = raw

    @property
    def _launch_key(self) -> str | None:
        """The key a launched gateway was started with (LiteLLM's master key), sent as a header."""
        header = next((v for k, v in self.endpoints.headers.items() if k.lower() == "authorization"), "")
        return header.removeprefix("Bearer ").strip() or None

    def _key_sender(self, side: GatewaySide) -> KeySender:
        """The gateway with a key of our choosing (a client each, no de-duplication: a 401 or a
        404 here is the answer probed, not a configuration to stop at)."""
        provider, mode = self.target.provider, self.options.mode
        base = client_settings(provider, self.endpoints, mode, retries=0)
        # The key is the one asked for, not a launched gateway's own (a header of its endpoints).
        base = replace(base, headers={k: v for k, v in base.headers.items() if k.lower() != "authorization"})
        clients: dict[str | None, ProviderClient] = {}
        self.key_clients = clients

        async def send(body: dict[str, Any], key: str | None) -> Exchange:
            client = clients.get(key)
            if client is None:
                client = clients[key] = ProviderClient(replace(base, api_key=key), cassette=side.raw_tape)
                client.may_retry = self.spending.may_retry if self.spending is not None else None
            return await client.send(body)

        return send

    def run(self, awaitable: Awaitable[T]) -> T:
        """``awaitable``'s result, on the column's event loop."""

        async def wait() -> T:
            return await awaitable

        return self._runner.run(wait())

    def run_units(
        self,
        units: list[tuple[str, Unit]],
        writer: ResultsWriter,
        done: set[str] | None = None,
        advance: Callable[[int], None] | None = None,
    ) -> RunStats:
        """``units`` (those not in ``done``), each record written as it finishes; what was
        sent, and the provider's profile where a probe measured it, in the returned stats (and
        in the run log when the options name one)."""
        spending = self._spending()
        stats = self.run(
            run_units(units, writer, self.ctx, done or set(), advance, keep_records=False, spending=spending)
        )
        assert self.client is not None
        others = [self.upstream_client] if self.upstream_client else []
        stats.requests = sum(c.requests_sent for c in [self.client, *others, *self.key_clients.values()])
        stats.completion_tokens = self.sender.completion_tokens
        stats.profile = self.ctx.shared.profile.done(None)
        stats.probes = stats.profile.describe() if stats.profile is not None else ""
        if self.options.run_log is not None:
            append_run_log(self.options.run_log, self.target.column, self.target.surface.name, self.options.mode, stats)
        return stats

    def admission(self, units: list[tuple[str, Unit]]) -> Admission | None:
        """Under a budget, which of ``units`` may start, one by one in the order asked
        (``engine.refusal``): for a caller that runs units itself (the pytest plugin); None
        without a budget."""
        spending = self._spending()
        return None if spending is None else self.run(budget_admission(self.ctx, spending, units))

    def _spending(self) -> Spending | None:
        """Under a budget, what the units reserve and their retries spend: every client of the
        column asks it before a retry. One per column, however many times units are run in it
        (check-config runs each model alias's)."""
        if self.options.budget is None:
            return None
        spending = self.spending = self.spending or Spending(self.options.budget)
        for client in [self.client, self.upstream_client, *self.key_clients.values()]:
            if client is not None:
                client.may_retry = spending.may_retry
        return spending

    def close(self) -> None:
        if self.client is not None:
            self.run(self.client.__aexit__())
            self.client = None
        if self.upstream_client is not None:
            self.run(self.upstream_client.__aexit__())
            self.upstream_client = None
        for client in self.key_clients.values():
            self.run(client.__aexit__())
        self.key_clients = {}


@contextlib.contextmanager
def open_column(target: Target, options: ColumnOptions) -> Iterator[Column]:
    """The column, open: a local provider launched (not to replay), its reachability checked
    (when sending), the cassette recorded or replayed, then its loop, client, sender and
    context. On leaving: the client closed, the cassette written, the servers stopped."""
    provider = target.provider
    with contextlib.ExitStack() as stack:
        side = stack.enter_context(_gateway_side(target, options)) if provider.upstream else None
        endpoints = options.endpoints
        if endpoints is None:
            # A gateway is pointed at the tap in front of its upstream, where there is one.
            aim = None if side is None else (side.tap.base_url if side.tap else side.endpoints.base_url)
            if options.launch_gateway is not None and aim is not None and options.mode != "replay":
                endpoints = stack.enter_context(options.launch_gateway(aim))
            else:
                endpoints = stack.enter_context(provider_endpoints(provider, options.mode, aim))
            if options.mode != "replay":
                preflight(endpoints.base_url, provider.timeout)
        path = cassette_path(paths.cassettes_dir(), target.cassette_folder, target.surface.name)
        if options.mode == "record" and options.fresh_cassette:
            path.unlink(missing_ok=True)
        tape = stack.enter_context(
            cassette(path, options.mode, local=provider.is_local, keep_recorded=options.new_only)
        )
        # Its own loop, never the thread's current one (a pytest session's other tests keep theirs).
        runner = stack.enter_context(asyncio.Runner(loop_factory=asyncio.new_event_loop))
        column = Column(target, options, endpoints, runner, tape, side)
        stack.callback(column.close)
        yield column


def _gateway_side(target: Target, options: ColumnOptions) -> AbstractContextManager[GatewaySide]:
    """A gateway column's upstream (launched unless running already), the tap in front of it
    where the harness launches both the gateway and the upstream, and their cassettes beside
    the column's: ``<surface>.upstream.json`` and ``<surface>.tap.json``."""
    provider = target.provider
    assert provider.upstream is not None
    upstream = resolve_provider(provider.upstream, load_providers())
    launches_gateway = options.endpoints is None and (provider.launch is not None or options.launch_gateway is not None)
    runs_upstream = upstream.is_local or options.upstream_endpoints is not None
    folder = cassette_path(paths.cassettes_dir(), target.cassette_folder, target.surface.name).parent
    return gateway_side(
        upstream,
        options.mode,
        (
            folder / f"{target.surface.name}.upstream.json",
            folder / f"{target.surface.name}.tap.json",
            folder / f"{target.surface.name}.raw.json",
        ),
        options.upstream_endpoints,
        with_tap=launches_gateway and runs_upstream,
        fresh=options.fresh_cassette,
        keep_recorded=options.new_only,
    )


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
    new_only: bool = False  # record: keep the cassette's answers, send only what it lacks
    progress: bool = True
    retries: int = 2  # attempts after the first for transient failures (see ClientSettings)
    # --shard on one column: this share of its units (index, count), live only (harness.runs.shards)
    unit_share: tuple[int, int] | None = None
    model: str | None = None  # one of the entry's models (default: its plain, or first, one)
    route: str | None = None  # one of the entry's routes (default: none, the router unpinned)
    budget_requests: int | None = None  # --budget-requests (with providers.toml's, the smaller)
    budget_usd: float | None = None  # --budget-usd


def target_of(options: RunOptions) -> Target:
    provider = with_overrides(resolve_provider(options.provider, load_providers()), options.probe_mode, options.no_seed)
    if options.model is not None and options.model not in provider.served_models:
        raise ConfigError(f"--model {options.model!r}: {provider.name!r} serves {', '.join(provider.served_models)}")
    if options.route is not None and options.route not in provider.routes:
        raise ConfigError(f"route {options.route!r}: {provider.name!r} routes {', '.join(provider.routes) or 'none'}")
    return Target(provider, surface_named(options.schema or provider.schema_name), options.model, options.route)


def run_provider(options: RunOptions) -> tuple[Path, RunStats]:
    """Run every check against one provider; returns the output folder and what happened."""
    target = target_of(options)
    provider, surface = target.provider, target.surface
    if options.params:
        unknown = sorted(set(options.params) - set(surface.parameters) - set(surface.embeddings))
        if unknown:
            raise ConfigError(f"--params: {', '.join(unknown)} not in surface {surface.name!r}")
    out = writable_folder(options.resume or options.out or new_run_dir(file_stem(target.column)))
    writer = ResultsWriter(out / "results.jsonl")
    # (A folder may hold several columns, whose units share ids: this column's are done.)
    done = (
        {r.unit_id or r.case_id for r in read_results(out / "results.jsonl") if r.provider == target.column}
        if options.resume
        else set()
    )
    try:
        missing = provider.missing_key()
        if missing and options.mode != "replay":
            # Asked for by name, a provider that cannot run is a usage error; `harness
            # conformance` shows such providers as NOT_RUN columns instead.
            raise ConfigError(
                f"provider {provider.name!r} needs {missing}: set it (export {missing}=...) or use --mode replay"
            )
        column_options = ColumnOptions(
            mode=options.mode,
            params=options.params,
            jobs=options.jobs,
            retries=options.retries,
            # A full re-record starts clean; a partial one replaces what it sends again, or with
            # --new-only keeps every recorded answer and adds what is missing.
            fresh_cassette=not options.params and not options.checks and not options.resume and not options.new_only,
            new_only=options.new_only,
            run_log=out,
            budget=budget_of(provider, options.budget_requests, options.budget_usd),
        )
        with open_column(target, column_options) as column:
            stats = _run_with_progress(column, options.checks, writer, done, options.progress, options.unit_share)
        keep_expectations()  # for the next process (generation.kept)
    finally:
        writer.close()
    return out, stats


def _run_with_progress(
    column: Column,
    checks: list[str] | None,
    writer: ResultsWriter,
    done: set[str],
    progress: bool,
    unit_share: tuple[int, int] | None = None,
) -> RunStats:
    """Every check's units (or those of ``checks``, or a share of them), with a progress bar on
    a terminal."""
    units = plan(column.ctx, checks)
    if unit_share is not None:
        units = share(units, *unit_share)
    show = progress and sys.stderr.isatty()
    with Progress(
        TextColumn(column.target.column),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not show,
        transient=True,
    ) as bar:
        task = bar.add_task("run", total=len(units))
        # (No callback when the bar is hidden: advancing it still takes its lock per unit.)
        advance = (lambda n: bar.advance(task, n)) if show else None
        return column.run_units(units, writer, done, advance)
