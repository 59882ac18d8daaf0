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

ROUNDS = 3


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
    harness_times, bare_times = [], []
    with launch("llama-server", provider.max_parallel_requests) as server, tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(provider.name, mode="live", checks=["range"], progress=False)
        asyncio.run(bare_loop(server.base_url, bodies, provider.max_parallel_requests, provider.timeout))  # warm-up
        for i in range(ROUNDS):
            writer = ResultsWriter(Path(tmp) / f"r{i}.jsonl")
            started = time.perf_counter()
            asyncio.run(_run(provider, surface, server.base_url, options, writer, set()))
            harness_times.append(time.perf_counter() - started)
            writer.close()
            started = time.perf_counter()
            asyncio.run(bare_loop(server.base_url, bodies, provider.max_parallel_requests, provider.timeout))
            bare_times.append(time.perf_counter() - started)
    ratio = statistics.median(h / b for h, b in zip(harness_times, bare_times, strict=True))
    print(f"   {len(bodies)} requests x {ROUNDS} alternated rounds; harness {harness_times}, bare {bare_times}")
    return [
        {"figure": "live: requests per run (llamacpp-local matrix)", "value": len(bodies)},
        {"figure": "live: harness wall time, median (s)", "value": statistics.median(harness_times)},
        {"figure": "live: bare httpx loop wall time, median (s)", "value": statistics.median(bare_times)},
        {"figure": "live: harness / bare-loop wall time", "value": ratio, "goal": "<= 1.05"},
    ]
