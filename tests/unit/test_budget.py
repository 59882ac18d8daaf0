"""Budgets and the plan against the synthetic provider served over HTTP: a budget smaller
than the run starts no unit it cannot cover (never more requests sent than the budget), the
units not started are NOT_RUN "budget reached" with the figures, and the gate treats them as
missing evidence; a budget larger than the run changes nothing. ``harness plan`` sends nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.checks.cost import Ceiling, Ledger, completion_bound, fresh, samples, sends, shared
from harness.cli import main
from harness.errors import ConfigError
from harness.reporting.gate import apply_gate
from harness.reporting.runlog import measured_profiles
from harness.reporting.summary import summarise
from harness.results import BUDGET_REACHED, Record, Verdict, budget_stopped, read_results
from tests.conftest import ROOT
from tests.synthetic import Behaviour, SyntheticProvider, served

ENTRY = """[providers.syn]
base_url = "{url}"
model = "m"
schema = "openai"
api_key_env = "{key}"
max_parallel_requests = 1
{more}
"""
PARAMS = "temperature,logprobs,n"


def _project(folder: Path, monkeypatch: pytest.MonkeyPatch, url: str, key: str = "", more: str = "") -> None:
    if not (folder / "schemas").exists():
        (folder / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(folder))
    (folder / "providers.toml").write_text(ENTRY.format(url=url, key=key, more=more))


def _run(
    folder: Path, monkeypatch: pytest.MonkeyPatch, out: str, *flags: str, behaviour: Behaviour | None = None
) -> tuple[int, list[Record], int]:
    """``syn`` run live; the exit code, the records and the requests the provider received."""
    with served(SyntheticProvider(behaviour or Behaviour())) as provider:
        _project(folder, monkeypatch, provider.base_url)
        args = ["run", "--provider", "syn", "--mode", "live", "--params", PARAMS, "--out", str(folder / out)]
        code = main([*args, *flags])
        received = len(provider.bodies)
    return code, read_results(folder / out / "results.jsonl"), received


def _verdicts(records: list[Record]) -> dict[str, str]:
    return {r.case_id: r.verdict.value for r in records}


@pytest.mark.parametrize(
    "behaviour",
    [Behaviour(), Behaviour(unseeded=True)],
    ids=["seeded", "seed-free"],  # the seed-free proof's arms of samples are shared and grown
)
def test_a_budget_smaller_than_the_run_stops_starting_units_and_the_gate_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, behaviour: Behaviour
) -> None:
    code, full, received = _run(tmp_path, monkeypatch, "full", "--gate", "none", behaviour=behaviour)
    assert code == 0 and received > 20
    budget = received // 2
    flags = ("--gate", "strict", "--budget-requests", str(budget))
    code, records, sent = _run(tmp_path, monkeypatch, "budget", *flags, behaviour=behaviour)
    assert sent <= budget  # never more than the budget, whatever the units started did
    stopped = [r for r in records if budget_stopped(r)]
    assert stopped, "a budget of half the run must leave units not started"
    assert all(r.detail.startswith(f"{BUDGET_REACHED}: ") and f"of {budget} requests" in r.detail for r in stopped)
    assert all("this unit could send" in r.detail for r in stopped)
    # Every unit is accounted for: run, or not started with its figure.
    assert {r.case_id for r in records} >= {r.case_id for r in full if r.check != "response-schema"} - {
        r.case_id for r in full if r.check.startswith("response")
    }
    # What sends nothing still judges what was sent: the response schemas are never refused.
    judged = [r for r in records if r.check in ("response-schema", "response-letter")]
    assert judged and not [r for r in judged if budget_stopped(r)]
    assert code == 1  # strict: missing evidence fails


def test_a_budget_larger_than_the_run_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, full, received = _run(tmp_path, monkeypatch, "full", "--gate", "none")
    _, records, sent = _run(tmp_path, monkeypatch, "budget", "--gate", "none", "--budget-requests", "100000")
    assert sent == received
    assert _verdicts(records) == _verdicts(full)


def test_a_budget_in_providers_toml_holds_as_the_flag_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with served(SyntheticProvider(Behaviour())) as provider:
        _project(tmp_path, monkeypatch, provider.base_url, more="budget_requests = 5")
        args = ["run", "--provider", "syn", "--mode", "live", "--params", PARAMS, "--out", str(tmp_path / "out")]
        assert main([*args, "--gate", "none"]) == 0
        assert len(provider.bodies) <= 5
    assert any(budget_stopped(r) for r in read_results(tmp_path / "out" / "results.jsonl"))


def test_a_usd_budget_needs_a_price(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(tmp_path, monkeypatch, "http://127.0.0.1:9/v1")
    args = ["run", "--provider", "syn", "--mode", "live", "--budget-usd", "1", "--out", str(tmp_path / "out")]
    assert main(args) == 2
    assert "no price" in capsys.readouterr().err


def _record(param: str, verdict: Verdict, detail: str = "", provider: str = "syn") -> Record:
    return Record(
        provider=provider,
        surface="openai",
        case_id=f"effect.{param}.effect",
        param=param,
        check="effect",
        verdict=verdict,
        detail=detail,
    )


def test_the_gate_treats_budget_reached_as_missing_evidence_and_no_key_as_neutral(tmp_path: Path) -> None:
    baselines = tmp_path / "baselines"
    baselines.mkdir()
    (baselines / "syn.json").write_text(
        json.dumps({"provider": "syn", "cells": {"n [effect]": "HONOURED", "logprobs [effect]": "HONOURED"}})
    )
    stopped = _record(
        "n", Verdict.NOT_RUN, f"{BUDGET_REACHED}: 10 of 10 requests spent or reserved; this unit could send 2"
    )
    records = [_record("logprobs", Verdict.HONOURED), stopped]
    baseline = apply_gate("baseline", summarise(records), baselines)
    assert any("n [effect]" in f and "evidence lost" in f for f in baseline.failures), baseline.failures
    strict = apply_gate("strict", summarise(records), baselines)
    assert any("n [effect]" in f and BUDGET_REACHED in f for f in strict.failures), strict.failures
    # A cell the baseline never had, not started: no regression under baseline.
    fresh_cell = [_record("logprobs", Verdict.HONOURED), _record("top_p", Verdict.NOT_RUN, f"{BUDGET_REACHED}: ...")]
    assert apply_gate("baseline", summarise(fresh_cell), baselines).exit_code == 0
    # A column not run for want of a key stays neutral beside a decided one.
    keyless = [
        _record("logprobs", Verdict.HONOURED),
        _record("*", Verdict.NOT_RUN, "not run: set KEY", provider="other"),
    ]
    assert apply_gate("strict", summarise(keyless), baselines).exit_code == 0
    # A whole column stopped by its budget is not a column without a key: it fails.
    only = [stopped]
    assert apply_gate("baseline", summarise(only), baselines).exit_code == 1


def _refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("the plan sent a request")


def test_plan_sends_nothing_and_names_missing_keys_never_their_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", _refuse)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", _refuse)
    with served(SyntheticProvider(Behaviour())) as provider:
        _project(
            tmp_path,
            monkeypatch,
            provider.base_url,
            key="SYN_PLAN_KEY",
            more="price = { input = 2.0, output = 8.0 }\ncontext_tokens = 4096",
        )
        monkeypatch.delenv("SYN_PLAN_KEY", raising=False)
        assert main(["plan", "--provider", "syn", "--json"]) == 0
        missing = json.loads(capsys.readouterr().out)["columns"][0]
        monkeypatch.setenv("SYN_PLAN_KEY", "sk-secret-value-123")
        assert main(["plan", "--provider", "syn", "--json"]) == 0
        text = capsys.readouterr().out
        assert main(["plan", "--provider", "syn"]) == 0
        table = capsys.readouterr().out
        assert provider.bodies == []
    assert missing["missing_key"] == "SYN_PLAN_KEY"
    column = json.loads(text)["columns"][0]
    assert column["missing_key"] is None and "sk-secret-value-123" not in text + table
    # The money is the plan's tokens at the price: prompt at input, completion at output.
    expected = (column["prompt_tokens_estimate"] * 2.0 + column["completion_tokens"] * 8.0) / 1_000_000
    assert column["usd"] == pytest.approx(expected, rel=1e-5)
    assert column["requests"] > 100 and column["retry_allowance_requests"] == 2 * column["requests"]
    assert "syn" in table and "$" in table


def test_without_a_context_an_unbounded_request_makes_the_plan_unbounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(tmp_path, monkeypatch, "http://127.0.0.1:9/v1", more="price = { input = 1.0, output = 1.0 }")
    assert main(["plan", "--provider", "syn", "--json"]) == 0
    column = json.loads(capsys.readouterr().out)["columns"][0]
    assert column["completion_tokens"] is None and column["usd"] == "unbounded"
    # The matrix alone, with a limit on every request, is bounded.
    assert main(["plan", "--provider", "syn", "--json", "--checks", "determinism"]) == 0
    assert (
        json.loads(capsys.readouterr().out)["columns"][0]["completion_tokens"] == 9 * 16 + 24
    )  # determinism: 5 repeats, 2 other seeds, 2 unseeded, 1 longer


def test_completion_bounds() -> None:
    assert completion_bound({"max_tokens": 16}, None) == 16
    assert completion_bound({"max_tokens": 16, "n": 3}, None) == 48
    assert completion_bound({"max_completion_tokens": 5, "max_tokens": 9}, None) == 9  # either may be honoured
    assert completion_bound({"max_completion_tokens": 5, "max_tokens": -1}, None) is None
    assert completion_bound({"max_tokens": 10_000}, 2048) == 2048
    assert completion_bound({"max_tokens": -1}, None) is None  # a lenient server may ignore it
    assert completion_bound({}, 512) == 512


def test_the_ledger_counts_a_shared_request_once_and_a_fresh_one_each_time() -> None:
    body = {"model": "m", "max_tokens": 4}
    ledger = Ledger()
    assert ledger.reserve(sends(None, body)).requests == 1
    assert ledger.reserve(sends(None, body)).requests == 0  # the sender's de-duplication
    assert ledger.reserve(fresh(None, body, 2)).requests == 2
    assert ledger.reserve(fresh(None, body, 2)).requests == 2
    assert ledger.reserve(samples(None, body, 64)).requests == 64
    assert ledger.reserve(samples(None, body, 64)).requests == 0  # an arm grows to its cap once
    baseline = shared("baseline", fresh(None, body, 1))
    assert ledger.reserve(baseline).requests == 1 and ledger.reserve(baseline).requests == 0
    assert Ceiling().requests == 0


def test_a_usd_budget_stops_units_by_their_money(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At a price, the budget is money: the units started cost at most the budget at the plan's
    figures; those not started say what they could cost."""
    with served(SyntheticProvider(Behaviour())) as provider:
        _project(
            tmp_path,
            monkeypatch,
            provider.base_url,
            more="price = { input = 1000.0, output = 1000.0 }\ncontext_tokens = 256",
        )
        args = ["run", "--provider", "syn", "--mode", "live", "--params", PARAMS, "--out", str(tmp_path / "out")]
        assert main([*args, "--gate", "none", "--budget-usd", "2"]) == 0
        sent = len(provider.bodies)
    stopped = [r for r in read_results(tmp_path / "out" / "results.jsonl") if budget_stopped(r)]
    assert stopped and all("of $2 spent or reserved" in r.detail for r in stopped), stopped[:1]
    assert 0 < sent < 20  # a request costs up to $0.6 here (its prompt and 256 completion tokens at $1000/M)


