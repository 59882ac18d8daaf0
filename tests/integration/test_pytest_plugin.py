"""The pytest plugin: conformance units as items; under xdist the same results as one process,
written once by the controller."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def _pytest(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run pytest with the harness plugin in a subprocess, as a user's CI would."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--harness-provider", "llamacpp-local"]
    return subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=timeout)


def _run(out: Path, workers: int) -> subprocess.CompletedProcess[str]:
    return _pytest(
        "--harness-provider",
        "llama-cpp-python-local",
        "--harness-out",
        str(out),
        "-n",
        str(workers),
        "--dist",
        "loadgroup",
        timeout=600,
    )


def _verdicts(out: Path) -> dict[tuple[str, str, str], str]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return {(r["provider"], r["case_id"], r["check"]): r["verdict"] for r in map(json.loads, lines)}


def test_xdist_gives_the_same_results_as_one_process(tmp_path: Path) -> None:
    single = _run(tmp_path / "single", 0)
    double = _run(tmp_path / "double", 2)
    assert "failed" in single.stdout and single.returncode == 1  # the local servers have non-conformances
    assert single.stdout.splitlines()[-1].split(" in ")[0] == double.stdout.splitlines()[-1].split(" in ")[0]
    one, two = _verdicts(tmp_path / "single"), _verdicts(tmp_path / "double")
    assert len(one) > 400 and one == two
    # The controller wrote each record exactly once, and the reports beside them.
    lines = (tmp_path / "double/results.jsonl").read_text().splitlines()
    assert len(lines) == len(two)
    assert (tmp_path / "double/report.html").exists() and (tmp_path / "double/junit.xml").exists()


def test_items_fail_on_non_conformance_with_the_evidence(tmp_path: Path) -> None:
    result = _pytest("-k", "repeat_penalty and default", "-rf", timeout=300)
    assert result.returncode == 1
    assert "IGNORED: repeat_penalty: the documented default repeat_penalty=1.1 is not applied" in result.stdout
