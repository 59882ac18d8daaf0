"""Reports and the gate, from records: JUnit validates, the gate catches a regression and
lets an improvement pass, Markdown and summary.json carry every cell."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from harness.cli import main
from harness.reporting.gate import apply_gate, write_baselines
from harness.reporting.junit import write_junit
from harness.reporting.markdown import render_markdown
from harness.reporting.summary import summarise
from harness.results import Record, Verdict
from tests.conftest import ROOT


def _record(provider: str, param: str, check: str, verdict: Verdict, detail: str = "d") -> Record:
    return Record(
        provider,
        "openai",
        f"{param}.x",
        param,
        check,
        verdict,
        detail,
        evidence={"reproducer": {"curl": "curl -sS http://x"}, "exchanges": [{"response_excerpt": "{}"}]},
    )


RECORDS = [
    _record("a", "temperature", "range", Verdict.ACCEPTED),
    _record("a", "temperature", "range", Verdict.LENIENT, "accepted 2.0000000000000004"),
    _record("a", "top_k", "passthrough", Verdict.HONOURED),
    _record("a", "seed", "determinism", Verdict.IGNORED, "pass^5 = 0"),
    _record("b", "*", "setup", Verdict.NOT_RUN, "not run: set B_API_KEY"),
]


def test_a_cell_shows_its_worst_verdict() -> None:
    cells = {(c.provider, c.param, c.check): c for c in summarise(RECORDS)}
    assert cells[("a", "temperature", "range")].verdict is Verdict.LENIENT
    assert cells[("a", "temperature", "range")].counts == {"ACCEPTED": 1, "LENIENT": 1}


def test_junit_validates_against_the_junit_schema(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(summarise(RECORDS), path, 1.5)
    schema = xmlschema.XMLSchema(str(ROOT / "tests/data/junit.xsd"))
    schema.validate(str(path))
    text = path.read_text()
    assert 'failures="2"' in text and 'skipped="1"' in text
    assert "accepted 2.0000000000000004" in text and "curl -sS http://x" in text


def test_junit_failure_message_is_the_record_behind_the_verdict(tmp_path: Path) -> None:
    """The first record of a cell may be a conforming one: the message must name the failing one."""
    path = tmp_path / "junit.xml"
    write_junit(summarise(RECORDS[:2]), path)
    failure = ET.parse(path).find(".//failure")
    assert failure is not None
    message = failure.get("message", "")
    assert message.startswith("LENIENT:") and "accepted 2.0000000000000004" in message


def test_markdown_lists_the_non_conformances() -> None:
    text = render_markdown(RECORDS, summarise(RECORDS), {"mode": "replay", "date": "today"})
    assert "## Non-conformances (2 provider x parameter x check)" in text
    assert "| a | seed | determinism | **IGNORED** | pass^5 = 0 |" in text


HOSTILE = "x\x00\x1b[31m\ufffe <script>alert(1)</script> | **bold** [link](http://e) `code`\nnext"


def test_junit_is_valid_xml_whatever_the_provider_says(tmp_path: Path) -> None:
    records = [_record("a", "temperature", "range", Verdict.LENIENT, HOSTILE)]
    records[0].evidence["exchanges"] = [{"response_excerpt": HOSTILE}]
    path = tmp_path / "junit.xml"
    write_junit(summarise(records), path)
    xmlschema.XMLSchema(str(ROOT / "tests/data/junit.xsd")).validate(str(path))
    message = ET.parse(path).find(".//failure").get("message", "")  # type: ignore[union-attr]
    assert "\\x00" in message and "\\x1b[31m" in message and "\\ufffe" in message  # shown, not dropped
    assert "<script>" in message  # XML escapes it itself


def test_markdown_shows_provider_text_inert() -> None:
    records = [_record("a", "temperature", "range", Verdict.LENIENT, HOSTILE)]
    text = render_markdown(records, summarise(records), {"mode": "replay", "date": "today"})
    row = next(line for line in text.splitlines() if "**LENIENT**" in line)
    assert row.count(" | ") == 4  # the provider's pipe does not add a column
    assert "<script>" not in text and "\\<script\\>" in row
    assert "\x00" not in text and "\x1b" not in text and "\\x00" in row
    assert "**bold**" not in row and "](http" not in row.replace("\\]", "")


def test_strict_gate_fails_on_any_non_conformance(tmp_path: Path) -> None:
    result = apply_gate("strict", summarise(RECORDS), tmp_path)
    assert result.exit_code == 1 and any("seed [determinism] is IGNORED" in f for f in result.failures)


def test_baseline_gate_fails_on_a_regression_and_passes_an_improvement(tmp_path: Path) -> None:
    write_baselines(summarise(RECORDS), tmp_path)
    assert apply_gate("baseline", summarise(RECORDS), tmp_path).exit_code == 0
    regressed = [*RECORDS, _record("a", "top_k", "passthrough", Verdict.IGNORED, "dropped")]
    result = apply_gate("baseline", summarise(regressed), tmp_path)
    assert result.exit_code == 1
    assert result.failures == ["regression: a: top_k [passthrough] was HONOURED, now IGNORED"]
    improved = [r for r in RECORDS if r.check != "determinism"] + [
        _record("a", "seed", "determinism", Verdict.HONOURED)
    ]
    result = apply_gate("baseline", summarise(improved), tmp_path)
    assert result.exit_code == 0
    assert result.improvements == ["improvement: a: seed [determinism] was IGNORED, now HONOURED"]


def test_conformance_on_the_embedded_default(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance"]) == 0  # the committed baselines: no regression
    out = capsys.readouterr().out
    assert "gate baseline: pass" in out and "report: " in out
    latest = project_copy / "reports/latest"
    for name in ("results.jsonl", "summary.json", "junit.xml", "summary.md", "report.html", "runs.jsonl"):
        assert (latest / name).exists(), name
    summary = json.loads((latest / "summary.json").read_text())
    assert {"provider", "param", "check", "verdict", "counts"} <= set(summary[0])
    providers = {row["provider"] for row in summary}
    assert {"llamacpp-local", "llama-cpp-python-local", "openrouter", "oruel"} <= providers
    not_run = [row for row in summary if row["provider"] == "openrouter"]
    assert not_run[0]["verdict"] == "NOT_RUN" and "set OPENROUTER_API_KEY" in not_run[0]["detail"]
    assert main(["conformance", "--gate", "strict"]) == 1


def _cells(folder: Path) -> dict[tuple[str, str, str], str]:
    summary = json.loads((folder / "summary.json").read_text())
    return {(row["provider"], row["param"], row["check"]): row["verdict"] for row in summary}


def test_a_provider_held_to_other_surfaces_has_a_column_each(project_copy: Path) -> None:
    """providers.toml's also_held_to: llama.cpp held to the OpenRouter surface, where the
    integrator's repetition_penalty is accepted and does nothing."""
    assert main(["conformance", "--provider", "llamacpp-local", "--out", str(project_copy / "out")]) == 0
    cells = _cells(project_copy / "out")
    columns = {provider for provider, _, _ in cells}
    assert {"llamacpp-local", "llamacpp-local@openrouter", "llamacpp-local@openai"} <= columns
    assert cells["llamacpp-local@openrouter", "repetition_penalty", "passthrough"] == "IGNORED"
    assert ("llamacpp-local", "repetition_penalty", "passthrough") not in cells  # not on its own surface
    # Each column with its own surface, in every report.
    html = (project_copy / "out/report.html").read_text()
    assert (
        "llamacpp-local@openrouter" in html
        and "llamacpp-local@openrouter" in (project_copy / "out/summary.md").read_text()
    )
    runs = [json.loads(line) for line in (project_copy / "out/runs.jsonl").read_text().splitlines()]
    assert {(r["provider"], r["surface"]) for r in runs} >= {("llamacpp-local@openrouter", "openrouter")}


