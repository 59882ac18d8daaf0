"""Side by side with another commit: ``python -m bench --against REV [SECTION ...]``.

Each chosen section runs in turn here and in a worktree of REV (a temporary checkout, removed
afterwards), each in a fresh interpreter with its own tree first on ``sys.path``, alternated
ABAB so the machine's noise falls on both; the rows are the medians of each side and, for
every figure both sides measured, the ratio this/REV. Each side runs its own section code:
a figure whose measurement changed between the commits is compared as measured then.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
CHILD = "import importlib, json, sys; print(json.dumps(importlib.import_module('bench.' + sys.argv[1]).run()))"


@contextlib.contextmanager
def _worktree(rev: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-against-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        try:
            # The measurement's own inputs that are never committed (the 10,000-case cassette).
            cache = HERE / "bench" / ".cache"
            if cache.is_dir():
                (tree / "bench" / ".cache").symlink_to(cache)
            yield tree
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(tree)], check=False)


def _measure(tree: Path, section: str) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(tree), "HARNESS_ROOT": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, section], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench {section} failed in {tree}: {done.stderr.strip().splitlines()[-1:]}")
    rows: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def _medians(runs: list[list[dict[str, Any]]]) -> dict[str, float]:
    values: dict[str, list[float]] = {}
    for rows in runs:
        for row in rows:
            if isinstance(row.get("value"), int | float):
                values.setdefault(row["figure"], []).append(float(row["value"]))
    return {figure: statistics.median(found) for figure, found in values.items()}


def compare(rev: str, sections: list[str], repeats: int = 3) -> list[dict[str, Any]]:
    """Rows: each figure here, at REV, and their ratio (medians over ``repeats`` alternated runs)."""
    rows: list[dict[str, Any]] = []
    short = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    with _worktree(rev) as old:
        for section in sections:
            here_runs: list[list[dict[str, Any]]] = []
            old_runs: list[list[dict[str, Any]]] = []
            for _ in range(repeats):
                here_runs.append(_measure(HERE, section))
                old_runs.append(_measure(old, section))
            here, before = _medians(here_runs), _medians(old_runs)
            for figure, value in here.items():
                rows.append({"section": section, "figure": figure, "value": value})
                if figure in before:
                    rows.append({"section": section, "figure": f"{figure} at {short}", "value": before[figure]})
                    if before[figure]:
                        ratio = value / before[figure]
                        rows.append({"section": section, "figure": f"{figure}: this / {short}", "value": ratio})
    return rows
