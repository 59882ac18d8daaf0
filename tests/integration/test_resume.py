"""Killing a run loses nothing that had finished, and --resume completes the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.generation import build_matrix
from harness.schema import load_catalogue
from tests.fault_server import fault_server
from tests.integration.conftest import write_providers


def test_kill_then_resume(project: Path) -> None:
    with fault_server() as server:
        write_providers(
            project,
            f"""
            [providers.slow]
            base_url = "{server.url("slow")}"
            model = "m"
            schema = "oruel"
            max_parallel_requests = 2
        """,
        )
        out = project / "run"
        command = [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--provider",
            "slow",
            "--mode",
            "live",
            "--out",
            str(out),
            "--checks",
            "range",
        ]
        env = {**os.environ, "HARNESS_ROOT": str(project)}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results = out / "results.jsonl"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if results.exists() and len(results.read_text().splitlines()) >= 10:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        before = [json.loads(line) for line in results.read_text().splitlines() if line.endswith("}")]
        assert 10 <= len(before) < 100, "the kill should land part-way"
        hits_before = server.hits["slow"]

        resumed = subprocess.run(
            [*command[:-4], "--checks", "range", "--resume", str(out)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert resumed.returncode in (0, 1), resumed.stderr
        after = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]

    ids = [r["unit_id"] for r in after]
    planned = len(build_matrix(load_catalogue()["oruel"], "m"))  # the range check: one unit a case
    assert len(ids) == len(set(ids)) == planned, "every unit exactly once"
    assert {r["unit_id"] for r in before} <= set(ids)
    assert f"{len(before)} skipped" in resumed.stdout.replace("\n", " ")
    # Only the missing ones were sent again: one request per distinct body among them.
    done = {r["unit_id"] for r in before}
    missing_bodies = {
        json.dumps(r["evidence"]["exchanges"][0]["request"], sort_keys=True) for r in after if r["unit_id"] not in done
    }
    # (+ at most the 2 requests in flight at the kill, which may reach the server after it)
    assert len(missing_bodies) <= server.hits["slow"] - hits_before <= len(missing_bodies) + 2