def test_hold_on_the_command_line(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = project_copy / "providers.toml"
    toml.write_text(toml.read_text().replace('also_held_to = ["openai", "openrouter"]\n', ""))
    argv = ["conformance", "--provider", "llamacpp-local", "--gate", "none"]
    assert main([*argv, "--out", str(project_copy / "plain")]) == 0
    assert {p for p, _, _ in _cells(project_copy / "plain")} == {"llamacpp-local"} | _not_run(project_copy / "plain")
    assert main([*argv, "--hold", "llamacpp-local=openrouter", "--out", str(project_copy / "held")]) == 0
    assert _cells(project_copy / "held")["llamacpp-local@openrouter", "repetition_penalty", "passthrough"] == "IGNORED"
    # Held to a surface it was never recorded against: no evidence, and the gate says so.
    assert (
        main(
            [
                "conformance",
                "--provider",
                "llamacpp-local",
                "--hold",
                "llamacpp-local=mistral",
                "--out",
                str(project_copy / "x"),
            ]
        )
        == 1
    )
    assert "llamacpp-local@mistral" in capsys.readouterr().out
    for bad, message in (
        ("nobody=openai", "unknown provider 'nobody'"),
        ("llamacpp-local=nowhere", "unknown schema 'nowhere'"),
        ("llamacpp-local", "expected PROVIDER=SURFACE"),
    ):
        assert main([*argv, "--hold", bad]) == 2
        assert message in capsys.readouterr().err


def _not_run(folder: Path) -> set[str]:
    return {p for (p, _, check), v in _cells(folder).items() if check == "setup" and v == "NOT_RUN"}


def test_also_held_to_names_known_surfaces(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = project_copy / "providers.toml"
    toml.write_text(toml.read_text().replace('also_held_to = ["openai", "openrouter"]', 'also_held_to = ["opnai"]'))
    assert main(["conformance"]) == 2
    assert "unknown schema 'opnai'" in capsys.readouterr().err


def test_an_injected_regression_fails_the_gate_and_is_named(
    project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = project_copy / "baselines/llamacpp-local.json"
    data = json.loads(baseline.read_text())
    data["cells"]["repeat_penalty [default]"] = "HONOURED"  # pretend it used to be right
    baseline.write_text(json.dumps(data))
    assert main(["conformance"]) == 1
    out = capsys.readouterr().out
    assert "regression: llamacpp-local: repeat_penalty [default] was HONOURED, now IGNORED" in out


def test_gateway_verdicts_appear_in_every_report_under_the_gateways_column(tmp_path: Path) -> None:
    from harness.reporting.reports import write_reports
    from harness.results import ResultsWriter

    acts = {
        "top_k": Verdict.DROPPED,
        "temperature": Verdict.CLAMPED,
        "frequency_penalty": Verdict.TRANSLATED,
        "(request)": Verdict.ADDED,
        "top_p": Verdict.REFUSED,
        "stream": Verdict.BROKEN,
        "min_p": Verdict.PASSED,
    }
    writer = ResultsWriter(tmp_path / "results.jsonl")
    for param, verdict in acts.items():
        writer.write(_record("my-gateway", param, "gateway", verdict, f"{param}: the gateway's act"))
    writer.close()
    write_reports(tmp_path, {"mode": "replay", "date": "today", "harness": "test", "versions": {}})
    summary = {(c["provider"], c["param"]): c["verdict"] for c in json.loads((tmp_path / "summary.json").read_text())}
    assert summary == {("my-gateway", param): verdict.value for param, verdict in acts.items()}
    markdown = (tmp_path / "summary.md").read_text()
    failing = [
        p
        for p, v in acts.items()
        if v in (Verdict.DROPPED, Verdict.CLAMPED, Verdict.TRANSLATED, Verdict.ADDED, Verdict.BROKEN)
    ]
    for param in failing:
        assert f"| my-gateway | {param.replace('_', chr(92) + '_')} | gateway | **{acts[param].value}** |" in markdown
    junit = ET.parse(tmp_path / "junit.xml")
    failed = {f.get("type") for f in junit.iter("failure")}
    assert failed == {acts[p].value for p in failing}
    html = (tmp_path / "report.html").read_text()
    for verdict in acts.values():
        assert verdict.value in html and f".v-{verdict.value}" in html
