"""Replay of every shipped cassette: the whole embedded suite, offline; and `harness
conformance` (every shipped column replayed, reports included) in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.providers import load_providers
from harness.runs import RunOptions, run_provider

CONFORMANCE = "import sys; from harness.cli import main; sys.exit(main(sys.argv[1:]))"


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
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        # Exit 1 (non-conforming columns) is its answer, not a failure of the measurement.
        subprocess.run(
            [sys.executable, "-c", CONFORMANCE, "conformance", "--out", tmp], capture_output=True, check=False
        )
        conformance = time.perf_counter() - began
    return [
        {"figure": "replay: shipped suite wall time (s)", "value": elapsed, "goal": "<= 1"},
        {
            "figure": "replay: harness conformance, every shipped column and reports (s)",
            "value": conformance,
            "goal": "<= 3",
        },
        {"figure": "replay: units replayed", "value": records},
        {"figure": "replay: units per second", "value": records / elapsed},
    ]
