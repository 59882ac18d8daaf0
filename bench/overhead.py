"""Live overhead: the harness against a bare httpx loop, same requests, same concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from harness.engine import plan
from harness.generation import build_matrix, canonical_json
from harness.local.launcher import launch
from harness.providers import Endpoints, load_providers
from harness.results import ResultsWriter
from harness.runs import ColumnOptions, Target, open_column
from harness.schema import load_catalogue
from harness.transport.network import NetworkTransport

# Server time varies from round to round, so: several rounds, each order alternated (ABBA),
# and the median ratio.
ROUNDS = 24

# The server, set up so that a round's wall time measures the client, not the server's luck:
# - prompt cache off: which slot a request lands on, and so whether its prompt is cached,
#   otherwise moves a round's wall time by a second;
# - a fixed default seed: the matrix's one unbounded request (max_tokens null) is unseeded,
#   and generated between 30 and 1,500 tokens from round to round; seeded, it is the same
#   request every round (its own length is still the server's);
# - one thread, on a core of its own (see ``_pinned``).
SERVER_ARGS = ("--no-cache-prompt", "--seed", "7", "--threads", "1")


@contextlib.contextmanager
def _pinned(server_cpus: set[int]) -> Iterator[Callable[[], None]]:
    """Run what starts in the block on ``server_cpus``; calling the yielded function moves this
    process to the other cores. A remote provider does not share the client's CPU; on a 2-core
    machine a co-located server does, and every millisecond of client CPU is taken from the
    server as well, counting the harness's overhead twice. Restores the affinity on exit."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, server_cpus)
    try:
        yield lambda: os.sched_setaffinity(0, (before - server_cpus) or before)
    finally:
        os.sched_setaffinity(0, before)


async def bare_loop(
    base_url: str, bodies: list[dict[str, Any]], parallel: int, timeout: float, same_transport: bool = False
) -> None:
    """httpx's client sending ``bodies``, over httpx's own transport or, with ``same_transport``,
    over the one the harness uses (so the difference is the harness's own work)."""
    slots = asyncio.Semaphore(parallel)
    limits = httpx.Limits(max_connections=parallel, max_keepalive_connections=parallel)
    # verify=False as the harness does for http:// (loading certificates costs ~25 ms a client).
    transport = NetworkTransport(limits, verify=False) if same_transport else None
    async with httpx.AsyncClient(
        base_url=base_url + "/", timeout=timeout, limits=limits, verify=False, transport=transport
    ) as client:

        async def one(body: dict[str, Any]) -> None:
            async with slots:
                response = await client.post(
                    "chat/completions",
                    content=canonical_json(body).encode(),
                    headers={"content-type": "application/json"},
                )
                await response.aread()

        await asyncio.gather(*(one(b) for b in bodies))


def run() -> list[dict[str, Any]]:
    provider = load_providers()["llamacpp-local"]
    surface = load_catalogue()[provider.schema_name]
    cases = build_matrix(surface, provider.model)
    # The harness sends each distinct body once; the bare loop gets exactly those.
    bodies = list({canonical_json(c.body): c.body for c in cases}.values())
    harness_times: list[float] = []
    bare_times: list[float] = []
    # Client CPU per round: free of the server's noise, it shows what the harness itself costs.
    harness_cpu: list[float] = []
    bare_cpu: list[float] = []
    same_cpu: list[float] = []  # the bare loop over the harness's transport
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = {cpus[-1]} if len(cpus) > 1 else set(cpus)
    with (
        _pinned(server_cpus) as to_client_cpus,
        launch("llama-server", provider.max_parallel_requests, extra_args=SERVER_ARGS) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        to_client_cpus()
        # Retries off: the bare loop does not retry the server's 500s, so both send exactly the
        # same requests (the harness otherwise retries a 500 once, after a backoff).
        options = ColumnOptions(mode="live", retries=0, endpoints=Endpoints(server.base_url))

        def harness_round(i: int) -> tuple[float, float]:
            writer = ResultsWriter(Path(tmp) / f"r{i}.jsonl")
            started, cpu = time.perf_counter(), time.process_time()
            with open_column(Target(provider, surface), options) as column:
                column.run_units(plan(column.ctx, ["range"]), writer)
            elapsed = time.perf_counter() - started, time.process_time() - cpu
            writer.close()
            return elapsed

        def bare_round(same_transport: bool = False) -> tuple[float, float]:
            started, cpu = time.perf_counter(), time.process_time()
            asyncio.run(
                bare_loop(server.base_url, bodies, provider.max_parallel_requests, provider.timeout, same_transport)
            )
            return time.perf_counter() - started, time.process_time() - cpu

        # One untimed round of each first: imports, compiled validators, the server's first touch.
        harness_round(-1)
        bare_round()
        bare_round(same_transport=True)
        for i in range(ROUNDS):
            if i % 2 == 0:
                (h_wall, h_cpu), (b_wall, b_cpu) = harness_round(i), bare_round()
                same_cpu.append(bare_round(same_transport=True)[1])
            else:
                same_cpu.append(bare_round(same_transport=True)[1])
                (b_wall, b_cpu), (h_wall, h_cpu) = bare_round(), harness_round(i)
            harness_times.append(h_wall)
            harness_cpu.append(h_cpu)
            bare_times.append(b_wall)
            bare_cpu.append(b_cpu)
    ratio = statistics.median(h / b for h, b in zip(harness_times, bare_times, strict=True))
    shown = ", ".join(f"{h:.2f}/{b:.2f}" for h, b in zip(harness_times, bare_times, strict=True))
    print(
        f"   {len(bodies)} requests x {ROUNDS} rounds (ABBA); server on CPU {sorted(server_cpus)}, client on the others"
    )
    print(f"   harness/bare seconds per round: {shown}")
    return [
        {"figure": "live: requests per run (llamacpp-local matrix)", "value": len(bodies)},
        {"figure": "live: harness wall time, median (s)", "value": statistics.median(harness_times)},
        {"figure": "live: bare httpx loop wall time, median (s)", "value": statistics.median(bare_times)},
        {"figure": "live: harness / bare-loop wall time (median of rounds)", "value": ratio, "goal": "<= 1.05"},
        {
            "figure": "live: harness client CPU per request (ms)",
            "value": statistics.median(harness_cpu) * 1000 / len(bodies),
        },
        {
            "figure": "live: bare-loop client CPU per request (ms)",
            "value": statistics.median(bare_cpu) * 1000 / len(bodies),
        },
        {
            "figure": "live: client CPU per request, harness / bare loop (medians)",
            "value": statistics.median(harness_cpu) / statistics.median(bare_cpu),
            "goal": "<= 1.05",
        },
        {
            "figure": "live: bare loop over the harness's transport, client CPU per request (ms)",
            "value": statistics.median(same_cpu) * 1000 / len(bodies),
        },
        {
            # What the harness itself adds per request: records, judges, evidence, the JSON lines.
            "figure": "live: client CPU per request, harness / bare loop over the same transport",
            "value": statistics.median(harness_cpu) / statistics.median(same_cpu),
        },
    ]
