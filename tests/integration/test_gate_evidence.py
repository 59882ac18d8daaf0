"""The gate never passes what was not tested: a provider that answers nothing usable, a
replay with no cassette, a refused key, a redirect loop, and a check that crashes, each run
through the command line against the fault-injecting server or the shipped cassettes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.results import Verdict, read_results
from tests.conftest import ROOT
from tests.fault_server import FaultServer, fault_server
from tests.integration.conftest import write_providers


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with fault_server() as running:
        yield running


def _provider(project: Path, name: str, base_url: str, key_env: str = "") -> None:
    write_providers(
        project,
        f"""
        [providers.{name}]
        base_url = "{base_url}"
        model = "m"
        api_key_env = "{key_env}"
        schema = "oruel"
        max_parallel_requests = 4
        timeout = 5
        """,
    )


def _run(name: str, out: Path, *extra: str) -> int:
    argv = ["run", "--provider", name, "--mode", "live", "--out", str(out), "--params", "temperature", *extra]
    return main(argv)


def test_a_provider_that_resets_every_connection_never_passes(
    project: Path, server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _provider(project, "dead", server.url("dead"))
    assert _run("dead", project / "out", "--checks", "range,effect,default") == 1
    records = read_results(project / "out/results.jsonl")
    assert records and {r.verdict for r in records} == {Verdict.TRANSPORT_ERROR}
    out = capsys.readouterr().out
    assert "no cell decided" in out and "decided nothing" in out


def test_a_redirect_everywhere_is_no_refusal(
    project: Path, server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _provider(project, "moved", server.url("302"))
    assert _run("moved", project / "out", "--checks", "range") == 1
    verdicts = {r.verdict for r in read_results(project / "out/results.jsonl")}
    assert Verdict.REJECTED not in verdicts
    assert verdicts == {Verdict.TRANSPORT_ERROR}
    assert "redirect" in capsys.readouterr().out


def test_a_refused_key_is_a_configuration_error_naming_the_variable(
    project: Path, server: FaultServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The fault server answers 404 to a fault it does not know: here, a model that is not there.
    monkeypatch.setenv("GONE_KEY", "sk-test")
    _provider(project, "nomodel", server.url("no-such-model"), "GONE_KEY")
    assert _run("nomodel", project / "out", "--checks", "range") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HTTP 404" in err and "model" in err


def test_replay_with_no_cassette_fails_every_gate_but_none(
    project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(project_copy / "cassettes")
    assert main(["conformance", "--gate", "strict"]) == 1
    assert main(["conformance", "--gate", "baseline"]) == 1
    out = capsys.readouterr().out
    assert "NOT_RECORDED: no evidence" in out and "evidence lost" in out
    # Nothing decided: even the gate that judges no verdict does not pass it.
    assert main(["conformance", "--gate", "none"]) == 1


def test_losing_evidence_is_a_regression_not_an_improvement(
    project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = project_copy / "baselines/llamacpp-local.json"
    data = json.loads(baseline.read_text())
    failing = next(k for k, v in data["cells"].items() if v == "IGNORED")
    # A cell that used to fail has no evidence now (its cassette is gone): that is a
    # regression named as such, never printed as an improvement.
    shutil.rmtree(project_copy / "cassettes/llamacpp-local")
    assert main(["conformance", "--provider", "llamacpp-local"]) == 1
    out = capsys.readouterr().out
    assert f"regression: llamacpp-local: {failing} was IGNORED, now NOT_RECORDED: evidence lost" in out
    assert "improvement" not in out


def test_a_broken_response_schema_is_a_tool_error_not_a_verdict(
    project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schemas = project_copy / "schemas"
    schemas.unlink()
    shutil.copytree(ROOT / "schemas", schemas)
    (schemas / "responses/chat-completion.schema.json").write_text('{"type": "objekt"}')
    from harness.schema.catalogue import response_schema

    response_schema.cache_clear()
    try:
        assert main(["conformance", "--provider", "llamacpp-local"]) == 2
    finally:
        response_schema.cache_clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "chat-completion.schema.json" in err


def test_check_config_live_against_a_dead_provider_fails(
    project: Path, server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _provider(project, "dead", server.url("dead"))
    config = ROOT / "examples/data-designer/works-locally.yaml"
    providers = ROOT / "examples/data-designer/model_providers.yaml"
    args = ["check-config", str(config), "--providers", str(providers), "--provider", "dead", "--live"]
    assert main([*args, "--out", str(project / "out")]) == 1
    assert "decided nothing" in capsys.readouterr().out


def test_a_404_for_one_value_is_a_verdict_not_a_configuration_error(project: Path, server: FaultServer) -> None:
    # The fault server's "not-found-for-tools" answers 404 to requests with `tools` (as OpenRouter
    # does when no upstream supports them) and a completion to the rest.
    _provider(project, "picky", server.url("not-found-for-tools"))
    out = project / "out"
    code = main(
        ["run", "--provider", "picky", "--mode", "live", "--out", str(out), "--params", "tools", "--checks", "range"]
    )
    assert code in (0, 1)
    records = read_results(out / "results.jsonl")
    tools = [r for r in records if r.param == "tools" and r.label == "typical"]
    assert tools and {r.verdict for r in tools} == {Verdict.INCONCLUSIVE}
