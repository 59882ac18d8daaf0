"""Data Designer configs as Data Designer itself sees them (the real data-designer package):
files it wrote itself are accepted; every file gets the verdict its own loader gives, with
its message on one line naming the alias and the field; the live check's requests are the
ones its facade sends; its own health check decides whether it can use an answer."""

from __future__ import annotations

import json
import random
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
from data_designer.cli.repositories.model_repository import ModelConfigRegistry, ModelRepository
from data_designer.cli.repositories.provider_repository import ModelProviderRegistry, ProviderRepository
from data_designer.config.default_model_settings import get_builtin_model_configs, get_builtin_model_providers
from data_designer.config.models import ModelProvider, load_model_configs
from data_designer.config.utils.io_helpers import load_config_file as dd_read
from data_designer.config.utils.io_helpers import save_config_file
from data_designer.engine.model_provider import resolve_model_provider_registry
from data_designer.engine.models.factory import create_model_registry
from data_designer.engine.secret_resolver import PlaintextResolver
from pydantic import ValidationError

from harness.cli import main
from harness.datadesigner.config import extremes, load_config_file, merged_extra_body, sample
from harness.datadesigner.live import chat_cases
from harness.datadesigner.requests import PROMPT, SYSTEM_PROMPT, Target, health_check
from harness.datadesigner.static import static_records
from harness.errors import ConfigError
from harness.results import BUDGET_REACHED, Verdict
from harness.schema import Surface
from tests.conftest import ROOT
from tests.fault_server import fault_server
from tests.synthetic import SyntheticProvider, served

PROVIDERS = "providers:\n  - {name: p, endpoint: 'http://127.0.0.1:9/v1'}\n"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


# --- the loader: Data Designer's verdict on every file -------------------------------------------


def _written_by_data_designer(folder: Path) -> list[tuple[Path, Path]]:
    """Its built-in defaults as it seeds them (nulls kept) and as its CLI saves them."""
    seeded = folder / "seeded"
    seeded.mkdir()
    models = [mc.model_dump(mode="json") for mc in get_builtin_model_configs()]
    save_config_file(seeded / "model_configs.yaml", {"model_configs": models})
    providers = [p.model_dump(mode="json") for p in get_builtin_model_providers()]
    save_config_file(seeded / "model_providers.yaml", {"providers": providers})
    cli = folder / "cli"
    ModelRepository(cli).save(ModelConfigRegistry(model_configs=get_builtin_model_configs()))
    ProviderRepository(cli).save(ModelProviderRegistry(providers=get_builtin_model_providers()))
    return [(d / "model_configs.yaml", d / "model_providers.yaml") for d in (seeded, cli)]


# (name, model configs, providers): each a way the reimplementation disagreed with Data Designer.
VARIANTS = [
    (
        "skip-health-check",
        "model_configs:\n  - {alias: a, model: m, provider: p, skip_health_check: false}\n",
        PROVIDERS,
    ),
    ("no-provider", "model_configs:\n  - {alias: a, model: m}\n", PROVIDERS),
    ("bare-list", "- {alias: a, model: m, provider: p}\n", PROVIDERS),
    (
        "provider-without-endpoint",
        "model_configs:\n  - {alias: a, model: m, provider: p}\n",
        "providers:\n  - {name: p}\n",
    ),
    (
        "duplicate-providers",
        "model_configs:\n  - {alias: a, model: m, provider: p}\n",
        "providers:\n  - {name: p, endpoint: 'http://a/v1'}\n  - {name: p, endpoint: 'http://b/v1'}\n",
    ),
    (
        "embedding-without-generation-type",
        "model_configs:\n  - {alias: e, model: m, provider: p, inference_parameters: {encoding_format: base64}}\n",
        PROVIDERS,
    ),
    (
        "distribution-without-type",
        "model_configs:\n  - {alias: a, model: m, provider: p, inference_parameters: "
        "{temperature: {params: {low: 0.1, high: 0.5}}}}\n",
        PROVIDERS,
    ),
    ("unknown-provider", "model_configs:\n  - {alias: a, model: m, provider: nowhere}\n", PROVIDERS),
    ("unknown-key", "model_configs:\n  - {alias: a, model: m, provider: p, colour: red}\n", PROVIDERS),
    (
        "temperature-out-of-range",
        "model_configs:\n  - {alias: a, model: m, provider: p, inference_parameters: {temperature: 2.5}}\n",
        PROVIDERS,
    ),
    (
        "uniform-reversed",
        "model_configs:\n  - {alias: ok, model: m, provider: p}\n  - {alias: a, model: m, provider: p, "
        "inference_parameters: {temperature: {distribution_type: uniform, params: {low: 1.0, high: 0.5}}}}\n",
        PROVIDERS,
    ),
    (
        "manual-weights",
        "model_configs:\n  - {alias: a, model: m, provider: p, inference_parameters: "
        "{top_p: {distribution_type: manual, params: {values: [0.8, 0.9], weights: [1]}}}}\n",
        PROVIDERS,
    ),
    ("empty", "", PROVIDERS),
]


