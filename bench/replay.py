"""Replay of every shipped cassette: the whole embedded suite, offline; and `harness
conformance` (every shipped column replayed, reports included) in a fresh process."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import paths
from harness.checks.answers import STORE as ANSWERS
from harness.checks.judged import STORE
from harness.generation.kept import FOLDER as EXPECTATIONS
from harness.providers import load_providers
from harness.runs import RunOptions, run_provider

REFERENCE = "llamacpp-local=vllm-local"  # as `nox -s conformance` grades
CONFORMANCE = "import sys; from harness.cli import main; sys.exit(main(sys.argv[1:]))"


def _conformance() -> float:
    """Wall time of `harness conformance` as `nox -s conformance` runs it, in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        # Exit 1 (non-conforming columns) is its answer, not a failure of the measurement.
        subprocess.run(
            [sys.executable, "-c", CONFORMANCE, "conformance", "--reference", REFERENCE, "--out", tmp],
            capture_output=True,
            check=False,
        )
        return time.perf_counter() - began


def run() -> list[dict[str, Any]]:
    # The first replay on a machine judges every recorded body, asks scipy every test and
    # validates every request of the matrices; later ones look the judgements (checks.judged),
    # the answers (checks.answers) and the expectations (generation.kept) up: both are figures,
    # the second is the one a team's CI pays each run.
    for store in (STORE, ANSWERS):
        (paths.harness_cache() / store).unlink(missing_ok=True)
    shutil.rmtree(paths.harness_cache() / EXPECTATIONS, ignore_errors=True)
    first = _conformance()
    conformance = _conformance()
    local = [p for p in load_providers().values() if p.is_local]
    records = 0
    # The replay's own work: what the process imports is not in it (the harness's modules are
    # imported above; the SDK it judges streams with only when it first reads one), as
    # `harness conformance` in a fresh process, above, counts everything.
    importlib.import_module("openai")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for provider in local:
            _, stats = run_provider(
                RunOptions(provider.name, mode="replay", out=Path(tmp) / provider.name, progress=False)
            )
            records += stats.units
    elapsed = time.perf_counter() - started
    return [
        {"figure": "replay: shipped suite wall time (s)", "value": elapsed, "goal": "<= 1"},
        {
            "figure": "replay: harness conformance, every shipped column and reports (s)",
            "value": conformance,
            "goal": "<= 3",
        },
        {"figure": "replay: the same, first on a machine (no judgement kept yet) (s)", "value": first},
        {"figure": "replay: units replayed", "value": records},
        {"figure": "replay: units per second", "value": records / elapsed},
    ]
