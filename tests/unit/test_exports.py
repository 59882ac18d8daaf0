"""`harness export supported-parameters` and `harness export litellm`: from a run of a
synthetic provider that behaves and one that does not, from a replay of a shipped cassette,
and from bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.reporting.exports import ParameterEvidence, measured_columns
from harness.results import FAILING, Record, Verdict, read_results
from tests.conftest import ROOT
from tests.synthetic import Behaviour, SyntheticProvider, served

PAIR = """[providers.good]
base_url = "{good}"
model = "m"
api_key_env = "SYNTH_EXPORT_KEY"
schema = "openai"
max_parallel_requests = 1

[providers.bad]
base_url = "{bad}"
model = "m"
schema = "openai"
max_parallel_requests = 1
"""
PARAMS = "temperature,top_p,presence_penalty,frequency_penalty,user,verbosity"
SECRET = "sk-export-test-0123456789"
# Ignores presence_penalty (accepted, then dropped), refuses temperatures above 1, which OpenAI
# documents as valid up to 2, and answers 500 to any frequency_penalty.
MISBEHAVING = Behaviour(
    ignore={"presence_penalty"}, ranges={"temperature": (0.0, 1.0)}, server_error_for={"frequency_penalty"}
)


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`good` and `bad`, both synthetic and held to OpenAI's surface, run live into one folder."""
    folder = tmp_path_factory.mktemp("export")
    (folder / "schemas").symlink_to(ROOT / "schemas")
    out = folder / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_ROOT", str(folder))
        patch.setenv("SYNTH_EXPORT_KEY", SECRET)
        with served(SyntheticProvider()) as good, served(SyntheticProvider(MISBEHAVING)) as bad:
            (folder / "providers.toml").write_text(PAIR.format(good=good.base_url, bad=bad.base_url))
            for name in ("good", "bad"):
                args = ["run", "--provider", name, "--mode", "live", "--params", PARAMS, "--out", str(out)]
                assert main([*args, "--gate", "none"]) == 0
        yield out


def _export(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["export", *args]) == 0
    return capsys.readouterr().out