def test_plan_flag_prints_the_plan_then_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["run", "--provider", "llamacpp-local", "--params", "top_k", "--checks", "range", "--gate", "none"]
    assert main([*argv, "--plan", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert printed.index("plan: the most each column") < printed.index("results")
    assert (tmp_path / "out" / "results.jsonl").exists()


@pytest.mark.parametrize(
    ("behaviour", "mode"),
    [(Behaviour(), "seeded"), (Behaviour(unseeded=True), "seed-free")],
    ids=["seeded", "seed-free"],
)
def test_plan_from_a_run_plans_under_the_profile_that_run_measured(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    behaviour: Behaviour,
    mode: str,
) -> None:
    code, _, received = _run(tmp_path, monkeypatch, "out", "--gate", "none", behaviour=behaviour)
    assert code == 0
    capsys.readouterr()  # the run's own output
    plan = ["plan", "--provider", "syn", "--params", PARAMS, "--json"]
    assert main(plan) == 0
    every = json.loads(capsys.readouterr().out)["columns"][0]
    assert main([*plan, "--from", str(tmp_path / "out")]) == 0
    measured = json.loads(capsys.readouterr().out)["columns"][0]
    # The measured profile's own ceiling, never below what that run sent.
    assert [p["profile"].split(" ")[0] for p in measured["profiles"]] == [mode]
    assert measured["requests"] == next(
        p["requests"] for p in every["profiles"] if p["profile"] == measured["profiles"][0]["profile"]
    )
    assert received <= measured["requests"] <= every["requests"]
    assert measured["requests_whatever_the_profile"] == every["requests"]
    assert measured["completion_tokens_whatever_the_profile"] == every["completion_tokens"]
    assert measured["planned_under"].startswith(f"{mode}") and "as measured by its run in" in measured["planned_under"]
    if mode == "seeded":
        assert measured["requests"] < every["requests"]
    assert main([*plan[:-1], "--from", str(tmp_path / "out")]) == 0
    assert f"whatever this run measures, at most {every['requests']:,} requests" in capsys.readouterr().out


def test_plan_from_a_folder_without_a_run_or_with_another_profile_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(tmp_path, monkeypatch, "out", "--gate", "none")
    capsys.readouterr()
    plan = ["plan", "--provider", "syn", "--params", PARAMS, "--json"]
    assert main([*plan, "--from", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "runs.jsonl" in err
    # The entry now forces the seed-free proof: the seeded profile measured before no longer applies.
    _project(tmp_path, monkeypatch, "http://127.0.0.1:9/v1", more='probe_mode = "seed-free"')
    assert main(plan) == 0
    every = json.loads(capsys.readouterr().out)["columns"][0]
    assert main([*plan, "--from", str(tmp_path / "out")]) == 0
    column = json.loads(capsys.readouterr().out)["columns"][0]
    assert column["planned_under"] == "every profile a run may measure" and column["requests"] == every["requests"]


def test_the_profiles_a_run_log_recorded_are_read_whatever_else_it_holds(tmp_path: Path) -> None:
    seeded = {"mode": "seeded", "seed_reproduces": True, "greedy_reproduces": True}
    lines = [
        "not json",
        "[1, 2]",
        json.dumps({"profile": seeded}),  # no column
        json.dumps({"provider": "a", "profile": {"mode": "sometimes"}}),
        json.dumps({"provider": "a", "profile": seeded, "date": "2026-12-01 00:00 UTC"}),
        json.dumps({"provider": "a", "requests": 3}),  # a later run that measured nothing
        json.dumps({"provider": "b", "profile": {"mode": "seed-free", "greedy_reproduces": False}}),
        # Seeded without the seed seen to reproduce (its requests failed, or probe_mode forced it).
        json.dumps({"provider": "c", "profile": {**seeded, "seed_reproduces": None}}),
        json.dumps({"provider": "d", "profile": {**seeded, "seed_reproduces": False}}),
    ]
    (tmp_path / "runs.jsonl").write_text("\n".join(lines) + "\n")
    found = measured_profiles(tmp_path)
    assert sorted(found) == ["a", "b"]
    assert found["a"][0].mode == "seeded" and found["a"][1] == "2026-12-01 00:00 UTC"
    assert found["b"][0].mode == "seed-free" and not found["b"][0].greedy_reproduces and found["b"][1] == ""
    (tmp_path / "runs.jsonl").write_bytes(b'{"provider": "\xff"}\n')
    with pytest.raises(ConfigError, match="not UTF-8 run log"):
        measured_profiles(tmp_path)