def data_designer_says(models: Path, providers: Path) -> str | None:
    """What Data Designer does with the files, step by step as DataDesigner does (load the
    model configs, the providers, the registry, each model's provider): None, or its error."""
    try:
        configs = load_model_configs(models)
        listed = [ModelProvider.model_validate(p) for p in dd_read(providers)["providers"]]
        registry = resolve_model_provider_registry(listed)
        for config in configs:
            registry.get_provider(config.provider)
    except ValidationError as err:
        first = next((e for e in err.errors() if e["type"] == "value_error"), err.errors()[0])
        return str(first["msg"]).removeprefix("Value error, ")
    except Exception as err:
        return " ".join(str(err).split())
    return None


def test_files_data_designer_wrote_are_accepted(tmp_path: Path) -> None:
    for models, providers in _written_by_data_designer(tmp_path):
        assert data_designer_says(models, providers) is None
        config = load_config_file(models, providers)
        assert len(config.models) == 12 and sorted(config.providers) == ["nvidia", "openai", "openrouter"]


@pytest.mark.parametrize(("name", "models", "providers"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_our_verdict_is_data_designers(tmp_path: Path, name: str, models: str, providers: str) -> None:
    models_path = _write(tmp_path, "model_configs.yaml", models)
    providers_path = _write(tmp_path, "model_providers.yaml", providers)
    expected = data_designer_says(models_path, providers_path)
    try:
        load_config_file(models_path, providers_path)
        ours = None
    except ConfigError as err:
        ours = str(err)
    if expected is None:
        assert ours is None, ours
    else:
        assert ours is not None and expected in ours and "\n" not in ours, (expected, ours)


def test_a_refusal_names_the_alias_and_the_field(tmp_path: Path) -> None:
    models = _write(tmp_path, "m.yaml", VARIANTS[10][1])
    with pytest.raises(ConfigError) as caught:
        load_config_file(models, _write(tmp_path, "p.yaml", PROVIDERS))
    assert "model config 'a': inference_parameters.temperature.params: `low` must be less than `high`" in str(
        caught.value
    )


def test_its_own_setup_maps_to_our_providers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No file given: Data Designer's own files in its home. Its built-in providers map to
    nvidia-nim, openai and openrouter; a custom one by its endpoint; an unknown one is refused."""
    (seeded, _), _ = _written_by_data_designer(tmp_path)
    monkeypatch.setenv("DATA_DESIGNER_HOME", str(seeded.parent))
    out = tmp_path / "out"
    assert main(["check-config", "--out", str(out)]) in (0, 1)
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    by_alias = {r["label"]: r["provider"] for r in records}
    assert by_alias["nvidia-text"] == "nvidia-nim" and by_alias["openai-text"] == "openai"
    assert by_alias["openrouter-text"] == "openrouter"
    models = _write(
        tmp_path,
        "m.yaml",
        "model_configs:\n  - {alias: a, model: m, provider: mine, inference_parameters: {temperature: 0.5}}\n",
    )
    known = _write(tmp_path, "known.yaml", "providers:\n  - {name: mine, endpoint: 'https://openrouter.ai/api/v1/'}\n")
    assert main(["check-config", str(models), "--providers", str(known), "--out", str(tmp_path / "o2")]) == 0
    mapped = {json.loads(line)["provider"] for line in (tmp_path / "o2/results.jsonl").read_text().splitlines()}
    assert mapped == {"openrouter"}
    unknown = _write(tmp_path, "unknown.yaml", "providers:\n  - {name: mine, endpoint: 'https://example.test/v1'}\n")
    assert main(["check-config", str(models), "--providers", str(unknown), "--out", str(tmp_path / "o3")]) == 2


# --- distributions and the static verdicts -------------------------------------------------------

CHAT = """
model_configs:
  - alias: writer
    model: m
    provider: p
    inference_parameters:
      generation_type: chat-completion
      temperature: {temperature}
      top_p: {top_p}
      extra_body: {extra}
"""


def _chat(folder: Path, temperature: str = "0.5", top_p: str = "0.9", extra: str = "{}") -> Any:
    models = _write(folder, "models.yaml", CHAT.format(temperature=temperature, top_p=top_p, extra=extra))
    return load_config_file(models, _write(folder, "providers.yaml", PROVIDERS))


def test_each_distribution_kind(tmp_path: Path) -> None:
    config = _chat(
        tmp_path,
        temperature="{distribution_type: uniform, params: {low: 0.7, high: 1.0}}",
        top_p="{distribution_type: manual, params: {values: [0.8, 0.9, 0.95], weights: [2, 5, 3]}}",
    )
    params = config.models[0].inference_parameters
    assert extremes(params.temperature) == [0.7, 1.0]
    assert extremes(params.top_p) == [0.8, 0.9, 0.95]
    rng = random.Random(1)
    assert all(0.7 <= sample(params.temperature, rng) <= 1.0 for _ in range(50))
    assert {sample(params.top_p, rng) for _ in range(200)} == {0.8, 0.9, 0.95}


def test_provider_extra_body_wins_and_collisions_are_flagged(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    models = _write(
        tmp_path,
        "m.yaml",
        """
        model_configs:
          - alias: writer
            model: m
            provider: p
            inference_parameters: {temperature: 0.2, extra_body: {top_k: 50, temperature: 1.8}}
        """,
    )
    providers = _write(
        tmp_path, "p.yaml", "providers:\n  - {name: p, endpoint: 'http://x/v1', extra_body: {top_k: 5}}\n"
    )
    config = load_config_file(models, providers)
    assert merged_extra_body(config.models[0], config.providers) == {"top_k": 5, "temperature": 1.8}
    records = static_records(config, "prov", catalogue["oruel"])
    collision = [r for r in records if r.case_id.endswith(".collision")]
    assert collision and collision[0].verdict is Verdict.INCONCLUSIVE and "silently overwrites" in collision[0].detail


def _verdicts(records: list[Any], key: str) -> set[Verdict]:
    return {r.verdict for r in records if r.param == key and not r.case_id.endswith(".collision")}


def test_static_verdicts(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    config = _chat(
        tmp_path,
        temperature="{distribution_type: uniform, params: {low: 0.5, high: 1.5}}",
        top_p="{distribution_type: manual, params: {values: [0.0, 0.5]}}",
        extra="{top_k: 250, repetition_penalty: 2.5, tier: turbo, mirostat: 2, n: 3}",
    )
    oruel = static_records(config, "p", catalogue["oruel"])
    assert _verdicts(oruel, "temperature") == {Verdict.ACCEPTED}  # [0.5, 1.5] within [0, 2]
    assert _verdicts(oruel, "top_k") == {Verdict.REJECTED}  # 250 > 200
    assert _verdicts(oruel, "repetition_penalty") == {Verdict.ACCEPTED}  # 0.1-3
    assert _verdicts(oruel, "tier") == {Verdict.ACCEPTED}
    assert _verdicts(oruel, "mirostat") == {Verdict.INCONCLUSIVE}  # not documented, unknown-key handling unspecified
    # Data Designer's generate() removes n from every request: no verdict about it anywhere.
    assert not [r for r in oruel if r.param == "n"]
    openrouter = static_records(config, "p", catalogue["openrouter"])
    assert _verdicts(openrouter, "repetition_penalty") == {Verdict.REJECTED}  # 2.5 > 2
    vllm = static_records(config, "p", catalogue["vllm"])
    assert _verdicts(vllm, "top_p") == {Verdict.REJECTED}  # 0.0: vLLM's top_p is (0, 1]
    openai = static_records(config, "p", catalogue["openai"])
    assert _verdicts(openai, "top_k") == {Verdict.REJECTED}  # OpenAI rejects unknown keys


def test_embedding_config_against_a_surface(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    models = _write(
        tmp_path,
        "m.yaml",
        "model_configs:\n  - {alias: embedder, model: m, provider: p, "
        "inference_parameters: {generation_type: embedding, encoding_format: base64, dimensions: 0}}\n",
    )
    config = load_config_file(models, _write(tmp_path, "p.yaml", PROVIDERS))
    records = static_records(config, "p", catalogue["openai"])
    assert _verdicts(records, "encoding_format") == {Verdict.ACCEPTED}
    assert _verdicts(records, "dimensions") == {Verdict.REJECTED}  # OpenAI: dimensions >= 1
    assert _verdicts(static_records(config, "p", catalogue["oruel"]), "(endpoint)") == {Verdict.REJECTED}


def test_check_config_exit_code_and_junit_agree(tmp_path: Path) -> None:
    """A documented-invalid value fails the run (exit 1): its junit.xml must say so too."""
    models = _write(tmp_path, "m.yaml", CHAT.format(temperature=0.5, top_p=0.9, extra="{top_k: 1.5}"))
    providers = _write(tmp_path, "p.yaml", PROVIDERS)
    out = tmp_path / "out"
    args = ["check-config", str(models), "--providers", str(providers), "--provider", "llamacpp-local"]
    assert main([*args, "--out", str(out)]) == 1  # llama.cpp documents top_k as an integer
    suites = ET.parse(out / "junit.xml").getroot()
    failure = suites.find(".//testcase[@name='top_k [config-static]']/failure")
    assert failure is not None and failure.get("type") == "REJECTED"


# --- its requests and its health check ------------------------------------------------------------


def test_live_requests_are_the_ones_data_designer_sends(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    """Each live case, side by side with what Data Designer's production stack (its model
    registry and HTTP client, unchanged) sends to a server that echoes the body back."""
    config = _chat(
        tmp_path,
        temperature="{distribution_type: uniform, params: {low: 0.5, high: 1.0}}",
        extra="{min_p: 0.1, n: 3}",
    )
    model = config.models[0]
    cases = chat_cases(config, model, catalogue["llamacpp"])
    with fault_server() as server:
        provider = ModelProvider(name="p", endpoint=server.url("echo"))
        registry = create_model_registry(
            model_configs=config.models,
            secret_resolver=PlaintextResolver(),
            model_provider_registry=resolve_model_provider_registry([provider]),
        )
        facade = registry.get_model(model_alias=model.alias)
        for case in cases:
            drawn = {k: case.body[k] for k in ("temperature", "top_p", "max_tokens") if k in case.body}
            echoed, _ = facade.generate(
                prompt=PROMPT, system_prompt=SYSTEM_PROMPT, max_correction_steps=0, max_conversation_restarts=0, **drawn
            )
            assert json.loads(echoed.split("\n", 1)[1]) == case.body
    assert all("n" not in c.body and c.body["messages"][0]["role"] == "system" for c in cases)
    assert cases[0].body["messages"][1]["content"] == [{"type": "text", "text": PROMPT}]


@pytest.mark.parametrize(("answer", "passes"), [([0.25, 0.5], True), ("AACAPgAAAD8=", False)])
def test_its_health_check_decides_whether_an_embedding_is_usable(tmp_path: Path, answer: Any, passes: bool) -> None:
    """The same vector as a JSON list and as base64 (documented by OpenAI): Data Designer reads
    only the list."""
    models = _write(
        tmp_path,
        "m.yaml",
        "model_configs:\n  - {alias: e, model: m, provider: p, inference_parameters: {encoding_format: base64}}\n",
    )
    config = load_config_file(models, _write(tmp_path, "p.yaml", PROVIDERS))
    sent: list[dict[str, Any]] = []

    def provider(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"object": "list", "data": [{"index": 0, "embedding": answer}]})

    result = health_check(
        config, config.models[0], Target("http://e/v1", "http://e/v1", None), lambda: httpx.MockTransport(provider)
    )
    assert result.passed is passes, result.message
    assert sent == [{"model": "m", "input": ["Hello!"], "encoding_format": "base64"}]
    assert passes or "invalid embedding response" in result.message


def test_without_the_package_check_config_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "data_designer.config", None)  # import fails as if not installed
    models = _write(tmp_path, "m.yaml", "model_configs:\n  - {alias: a, model: m, provider: openai}\n")
    assert main(["check-config", str(models), "--provider", "openai"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'provider-compat-harness[data-designer]'" in err and err.count("\n") == 1


# --- check-config --live runs its column as every other entry point does --------------------------

SYNTHETIC = """
[providers.synthetic]
base_url = "{url}"
model = "m"
api_key_env = ""
schema = "llamacpp"
max_parallel_requests = 4
timeout = 30
send_seed = {send_seed}
"""


def _project(folder: Path, monkeypatch: pytest.MonkeyPatch, url: str, send_seed: bool = True) -> None:
    """A project whose one provider, ``synthetic``, answers at ``url``."""
    (folder / "schemas").symlink_to(ROOT / "harness/schemas")
    (folder / "providers.toml").write_text(SYNTHETIC.format(url=url, send_seed=str(send_seed).lower()))
    monkeypatch.setenv("HARNESS_ROOT", str(folder))


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("send_seed", [False, True], ids=["send_seed-false", "send_seed-true"])
def test_check_config_live_sends_a_seed_only_to_a_provider_that_takes_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, send_seed: bool
) -> None:
    """providers.toml's send_seed = false holds for check-config --live as for `harness run`:
    no request carries `seed` (its determinism probe says why it sent none). With send_seed
    left on, the same config's probes do send one: the test can see a seed when there is one."""
    models = _write(tmp_path, "m.yaml", CHAT.format(temperature=0.5, top_p=0.9, extra="{min_p: 0.1}"))
    providers = _write(tmp_path, "p.yaml", PROVIDERS)
    out = tmp_path / "out"
    with served(SyntheticProvider()) as provider:
        _project(tmp_path, monkeypatch, provider.base_url, send_seed)
        args = ["check-config", str(models), "--providers", str(providers), "--provider", "synthetic", "--live"]
        assert main([*args, "--out", str(out)]) in (0, 1)
    chat = [body for body in provider.bodies if "messages" in body]
    seeded = [body for body in chat if "seed" in body]
    assert len(chat) > 10  # the health check, the config's own requests, the min_p probes
    assert bool(seeded) is send_seed, seeded[:1]
    determinism = [r for r in _records(out) if r["check"] == "determinism"]
    assert len(determinism) == 1
    if not send_seed:
        assert determinism[0]["verdict"] == "INCONCLUSIVE" and "send_seed = false" in determinism[0]["detail"]
    assert {r["provider"] for r in _records(out)} == {"synthetic"}
    assert [json.loads(line)["provider"] for line in (out / "runs.jsonl").read_text().splitlines()] == ["synthetic"]


def test_no_seed_flag_of_check_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--no-seed, as `harness run` takes it, over a provider whose entry sends a seed."""
    models = _write(tmp_path, "m.yaml", CHAT.format(temperature=0.5, top_p=0.9, extra="{min_p: 0.1}"))
    providers = _write(tmp_path, "p.yaml", PROVIDERS)
    with served(SyntheticProvider()) as provider:
        _project(tmp_path, monkeypatch, provider.base_url, send_seed=True)
        args = ["check-config", str(models), "--providers", str(providers), "--provider", "synthetic", "--live"]
        assert main([*args, "--no-seed", "--out", str(tmp_path / "out")]) in (0, 1)
    assert provider.bodies and not [body for body in provider.bodies if "seed" in body]


def test_a_budget_holds_for_check_config_and_every_probe_of_a_config_declares_its_ceiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--budget-requests, as `harness run` takes it: the config's probes send no more than the
    budget (Data Designer's own health check, one request per alias, is Data Designer's), what
    it does not cover is NOT_RUN "budget reached", and no probe is refused for lack of a ceiling."""
    models = _write(tmp_path, "m.yaml", CHAT.format(temperature=0.5, top_p=0.9, extra="{min_p: 0.1}"))
    providers = _write(tmp_path, "p.yaml", PROVIDERS)
    args = ["check-config", str(models), "--providers", str(providers), "--provider", "synthetic", "--live"]
    with served(SyntheticProvider()) as provider:
        _project(tmp_path, monkeypatch, provider.base_url)
        assert main([*args, "--out", str(tmp_path / "all")]) in (0, 1)
        everything = len(provider.bodies)
    budget = everything // 2
    with served(SyntheticProvider()) as provider:
        (tmp_path / "providers.toml").write_text(SYNTHETIC.format(url=provider.base_url, send_seed="true"))
        assert main([*args, "--budget-requests", str(budget), "--out", str(tmp_path / "budget")]) == 1
        received = len(provider.bodies)
    assert received <= budget + 1 < everything
    records = _records(tmp_path / "budget")
    stopped = [r for r in records if r["verdict"] == "NOT_RUN" and r["detail"].startswith(BUDGET_REACHED)]
    assert stopped and all(f"of {budget} requests" in r["detail"] for r in stopped)
    assert not [r for r in records if "declares no ceiling" in r["detail"]]


def test_a_usd_budget_without_a_price_is_refused_before_anything_is_written_or_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    models = _write(tmp_path, "m.yaml", CHAT.format(temperature=0.5, top_p=0.9, extra="{min_p: 0.1}"))
    providers = _write(tmp_path, "p.yaml", PROVIDERS)
    args = ["check-config", str(models), "--providers", str(providers), "--provider", "synthetic", "--live"]
    with served(SyntheticProvider()) as provider:
        _project(tmp_path, monkeypatch, provider.base_url)
        assert main([*args, "--budget-usd", "1", "--out", str(tmp_path / "out")]) == 2
        assert provider.bodies == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no price" in err
    assert not (tmp_path / "out" / "results.jsonl").exists()


UNKNOWN_TO_DATA_DESIGNER = (
    "model_configs:\n  - {alias: a, model: m, provider: nowhere, inference_parameters: {temperature: 0.5}}\n"
)


def test_provider_flag_stands_in_for_a_provider_data_designer_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--provider NAME says where every alias goes, whether or not Data Designer's registry
    knows the config's provider: the config is checked (live too: its requests built by Data
    Designer's own facade), with a line saying Data Designer itself would refuse it as it is."""
    models = _write(tmp_path, "m.yaml", UNKNOWN_TO_DATA_DESIGNER)
    providers = _write(tmp_path, "p.yaml", PROVIDERS)  # knows only `p`
    out = tmp_path / "out"
    with served(SyntheticProvider()) as provider:
        _project(tmp_path, monkeypatch, provider.base_url)
        args = ["check-config", str(models), "--providers", str(providers), "--provider", "synthetic", "--live"]
        assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "[a] Data Designer has no provider 'nowhere'" in printed and "--provider synthetic" in printed
    records = _records(out)
    assert {r["provider"] for r in records} == {"synthetic"}
    assert {r["verdict"] for r in records if r["check"] == "config-usable"} == {"ACCEPTED"}
    assert any(body.get("model") == "m" and body.get("temperature") == 0.5 for body in provider.bodies)


def test_without_provider_flag_data_designers_refusal_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --provider: Data Designer's own resolution decides, and it finds no `nowhere`."""
    models = _write(tmp_path, "m.yaml", UNKNOWN_TO_DATA_DESIGNER)
    providers = _write(tmp_path, "p.yaml", PROVIDERS)
    _project(tmp_path, monkeypatch, "http://127.0.0.1:9/v1")
    assert main(["check-config", str(models), "--providers", str(providers), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "model config 'a': Data Designer cannot resolve it against" in err
    assert "No provider named 'nowhere' registered" in err and err.count("\n") == 1
    assert not (tmp_path / "out" / "results.jsonl").exists()
