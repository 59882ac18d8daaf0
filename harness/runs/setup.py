"""What every way of running a provider shares: where it answers (launching a local server),
whether it can be reached, the command line over providers.toml, and the one place a
provider's entry becomes client settings (the CLI, the pytest plugin and check-config)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import httpx

from harness.errors import ConfigError
from harness.providers import Endpoints, Provider
from harness.transport import ClientSettings
from harness.transport.cassettes import Mode


@contextlib.contextmanager
def provider_endpoints(provider: Provider, mode: Mode) -> Iterator[Endpoints]:
    """Where to send: freshly launched local servers (with /embeddings when the entry asks for
    it), or the configured URLs. Replay launches nothing."""
    if provider.launch is not None and mode != "replay":
        from harness.local.launcher import launch_provider

        spec = provider.launch
        with launch_provider(
            spec.server, provider.max_parallel_requests, spec.embeddings, upstream_server=spec.upstream_server
        ) as endpoints:
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


def client_settings(
    provider: Provider,
    endpoints: Endpoints,
    mode: Mode,
    *,
    max_parallel_requests: int | None = None,
    timeout: float | None = None,
    retries: int = 2,
) -> ClientSettings:
    """The client for ``provider`` at ``endpoints``: its key, headers, limit and timeout (a
    caller may narrow the limit or set another timeout, as a Data Designer config does);
    replay computes backoffs without sleeping them."""
    return ClientSettings(
        base_url=endpoints.base_url,
        embeddings_base_url=endpoints.embeddings_base_url,
        api_key=provider.api_key(),
        headers={**provider.resolved_headers(), **endpoints.headers},
        max_parallel_requests=max_parallel_requests or provider.max_parallel_requests,
        timeout=timeout or provider.timeout,
        wait=mode != "replay",
        retries=retries,
    )


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
