"""Live overhead: the harness against a bare httpx loop, same requests, same concurrency."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from harness.generation import build_matrix, canonical_json
from harness.local.launcher import launch
from harness.providers import load_providers
from harness.results import ResultsWriter
from harness.schema import load_catalogue
from harness.workflows import RunOptions, _run

# Server time dominates and varies (a few cases generate up to the context length, with an
# unseeded sampler), so: several rounds, each order alternated (ABBA), and the median ratio.
ROUNDS = 10


async def bare_loop(base_url: str, bodies: list[dict[str, Any]], parallel: int, timeout: float) -> None:
    slots = asyncio.Semaphore(parallel)
    limits = httpx.Limits(max_connections=parallel, max_keepalive_connections=parallel)
    async with httpx.AsyncClient(base_url=base_url + "/", timeout=timeout, limits=limits) as client:

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
    # Client CPU per round: free of the server's noise (slot and prompt-cache luck moves a
    # round's wall time by a second), it shows what the harness itself costs.
    harness_cpu: list[float] = []
    bare_cpu: list[float] = []
    # Prompt caching off for this measurement only: which slot a request lands on, and so
    # whether its prompt is cached, otherwise moves a round's wall time by a second.
    server_args = ("--no-cache-prompt",)
    with (
        launch("llama-server", provider.max_parallel_requests, extra_args=server_args) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        # Retries off: the bare loop does not retry the server's 500s, so both send exactly the
        # same requests (the harness otherwise retries a 500 once, after a backoff).
        options = RunOptions(provider.name, mode="live", checks=["range"], progress=False, retries=0)
        asyncio.run(bare_loop(server.base_url, bodies, provider.max_parallel_requests, provider.timeout))  # warm-up

        def harness_round(i: int) -> None:
            writer = ResultsWriter(Path(tmp) / f"r{i}.jsonl")
            started, cpu = time.perf_counter(), time.process_time()
            asyncio.run(_run(provider, surface, server.base_url, options, writer, set()))
            harness_times.append(time.perf_counter() - started)
            harness_cpu.append(time.process_time() - cpu)
            writer.close()

        def bare_round() -> None:
            started, cpu = time.perf_counter(), time.process_time()
            asyncio.run(bare_loop(server.base_url, bodies, provider.max_parallel_requests, provider.timeout))
            bare_times.append(time.perf_counter() - started)
            bare_cpu.append(time.process_time() - cpu)

        for i in range(ROUNDS):
            if i % 2 == 0:
                harness_round(i)
                bare_round()
            else:
                bare_round()
                harness_round(i)
    ratio = statistics.median(h / b for h, b in zip(harness_times, bare_times, strict=True))
    shown = ", ".join(f"{h:.2f}/{b:.2f}" for h, b in zip(harness_times, bare_times, strict=True))
    print(f"   {len(bodies)} requests x {ROUNDS} rounds (ABBA); harness/bare seconds per round: {shown}")
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
    ]
