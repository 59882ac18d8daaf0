"""What every way of running a provider shares: where it answers (launching a local server),
whether it can be reached, the command line over providers.toml, and the one place a
provider's entry becomes client settings (the CLI, the pytest plugin and check-config)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from harness.checks.cost import Budget, Price
from harness.errors import ConfigError
from harness.providers import Endpoints, Provider
from harness.transport import ClientSettings
from harness.transport.cassettes import Cassette, Mode, cassette
from harness.transport.tap import TapServer, running_tap

T = TypeVar("T", int, float)


@contextlib.contextmanager
def provider_endpoints(provider: Provider, mode: Mode, upstream_base_url: str | None = None) -> Iterator[Endpoints]:
    """Where to send: freshly launched local servers (with /embeddings when the entry asks for
    it), or the configured URLs. Replay launches nothing. A gateway the harness launches is
    pointed at ``upstream_base_url`` (its upstream, or the tap in front of it)."""
    if provider.launch is not None and provider.upstream is not None and mode != "replay":
        if upstream_base_url is None:
            raise ConfigError(f"{provider.name}: a launched gateway needs its upstream's address")
        from harness.local.launcher import start_gateway

        with start_gateway(provider.launch.server, upstream_base_url, provider.default_model) as running:
            yield Endpoints(running.base_url, headers=running.headers)
        return
    if provider.launch is not None and mode != "replay":
        from harness.local.launcher import launch_provider

        spec = provider.launch
        with launch_provider(
            spec.server,
            provider.max_parallel_requests,
            spec.embeddings,
            upstream_server=spec.upstream_server,
            model_defaults=provider.model_defaults,
        ) as endpoints:
            yield endpoints
        return
    yield Endpoints(provider.resolved_base_url(), provider.resolved_embeddings_base_url())


@dataclass
class GatewaySide:
    """A gateway column's other side: its upstream's entry and endpoints, the recording tap in
    front of the upstream (where the harness launched it, and not in replay), and the upstream's
    and the tap's cassettes."""

    upstream: Provider
    endpoints: Endpoints
    tap: TapServer | None = None
    tape: Cassette | None = None
    tap_tape: Cassette | None = None
    # The gateway's raw requests: without its key, with a wrong one, for an unknown model.
    raw_tape: Cassette | None = None


@contextlib.contextmanager
def gateway_side(
    upstream: Provider,
    mode: Mode,
    cassettes: tuple[Path, Path, Path] | None,
    endpoints: Endpoints | None = None,
    with_tap: bool = False,
    fresh: bool = False,
    keep_recorded: bool = False,
) -> Iterator[GatewaySide]:
    """The upstream launched (unless ``endpoints`` says where it runs), a tap started in front
    of it with ``with_tap`` (the gateway is then pointed at ``tap.base_url``; never in replay),
    and the upstream's, the tap's and the gateway's raw requests' cassettes (``cassettes``:
    their paths) open."""
    with contextlib.ExitStack() as stack:
        if endpoints is None:
            endpoints = stack.enter_context(provider_endpoints(upstream, mode))
            if mode != "replay":
                preflight(endpoints.base_url, upstream.timeout)
        tap = None
        if with_tap and mode != "replay":
            tap = stack.enter_context(running_tap(endpoints.base_url))
        tape = tap_tape = raw_tape = None
        if cassettes is not None:
            up_path, tap_path, raw_path = cassettes
            if mode == "record" and fresh:
                for path in (up_path, tap_path, raw_path):
                    if path is not None:
                        path.unlink(missing_ok=True)
            tape = stack.enter_context(cassette(up_path, mode, local=upstream.is_local, keep_recorded=keep_recorded))
            # Replay reads the tap's record where one was made; without it, effects alone decide.
            if tap is not None or tap_path.is_file():
                tap_tape = stack.enter_context(cassette(tap_path, mode, local=True, keep_recorded=keep_recorded))
            raw_tape = stack.enter_context(cassette(raw_path, mode, local=True, keep_recorded=keep_recorded))
        yield GatewaySide(upstream, endpoints, tap, tape, tap_tape, raw_tape)


def preflight(base_url: str, timeout: float) -> None:
    """Fail fast, in one line, when the server cannot be reached at all."""
    try:
        httpx.get(base_url.rstrip("/") + "/models", timeout=min(timeout, 10.0))
    except httpx.HTTPError as err:
        raise ConfigError(
            f"cannot reach {base_url}: {type(err).__name__}; check base_url in providers.toml "
            "or that the server is running"
        ) from err


def client_settings(
    provider: Provider,
    endpoints: Endpoints,
    mode: Mode,
    *,
    max_parallel_requests: int | None = None,
    timeout: float | None = None,
    retries: int = 2,
    route: str | None = None,
) -> ClientSettings:
    """The client for ``provider`` at ``endpoints``: its key, headers, limit and timeout (a
    caller may narrow the limit or set another timeout, as a Data Designer config does; a
    column pinned to one of a router's ``route``s pins every request); replay computes
    backoffs without sleeping them."""
    return ClientSettings(
        base_url=endpoints.base_url,
        embeddings_base_url=endpoints.embeddings_base_url,
        api_key=provider.api_key(),
        headers={**provider.resolved_headers(), **endpoints.headers},
        max_parallel_requests=max_parallel_requests or provider.max_parallel_requests,
        timeout=timeout or provider.timeout,
        wait=mode != "replay",
        retries=retries,
        route=route,
    )


def price_of(provider: Provider) -> Price | None:
    return None if provider.price is None else Price(provider.price.input, provider.price.output)


def budget_of(provider: Provider, requests: int | None = None, usd: float | None = None) -> Budget | None:
    """The run's budget: the command line's and the provider entry's (budget_requests,
    budget_usd); where both set one, the smaller holds."""
    requests = _smaller(requests, provider.budget_requests)
    usd = _smaller(usd, provider.budget_usd)
    if requests is None and usd is None:
        return None
    price = price_of(provider)
    if usd is not None and price is None:
        raise ConfigError(
            f"--budget-usd: {provider.name!r} has no price in providers.toml (price = {{ input = ..., output = ... }}, "
            "USD per million tokens)"
        )
    return Budget(requests, usd, price)


def _smaller(a: T | None, b: T | None) -> T | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def with_overrides(provider: Provider, probe_mode: str | None, no_seed: bool) -> Provider:
    """The command line over providers.toml, for how probes treat the seed."""
    update: dict[str, Any] = {}
    if probe_mode:
        update["probe_mode"] = probe_mode
    if no_seed:
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
