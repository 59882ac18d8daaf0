"""Replay of every shipped cassette: the whole embedded suite, offline."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from harness.providers import load_providers
from harness.runs import RunOptions, run_provider


def run() -> list[dict[str, Any]]:
    local = [p for p in load_providers().values() if p.is_local]
    records = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for provider in local:
            _, stats = run_provider(
                RunOptions(provider.name, mode="replay", out=Path(tmp) / provider.name, progress=False)
            )
            records += stats.units
    elapsed = time.perf_counter() - started
    return [
        {"figure": "replay: shipped suite wall time (s)", "value": elapsed, "goal": "<= 10"},
        {"figure": "replay: units replayed", "value": records},
        {"figure": "replay: units per second", "value": records / elapsed},
    ]
