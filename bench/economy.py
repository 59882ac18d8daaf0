"""Request economy: what a full conformance run costs per column (a local provider held to
each of its surfaces), from its run log: requests, of which structural cases, completion
tokens, and the replayed run's wall time. For a gateway (an entry naming an ``upstream``): its
column with the through-gateway differential and the upstream's direct requests, against the
gateway's requests alone (every other check)."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.providers import load_providers
from harness.runs import RunOptions, run_provider
from harness.runs.targets import targets_of


def _structural(out: Path, column: str) -> int:
    lines = (out / "results.jsonl").read_text().splitlines()
    return sum(1 for r in map(json.loads, lines) if r["provider"] == column and r["check"] == "structure")


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for provider in (p for p in load_providers().values() if p.is_local):
        for target in targets_of(provider):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp)
                started = time.perf_counter()
                _, stats = run_provider(
                    RunOptions(provider.name, schema=target.surface.name, mode="replay", out=out, progress=False)
                )
                elapsed = time.perf_counter() - started
                name = target.column
                rows.append({"figure": f"economy: {name} requests", "value": stats.requests, "goal": "<= 400"})
                rows.append(
                    {
                        "figure": f"economy: {name} structural cases",
                        "value": _structural(out, name),
                        "goal": f"<= {provider.structure_budget}",
                    }
                )
                rows.append(
                    {
                        "figure": f"economy: {name} completion tokens",
                        "value": stats.completion_tokens,
                        "goal": "<= 15,000",
                    }
                )
                rows.append(
                    {"figure": f"economy: {name} replayed wall time (s)", "value": round(elapsed, 2), "goal": "-"}
                )
                if provider.upstream is not None:
                    rows.append(_gateway_ratio(provider.name, target.surface.name, name, stats.requests))
    return rows


def _gateway_ratio(provider: str, surface: str, column: str, with_upstream: int) -> dict[str, Any]:
    """The column's requests (gateway and upstream) over the gateway's alone: the same replay
    without the ``gateway`` check."""
    from harness.checks import load_families

    others = [name for name in load_families() if name != "gateway"]
    with tempfile.TemporaryDirectory() as tmp:
        options = RunOptions(provider, schema=surface, mode="replay", out=Path(tmp), checks=others, progress=False)
        _, alone = run_provider(options)
    ratio = round(with_upstream / alone.requests, 2) if alone.requests else None
    return {"figure": f"economy: {column} with its upstream / the gateway alone", "value": ratio, "goal": "<= 1.5"}
