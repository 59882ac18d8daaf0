"""Scale: a 10,000-case replay, peak RSS and wall time, measured in a child process.

The cassette is recorded here, once per machine, from the real llama.cpp server (10,000
distinct requests: the matrix's cases, each prompt numbered) into bench/.cache/, never
committed; the replay then runs in a fresh interpreter so its peak RSS is its own.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness.checks import CheckContext
from harness.engine import DedupingSender, plan, run_units
from harness.generation import Case, build_matrix
from harness.generation.matrix import MatrixBuilder
from harness.providers import load_providers
from harness.results import ResultsWriter
from harness.schema import Surface, load_catalogue
from harness.transport import ClientSettings, ProviderClient
from harness.transport.cassettes import Cassette, Mode, cassette

N = 10_000
CACHE = Path(__file__).resolve().parent / ".cache"
CASSETTE = CACHE / f"scale-{N}.json"


def scale_cases(surface: Surface, model: str) -> list[Case]:
    matrix = [c for c in build_matrix(surface, model) if c.body.get("stream") is not True]
    builder = MatrixBuilder(surface, model)
    cases = []
    for i in range(N):
        case = matrix[i % len(matrix)]
        fields = {k: v for k, v in case.body.items() if k != "model"}
        fields["messages"] = [{"role": "user", "content": f"Say hello. #{i}"}]
        cases.append(builder.case(case.param, f"{case.label}-{i}", case.value, fields))
    return cases


async def _drive(base_url: str, mode: Mode, out: Path, parallel: int, tape: Cassette | None) -> int:
    provider = load_providers()["llamacpp-local"]
    surface = load_catalogue()[provider.schema_name]
    settings = ClientSettings(base_url=base_url, max_parallel_requests=parallel, wait=mode != "replay")
    async with ProviderClient(settings, cassette=tape) as client:
        ctx = CheckContext(
            provider.name, surface, provider.model, scale_cases(surface, provider.model), DedupingSender(client)
        )
        out.unlink(missing_ok=True)
        writer = ResultsWriter(out)
        stats = await run_units(plan(ctx, ["range"]), writer, ctx, set(), keep_records=False)
        writer.close()
        return stats.units


def record() -> None:
    from harness.local.launcher import launch

    CACHE.mkdir(exist_ok=True)
    partial = CASSETTE.with_suffix(".partial.json")
    partial.unlink(missing_ok=True)
    with launch("llama-server", 4) as server, cassette(partial, "record", local=True) as tape:
        asyncio.run(_drive(server.base_url, "record", CACHE / "record.jsonl", 4, tape))
    partial.replace(CASSETTE)


def child() -> None:
    """The measured replay (run as `python -m bench.scale child`)."""
    started = time.perf_counter()
    with cassette(CASSETTE, "replay", local=True) as tape:
        units = asyncio.run(_drive("http://127.0.0.1:0/v1", "replay", CACHE / "replay.jsonl", 4, tape))
    print(f"{units} {time.perf_counter() - started:.3f} {own_peak_kib()}")


def own_peak_kib() -> int:
    """This process's own peak RSS. Not getrusage: the parent's RUSAGE_CHILDREN is the largest of
    every child it waited for (the servers earlier sections launched among them), and Linux
    keeps ru_maxrss across fork and exec, so RUSAGE_SELF in a child starts at its parent's
    size when it forked (the bench's process, grown by the sections before). VmHWM is the
    high-water mark of this address space alone, new at exec."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the best there is


def run() -> list[dict[str, Any]]:
    if not CASSETTE.exists():
        started = time.perf_counter()
        record()
        print(f"   recorded {N} interactions from llama-server in {time.perf_counter() - started:.1f}s")
    result = subprocess.run(
        [sys.executable, "-m", "bench.scale", "child"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    units, seconds, peak_kib = result.stdout.split()
    return [
        {"figure": f"scale: {int(units):,}-case replay wall time (s)", "value": float(seconds)},
        {"figure": f"scale: {int(units):,}-case replay peak RSS (MB)", "value": int(peak_kib) / 1024, "goal": "< 200"},
    ]


if __name__ == "__main__" and sys.argv[1:] == ["child"]:
    child()
