"""vLLM's CPU build, the second engine: its servers start, answer and stop whole (the API
server, its engine and worker processes), nothing is left after a failure, a killed harness or
Ctrl-C, and the harness's verdicts on it are vLLM's real behaviour, read in its source
(vllm/sampling_params.py, vllm/pooling_params.py, entrypoints/openai/chat_completion/)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from harness.local.build import vllm_installed
from harness.local.launcher import group_members, launch_provider
from harness.results import Verdict, read_results
from harness.runs import RunOptions, run_provider
from tests.conftest import ROOT
from tests.vllm_known_answers import (
    CHECKS,
    MODEL_DEFAULTS,
    PARAMS,
    assert_genconfig_known_answers,
    assert_vllm_known_answers,
)

pytestmark = pytest.mark.live


def require_vllm() -> None:
    if not vllm_installed():
        if os.environ.get("CI"):
            pytest.fail("vLLM is not installed: `nox -s tests` installs it (python -m harness.local.build)")
        pytest.skip("vLLM not installed; run: python -m harness.local.build")


def _wait_gone(pgids: list[int], timeout: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [pid for pgid in pgids for pid in group_members(pgid)]
        if not left:
            return []
        time.sleep(0.1)
    return left


def test_vllm_known_answers_live(tmp_path: Path) -> None:
    require_vllm()
    options = RunOptions("vllm-local", mode="live", out=tmp_path, params=PARAMS, checks=CHECKS, progress=False)
    run_provider(options)
    assert_vllm_known_answers(read_results(tmp_path / "results.jsonl"))


def test_vllm_applies_the_model_generation_config_live(tmp_path: Path) -> None:
    require_vllm()
    params = list(MODEL_DEFAULTS)
    options = RunOptions(
        "vllm-genconfig", schema="openai", mode="live", out=tmp_path, params=params, checks=["default"], progress=False
    )
    run_provider(options)
    assert_genconfig_known_answers(read_results(tmp_path / "results.jsonl"))


def test_vllm_chat_and_pooling_servers_start_answer_and_stop() -> None:
    require_vllm()
    with launch_provider("vllm", parallel=2, embeddings=True) as endpoints:
        assert endpoints.embeddings_base_url and endpoints.embeddings_base_url != endpoints.base_url
        leaders = [
            pid
            for pid in {int(p.name) for p in Path("/proc").glob("[0-9]*")}
            if group_members(pid) and pid in _children(os.getpid())
        ]
        assert len(leaders) == 2 and all(len(group_members(pid)) >= 2 for pid in leaders)  # server + engine
        reply = httpx.post(
            f"{endpoints.base_url}/chat/completions",
            timeout=30,
            json={"model": "tiny-llama", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 4},
        )
        assert reply.status_code == 200 and reply.json()["usage"]["completion_tokens"] == 4
        vector = httpx.post(
            f"{endpoints.embeddings_base_url}/embeddings", timeout=30, json={"model": "tiny-llama", "input": "hello"}
        )
        assert vector.status_code == 200 and len(vector.json()["data"][0]["embedding"]) == 128
        chat_has_none = httpx.post(
            f"{endpoints.base_url}/embeddings", timeout=30, json={"model": "tiny-llama", "input": "hello"}
        )
        assert chat_has_none.status_code == 404
    assert _wait_gone(leaders, timeout=0.5) == []  # stopped before the block returned


def _children(pid: int) -> set[int]:
    kids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            kids.add(int(stat.parent.name))
    return kids


_LAUNCH_AND_FAIL = """
import os, sys, time
from harness.local.launcher import launch_provider
from tests.integration.test_vllm import _children
with launch_provider("vllm", parallel=1, embeddings=False):
    print(" ".join(map(str, _children(os.getpid()))), flush=True)
    if sys.argv[1] == "raise":
        raise RuntimeError("a failure while serving")
    time.sleep(600)
"""


@pytest.mark.parametrize("ending", ["raise", "sigkill"])
def test_no_vllm_process_left_after_a_failure_or_a_killed_harness(ending: str) -> None:
    require_vllm()
    script = textwrap.dedent(_LAUNCH_AND_FAIL)
    parent = subprocess.Popen(
        [sys.executable, "-c", script, ending], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    leaders = [int(pid) for pid in parent.stdout.readline().split()]
    assert leaders and all(group_members(pid) for pid in leaders)
    if ending == "sigkill":
        parent.send_signal(signal.SIGKILL)  # no finally block runs: the kernel must end the server
    parent.wait(timeout=60)
    assert _wait_gone(leaders) == []


def test_no_vllm_process_left_after_ctrl_c(tmp_path: Path) -> None:
    """`harness run` interrupted while it sends: both servers and their engines go."""
    require_vllm()
    out = tmp_path / "out"
    harness = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "--provider", "vllm-local", "--mode", "live", "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    leaders: set[int] = set()
    deadline = time.monotonic() + 240
    results = out / "results.jsonl"
    while time.monotonic() < deadline and not (results.is_file() and results.stat().st_size):
        leaders |= _children(harness.pid)
        time.sleep(0.2)
    assert results.is_file(), "the run never started sending"
    assert len(leaders) == 2  # the chat server and the pooling server
    harness.send_signal(signal.SIGINT)
    _, err = harness.communicate(timeout=60)
    assert harness.returncode != 0, err
    assert _wait_gone(sorted(leaders)) == []


def test_vllm_without_a_seed_gives_the_same_known_answers(tmp_path: Path) -> None:
    """Seed-free probes on the second engine: penalties on greedy outputs, truncation on
    samples (vLLM samples its end-of-sequence token first now and then: an empty sample)."""
    require_vllm()
    params = ["repetition_penalty", "top_k", "min_p", "presence_penalty", "seed"]
    options = RunOptions(
        "vllm-local",
        mode="live",
        out=tmp_path,
        params=params,
        checks=["passthrough", "effect", "default", "determinism"],
        progress=False,
        no_seed=True,
    )
    _, stats = run_provider(options)
    got = {(r.param, r.check): r for r in read_results(tmp_path / "results.jsonl")}
    shown = {k: (r.verdict.value, r.detail[:120]) for k, r in got.items()}
    assert stats.probes.startswith("seed-free probes"), stats.probes
    assert got["repetition_penalty", "passthrough"].verdict is Verdict.HONOURED, shown
    assert got["repetition_penalty", "passthrough"].evidence["mode"] == "greedy"
    assert got["presence_penalty", "default"].verdict is Verdict.HONOURED, shown
    for param in ("top_k", "min_p"):
        assert got[param, "passthrough"].verdict is Verdict.HONOURED, shown
        assert got[param, "passthrough"].evidence["mode"] == "statistical"
    assert got["seed", "determinism"].verdict is Verdict.INCONCLUSIVE, shown
