"""Data Designer model configs: every distribution kind, every invalid config (one line naming
the alias and the field), the extra_body merge and collisions, and the static verdicts."""

from __future__ import annotations

import json
import random
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.cli import main
from harness.datadesigner.config import (
    ChatCompletionInferenceParams,
    ManualDistribution,
    UniformDistribution,
    load_config_file,
    merged_extra_body,
)
from harness.datadesigner.static import static_records
from harness.errors import ConfigError
from harness.results import Verdict
from harness.schema import Surface


def _write(tmp_path: Path, text: str, name: str = "models.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


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


def _chat(tmp_path: Path, temperature: str = "0.5", top_p: str = "0.9", extra: str = "{}") -> Path:
    return _write(tmp_path, CHAT.format(temperature=temperature, top_p=top_p, extra=extra))


def test_each_distribution_kind(tmp_path: Path) -> None:
    config = load_config_file(
        _chat(
            tmp_path,
            temperature="{distribution_type: uniform, params: {low: 0.7, high: 1.0}}",
            top_p="{distribution_type: manual, params: {values: [0.8, 0.9, 0.95], weights: [2, 5, 3]}}",
        )
    )
    params = config.models[0].inference_parameters
    assert isinstance(params, ChatCompletionInferenceParams)
    assert isinstance(params.temperature, UniformDistribution)
    assert isinstance(params.top_p, ManualDistribution)
    assert params.top_p.params.weights == [0.2, 0.5, 0.3]  # normalised
    rng = random.Random(1)
    assert all(0.7 <= params.temperature.sample(rng) <= 1.0 for _ in range(50))
    assert {params.top_p.sample(rng) for _ in range(200)} == {0.8, 0.9, 0.95}
    fixed = load_config_file(_chat(tmp_path)).models[0].inference_parameters
    assert isinstance(fixed, ChatCompletionInferenceParams) and fixed.temperature == 0.5


def test_bare_list_and_json_files(tmp_path: Path) -> None:
    data = [
        {"alias": "a", "model": "m", "inference_parameters": {"temperature": 0.3}},
        {
            "alias": "e",
            "model": "m",
            "inference_parameters": {
                "generation_type": "embedding",
                "encoding_format": "base64",
                "dimensions": 8,
            },
        },
        {
            "alias": "i",
            "model": "m",
            "inference_parameters": {"generation_type": "image", "extra_body": {"size": "512x512"}},
        },
    ]
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data))
    config = load_config_file(path)
    assert [m.inference_parameters.generation_type for m in config.models] == [
        "chat-completion",
        "embedding",
        "image",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"temperature": "{distribution_type: uniform, params: {low: 1.0, high: 0.5}}"},
            "model config 'writer': inference_parameters.temperature.params: low (1.0) must be less than high (0.5)",
        ),
        (
            {"top_p": "{distribution_type: manual, params: {values: [0.8, 0.9], weights: [1]}}"},
            "model config 'writer': inference_parameters.top_p.params: weights has 1 entries but values has 2",
        ),
        (
            {"top_p": "{distribution_type: manual, params: {values: [0.8, 0.9], weights: [1, -1]}}"},
            "model config 'writer': inference_parameters.top_p.params: weights must not be negative",
        ),
        (
            {"temperature": "2.5"},
            "model config 'writer': inference_parameters.temperature: temperature must be between 0.0 and 2.0, got 2.5",
        ),
        (
            {"temperature": "{distribution_type: uniform, params: {low: 1.0, high: 2.5}}"},
            "model config 'writer': inference_parameters.temperature: temperature must be between 0.0 and 2.0, got 2.5",
        ),
        (
            {"temperature": "{distribution_type: manual, params: {values: [0.5, 3]}}"},
            "model config 'writer': inference_parameters.temperature: temperature must be between 0.0 and 2.0, got 3.0",
        ),
    ],
)
def test_invalid_configs_are_one_line_naming_alias_and_field(
    tmp_path: Path, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_file(_chat(tmp_path, **kwargs))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_provider_extra_body_wins_and_collisions_are_flagged(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    path = _write(
        tmp_path,
        """
        model_providers:
          - {name: p, endpoint: "http://x", extra_body: {top_k: 5}}
        model_configs:
          - alias: writer
            model: m
            provider: p
            inference_parameters: {temperature: 0.2, extra_body: {top_k: 50, temperature: 1.8}}
    """,
    )
    config = load_config_file(path)
    assert merged_extra_body(config.models[0], config.providers) == {"top_k": 5, "temperature": 1.8}
    records = static_records(config, "prov", catalogue["oruel"])
    collision = [r for r in records if r.case_id.endswith(".collision")]
    assert collision and collision[0].verdict is Verdict.INCONCLUSIVE and "silently overwrites" in collision[0].detail


def _verdicts(records: list, key: str) -> set[Verdict]:  # type: ignore[type-arg]
    return {r.verdict for r in records if r.param == key and not r.case_id.endswith(".collision")}


def test_static_verdicts(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    config = load_config_file(
        _chat(
            tmp_path,
            temperature="{distribution_type: uniform, params: {low: 0.5, high: 1.5}}",
            top_p="{distribution_type: manual, params: {values: [0.0, 0.5]}}",
            extra="{top_k: 250, repetition_penalty: 2.5, tier: turbo, mirostat: 2}",
        )
    )
    oruel = static_records(config, "p", catalogue["oruel"])
    assert _verdicts(oruel, "temperature") == {Verdict.ACCEPTED}  # [0.5, 1.5] within [0, 2]
    assert _verdicts(oruel, "top_k") == {Verdict.REJECTED}  # 250 > 200
    assert _verdicts(oruel, "repetition_penalty") == {Verdict.ACCEPTED}  # 0.1-3
    assert _verdicts(oruel, "tier") == {Verdict.ACCEPTED}
    assert _verdicts(oruel, "mirostat") == {Verdict.INCONCLUSIVE}  # not documented, unknown-key handling unspecified
    openrouter = static_records(config, "p", catalogue["openrouter"])
    assert _verdicts(openrouter, "repetition_penalty") == {Verdict.REJECTED}  # 2.5 > 2
    vllm = static_records(config, "p", catalogue["vllm"])
    assert _verdicts(vllm, "top_p") == {Verdict.REJECTED}  # 0.0: vLLM's top_p is (0, 1]
    openai = static_records(config, "p", catalogue["openai"])
    assert _verdicts(openai, "top_k") == {Verdict.REJECTED}  # OpenAI rejects unknown keys
    narrow = load_config_file(
        _chat(tmp_path, temperature="{distribution_type: uniform, params: {low: 0.1, high: 0.4}}")
    )
    assert _verdicts(static_records(narrow, "p", catalogue["oruel"]), "temperature") == {Verdict.ACCEPTED}


def test_embedding_config_against_a_surface(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    path = _write(
        tmp_path,
        """
        - alias: embedder
          model: m
          inference_parameters: {generation_type: embedding, encoding_format: base64, dimensions: 0}
    """,
    )
    records = static_records(load_config_file(path), "p", catalogue["openai"])
    assert _verdicts(records, "encoding_format") == {Verdict.ACCEPTED}
    assert _verdicts(records, "dimensions") == {Verdict.REJECTED}  # OpenAI: dimensions >= 1
    none = static_records(load_config_file(path), "p", catalogue["oruel"])
    assert _verdicts(none, "(endpoint)") == {Verdict.REJECTED}


def test_check_config_exit_code_and_junit_agree(tmp_path: Path) -> None:
    """A documented-invalid value fails the run (exit 1): its junit.xml must say so too."""
    config = _chat(tmp_path, extra="{n: 3}")  # llama.cpp documents n = 1 only
    out = tmp_path / "out"
    assert main(["check-config", str(config), "--provider", "llamacpp-local", "--out", str(out)]) == 1
    suites = ET.parse(out / "junit.xml").getroot()
    assert int(suites.get("failures", "0")) >= 1
    failure = suites.find(".//testcase[@name='n [config-static]']/failure")
    assert failure is not None and failure.get("type") == "REJECTED"
