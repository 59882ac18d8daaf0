"""Request economy: what a full conformance run costs per provider (from its run log)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from harness.providers import load_providers
from harness.reporting.runlog import read_run_log
from harness.runs import RunOptions, run_provider


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for provider in (p for p in load_providers().values() if p.is_local):
            run_provider(RunOptions(provider.name, mode="replay", out=out, progress=False))
        for name, sent in read_run_log(out).items():
            rows.append({"figure": f"economy: {name} requests", "value": sent["requests"], "goal": "<= 400"})
            rows.append(
                {
                    "figure": f"economy: {name} completion tokens",
                    "value": sent["completion_tokens"],
                    "goal": "<= 15,000",
                }
            )
    return rows
