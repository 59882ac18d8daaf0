"""Seed-free probes: what proof costs on a provider whose seed does not reproduce. The real
llama.cpp server held to OpenRouter's surface, once seeded and five times with the seed
withheld from every request (it then samples with a random seed): requests and completion
tokens per decisive verdict, and whether the five seed-free runs agree on every decided cell."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from harness.results import DECIDED, Record, read_results
from harness.runs import RunOptions, run_provider

REPEATS = 5


def _run(out: Path, no_seed: bool) -> tuple[dict[tuple[str, str], str], int, int]:
    options = RunOptions("llamacpp-local", schema="openrouter", mode="live", out=out, progress=False, no_seed=no_seed)
    _, stats = run_provider(options)
    records: list[Record] = read_results(out / "results.jsonl")
    cells = {(r.check, r.param): r.verdict.value for r in records if r.check != "range"}
    return cells, stats.requests, stats.completion_tokens


def _decided(cells: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    return {k: v for k, v in cells.items() if v in {d.value for d in DECIDED}}


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        seeded, requests, tokens = _run(Path(tmp) / "seeded", no_seed=False)
        free = [_run(Path(tmp) / f"free-{i}", no_seed=True) for i in range(REPEATS)]
    # each run's figure, for the record (the rows give the costliest and the mean)
    print("seed-free: seedless runs, completion tokens:", ", ".join(f"{t:,}" for _, _, t in free), flush=True)
    decided = len(_decided(seeded))
    free_decided = [_decided(cells) for cells, _, _ in free]
    agree = sum(d == free_decided[0] for d in free_decided)
    mean_requests = sum(r for _, r, _ in free) / REPEATS
    mean_tokens = sum(t for _, _, t in free) / REPEATS
    fewest = min(len(d) for d in free_decided)
    return [
        {"figure": "seed-free: seeded run, decisive non-range cells", "value": decided, "goal": f"of {len(seeded)}"},
        {"figure": "seed-free: seeded run, requests", "value": requests, "goal": ""},
        {"figure": "seed-free: seeded run, requests per decisive cell", "value": requests / decided, "goal": ""},
        {"figure": "seed-free: seeded run, tokens per decisive cell", "value": tokens / decided, "goal": ""},
        {
            "figure": "seed-free: seedless runs, fewest decisive non-range cells",
            "value": fewest,
            "goal": f">= {decided - 1} (the seed's own cell cannot be decided unsent)",
        },
        {"figure": "seed-free: seedless runs, mean requests", "value": mean_requests, "goal": ""},
        {"figure": "seed-free: requests, seedless / seeded", "value": mean_requests / requests, "goal": "<= 3"},
        {
            "figure": "seed-free: seedless runs, requests per decisive cell",
            "value": mean_requests / fewest,
            "goal": "",
        },
        {"figure": "seed-free: seedless runs, tokens per decisive cell", "value": mean_tokens / fewest, "goal": ""},
        {"figure": "seed-free: seedless runs, mean completion tokens", "value": mean_tokens, "goal": ""},
        {
            # issue 32: a full run's completion tokens, the costliest of the seedless runs
            "figure": "seed-free: seedless runs, most completion tokens in a run",
            "value": max(t for _, _, t in free),
            "goal": "<= 15,000",
        },
        {
            "figure": f"seed-free: seedless runs agreeing on every decided verdict (of {REPEATS})",
            "value": agree,
            "goal": f"{REPEATS}",
        },
    ]
