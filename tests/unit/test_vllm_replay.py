"""The shipped vLLM cassettes replay offline to vLLM's known answers (recorded from the real
server; tests/integration/test_vllm.py asserts the same on a live one)."""

from __future__ import annotations

from pathlib import Path

from harness.results import read_results
from harness.runs import RunOptions, run_provider
from tests.vllm_known_answers import CHECKS, PARAMS, assert_vllm_known_answers


def test_vllm_cassettes_replay_to_the_known_answers(tmp_path: Path) -> None:
    options = RunOptions("vllm-local", mode="replay", out=tmp_path, params=PARAMS, checks=CHECKS, progress=False)
    run_provider(options)
    assert_vllm_known_answers(read_results(tmp_path / "results.jsonl"))