def _supported(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    return {c["id"]: c for c in json.loads(_export(capsys, "supported-parameters", *args))["data"]}


def test_a_behaving_provider_supports_what_it_honours(synthetic_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _supported(capsys, str(synthetic_run))["good"]
    assert good["supported_parameters"] == sorted(PARAMS.split(","))
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        assert good["evidence"][name]["why"].startswith("HONOURED by"), good["evidence"][name]
    # `user` has no effect to observe: its accepted values are its evidence.
    assert good["evidence"]["user"]["why"] == "ACCEPTED by range (no effect observable)"
    assert good["surface"] == "openai" and good["model"] == "m"


def test_an_ignored_or_refused_parameter_is_left_out(synthetic_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _supported(capsys, str(synthetic_run))["bad"]
    assert bad["supported_parameters"] == ["top_p", "user", "verbosity"]
    presence = bad["evidence"]["presence_penalty"]
    assert presence["supported"] is False and presence["drop"] is True
    assert presence["why"].startswith("IGNORED by effect"), presence
    # Some valid temperatures work: left out of the list, not to be dropped.
    temperature = bad["evidence"]["temperature"]
    assert temperature["supported"] is False and "drop" not in temperature
    assert temperature["why"].startswith("OVER_STRICT by range")
    # No frequency_penalty worked: to be dropped.
    frequency = bad["evidence"]["frequency_penalty"]
    assert frequency["supported"] is False and frequency["drop"] is True
    assert frequency["why"].startswith("SERVER_ERROR by "), frequency


def test_the_export_names_its_run(synthetic_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = json.loads(_export(capsys, "supported-parameters", str(synthetic_run)))["run"]
    assert run["folder"] == str(synthetic_run.resolve())
    assert run["harness"] == "0.1.0" and run["date"].endswith("UTC")
    assert run["columns"]["bad"] == {"surface": "openai", "date": run["date"], "mode": "live"}


def test_column_selects_and_out_writes_a_file(
    synthetic_run: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "sub" / "supported.json"
    printed = _export(capsys, "supported-parameters", str(synthetic_run), "--column", "bad", "--out", str(target))
    assert printed == f"wrote {target}\n"
    assert [c["id"] for c in json.loads(target.read_text())["data"]] == ["bad"]


def test_litellm_entries_allow_and_drop_by_the_evidence(
    synthetic_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _export(capsys, "litellm", str(synthetic_run))
    assert SECRET not in text
    entries = {e["model_name"]: e["litellm_params"] for e in yaml.safe_load(text)["model_list"]}
    good, bad = entries["good"], entries["bad"]
    assert good["model"] == bad["model"] == "openai/m"
    assert good["api_base"].startswith("http://127.0.0.1:") and good["api_base"].endswith("/v1")
    # The key is named, never written; `bad` needs none.
    assert good["api_key"] == "os.environ/SYNTH_EXPORT_KEY" and "api_key" not in bad
    # LiteLLM's openai prefix leaves out `user` and refuses `verbosity` unless allowed; both
    # columns support both.
    assert good["allowed_openai_params"] == bad["allowed_openai_params"] == ["user", "verbosity"]
    assert "additional_drop_params" not in good
    assert bad["additional_drop_params"] == ["frequency_penalty", "presence_penalty"]
    assert "# bad: drop presence_penalty (IGNORED by effect" in text
    assert f"from {synthetic_run.resolve()}" in text.splitlines()[0]


def test_allowed_follows_the_litellm_prefix(synthetic_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _export(capsys, "litellm", str(synthetic_run), "--litellm-provider", "fireworks_ai")
    entries = {e["model_name"]: e["litellm_params"] for e in yaml.safe_load(text)["model_list"]}
    # Fireworks' prefix in LiteLLM supports `user`: only `verbosity` needs allowing.
    assert entries["good"]["model"] == "fireworks_ai/m" and entries["good"]["allowed_openai_params"] == ["verbosity"]


# --- a replayed shipped cassette -----------------------------------------------------------------


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("replayed") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_ROOT", str(ROOT))
        assert main(["run", "--provider", "llamacpp-local", "--out", str(out), "--gate", "none"]) == 0
    return out


def _documented_use(records: list[Record], column: str, param: str) -> list[Record]:
    return [r for r in records if r.provider == column and r.param == param and r.expect != "reject"]


def test_a_replayed_cassette_exports_what_its_records_show(replayed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = read_results(replayed / "results.jsonl")
    column = _supported(capsys, str(replayed))["llamacpp-local"]
    listed = set(column["supported_parameters"])
    assert len(listed) > 30
    for name, evidence in column["evidence"].items():
        mine = _documented_use(records, "llamacpp-local", name)
        failing = [r for r in mine if r.verdict in FAILING]
        if name in listed:
            assert not failing, (name, evidence)
            verdicts = {r.verdict for r in mine}
            assert Verdict.HONOURED in verdicts or verdicts <= {Verdict.ACCEPTED, Verdict.REJECTED}, name
        else:
            assert failing or not {r.verdict for r in mine} & {Verdict.HONOURED}, (name, evidence)
    # What the shipped baseline says of llama.cpp: its documented repeat_penalty default is
    # not applied (left out, not dropped: sending it works), tool_choice is not obeyed.
    assert column["evidence"]["repeat_penalty"] == {"supported": False, "why": "IGNORED by default"}
    assert column["evidence"]["tool_choice"]["drop"] is True
    assert {"temperature", "top_k", "tools", "logprobs"} <= listed
    assert "messages" not in column["evidence"]  # the request itself, not a parameter
    text = _export(capsys, "litellm", str(replayed))
    drops = yaml.safe_load(text)["model_list"][0]["litellm_params"]
    # The server was the harness's own, on a port of its own: no address to export, and it says so.
    assert "api_base" not in drops and "llamacpp-local: no api_base" in text
    assert drops["additional_drop_params"] == sorted(n for n, e in column["evidence"].items() if e.get("drop"))


# --- the evidence rule on records made by hand ---------------------------------------------------


def _record(check: str, verdict: Verdict, expect: str = "") -> Record:
    return Record("col", "openai", f"{check}.x", "top_p", check, verdict, "detail", expect=expect)


def test_a_failure_on_an_invalid_value_does_not_decide() -> None:
    records = [_record("range", Verdict.LENIENT, "reject"), _record("effect", Verdict.HONOURED)]
    evidence = ParameterEvidence.of("top_p", records)
    assert evidence.supported and evidence.notes == "LENIENT by range on values documented as invalid"


def test_an_undecided_effect_is_not_support() -> None:
    records = [_record("range", Verdict.ACCEPTED, "accept"), _record("effect", Verdict.INCONCLUSIVE)]
    evidence = ParameterEvidence.of("top_p", records)
    assert not evidence.supported and evidence.why == "undecided: INCONCLUSIVE by effect" and not evidence.drop


def test_a_parameter_honoured_somewhere_is_never_dropped_but_a_default_alone_is_no_use() -> None:
    # n: its effect observed, but ignored when streamed (litellm-local): left out, not dropped.
    streamed = [_record("effect", Verdict.HONOURED), _record("stream-twins", Verdict.IGNORED)]
    evidence = ParameterEvidence.of("n", streamed)
    assert not evidence.supported and not evidence.drop
    # Its documented default applied, its effect not: sending it is of no use, so dropped.
    lost = [_record("default", Verdict.HONOURED), _record("effect", Verdict.IGNORED)]
    assert ParameterEvidence.of("frequency_penalty", lost).drop


def test_acceptance_alone_is_support_only_where_the_harness_has_no_effect_probe() -> None:
    accepted = [_record("range", Verdict.ACCEPTED, "accept")]
    assert ParameterEvidence.of("audio", accepted, probed=False).supported
    missing = ParameterEvidence.of("temperature", accepted, probed=True)
    assert not missing.supported and "its effect probes were not in the run" in missing.why
    # Run, an effect probe that judges acceptance alone leaves it supported.
    ran = [*accepted, _record("passthrough", Verdict.ACCEPTED)]
    assert ParameterEvidence.of("temperature", ran, probed=True).supported


def test_a_run_of_the_range_check_alone_claims_no_effect_it_did_not_probe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_ROOT", str(ROOT))
    out = tmp_path / "range"
    assert main(["run", "--provider", "vllm-local", "--checks", "range", "--out", str(out), "--gate", "none"]) == 0
    capsys.readouterr()
    column = _supported(capsys, str(out))["vllm-local"]
    for name in ("temperature", "top_p", "seed", "n", "stop"):
        assert name not in column["supported_parameters"], name
        assert column["evidence"][name]["why"].startswith("undecided: ACCEPTED by range"), column["evidence"][name]


def test_a_route_finding_is_not_a_verdict_on_the_provider_parameter() -> None:
    route = Record("col", "openrouter", "route", "provider", "route", Verdict.IGNORED, "Novita served 3 of 9")
    accepted = Record("col", "openrouter", "range.x", "provider", "range", Verdict.ACCEPTED, "ok", expect="accept")
    (column,) = measured_columns([route, accepted], {"openrouter": {"provider"}})
    assert column.params["provider"].supported and not column.params["provider"].drop


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["supported-parameters", "litellm"])
def test_bad_input_is_one_line_and_exit_2(
    kind: str, synthetic_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))  # reports/latest does not exist there
    for args in ([], [str(tmp_path / "missing")], [str(synthetic_run), "--column", "nobody"]):
        assert main(["export", kind, *args]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1, captured.err
        assert captured.err.startswith("harness: error: ")
    assert "columns measured there: bad, good" in captured.err


def test_without_a_folder_the_latest_run_is_exported(
    synthetic_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "latest").symlink_to(synthetic_run)
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    assert set(_supported(capsys)) == {"good", "bad"}
