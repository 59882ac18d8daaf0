"""Graded against a reference (issue 29): the comparison of two columns case by case, its kinds
and policies, the gate over it, a recorded reference standing in for a live one, and the
reports that show it.

Two synthetic providers over real HTTP (a reference, and a candidate differing from it in one
known way per kind) are run by the real checks; the shipped cassettes of llama.cpp and vLLM
are replayed and graded one against the other."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.checks.judges.tool_agreement import judge_tool_answer, observe
from harness.cli import main
from harness.reporting.gate import apply_gate
from harness.reporting.reference import (
    DIFFERENCES,
    POLICIES,
    Comparison,
    Grading,
    Pairing,
    compare_records,
    compare_verdicts,
    grade,
    gradings_of,
    write_grading_baselines,
)
from harness.reporting.summary import summarise
from harness.results import Record, Verdict, read_results
from harness.transport import Exchange, Outcome
from tests.conftest import ROOT
from tests.synthetic import Behaviour, SyntheticProvider, served

DECIDED = [
    Verdict.HONOURED,
    Verdict.ACCEPTED,
    Verdict.REJECTED,
    Verdict.LENIENT,
    Verdict.OVER_STRICT,
    Verdict.IGNORED,
    Verdict.SERVER_ERROR,
]
REFUSES = {Verdict.REJECTED, Verdict.OVER_STRICT}
MIRROR = {
    Comparison.MATCH: Comparison.MATCH,
    Comparison.UNDECIDED: Comparison.UNDECIDED,
    Comparison.STRICTER: Comparison.LAXER,
    Comparison.LAXER: Comparison.STRICTER,
    Comparison.IGNORED: Comparison.EXTENSION,
}


# --- the comparison of two verdicts -----------------------------------------------------------


@given(st.sampled_from(DECIDED))
def test_a_verdict_matches_itself(verdict: Verdict) -> None:
    assert compare_verdicts(verdict, verdict) is Comparison.MATCH


@given(st.sampled_from(list(Verdict)), st.sampled_from(list(Verdict)))
def test_swapping_the_columns_mirrors_the_kind(reference: Verdict, candidate: Verdict) -> None:
    """What the candidate refuses more, the reference accepts more: stricter one way is laxer the
    other; ignored one way is an extension the other; broken one way is the other answering
    where its reference breaks (an extension)."""
    kind, back = compare_verdicts(reference, candidate), compare_verdicts(candidate, reference)
    broken = (Verdict.SERVER_ERROR, Verdict.BROKEN)  # a server's break, and a gateway's
    if kind is Comparison.BROKEN:
        assert back is Comparison.EXTENSION and candidate in broken
    elif kind is Comparison.EXTENSION and reference in broken:
        assert back is Comparison.BROKEN
    else:
        assert back is MIRROR.get(kind, Comparison.IGNORED), (reference, candidate, kind, back)


@given(st.sampled_from(list(Verdict)), st.sampled_from(list(Verdict)))
def test_a_side_that_decided_nothing_is_neither_a_match_nor_a_difference(
    reference: Verdict, candidate: Verdict
) -> None:
    undecided = {Verdict.INCONCLUSIVE, Verdict.NOT_RUN, Verdict.NOT_RECORDED, Verdict.TRANSPORT_ERROR}
    kind = compare_verdicts(reference, candidate)
    assert (kind is Comparison.UNDECIDED) == bool({reference, candidate} & undecided)


def _record(case: str, verdict: Verdict, status: int | None = None, body: str = "", provider: str = "c") -> Record:
    exchanges = [{"status": status, "response_excerpt": body}] if status is not None else []
    return Record(
        provider, "openai", case, case.split(".", maxsplit=1)[0], "range", verdict, "d", {"exchanges": exchanges}
    )


OPENAI_ERROR = '{"error": {"message": "no", "type": "invalid_request_error", "param": null, "code": null}}'


def test_the_same_refusal_with_another_status_or_envelope_is_an_envelope_difference() -> None:
    ref = _record("n.x", Verdict.REJECTED, 400, OPENAI_ERROR, "r")
    assert compare_records(ref, _record("n.x", Verdict.REJECTED, 400, OPENAI_ERROR))[0] is Comparison.MATCH
    kind, why = compare_records(ref, _record("n.x", Verdict.REJECTED, 422, OPENAI_ERROR))
    assert kind is Comparison.ENVELOPE and "400 vs 422" in why
    kind, why = compare_records(ref, _record("n.x", Verdict.REJECTED, 400, '{"detail": "no"}'))
    assert kind is Comparison.ENVELOPE and "{detail}" in why
    # A different decision is that difference, whatever the statuses.
    assert compare_records(ref, _record("n.x", Verdict.LENIENT, 200, "{}"))[0] is Comparison.LAXER


def test_a_cell_is_its_worst_case_and_counts_every_case() -> None:
    reference = [_record("n.a", Verdict.ACCEPTED, provider="r"), _record("n.b", Verdict.ACCEPTED, provider="r")]
    candidate = [_record("n.a", Verdict.ACCEPTED), _record("n.b", Verdict.OVER_STRICT)]
    (cell,) = grade(Pairing("c", "r"), candidate, reference).cells
    assert cell.kind is Comparison.STRICTER and cell.counts == {"MATCH": 1, "stricter": 1}
    assert (cell.reference_verdict, cell.candidate_verdict) == (Verdict.ACCEPTED, Verdict.OVER_STRICT)


# --- a synthetic candidate, one known difference per kind ---------------------------------------

PAIR = """[providers.ref]
base_url = "{ref}"
model = "m"
schema = "openai"
max_parallel_requests = 1

[providers.cand]
base_url = "{cand}"
model = "m"
schema = "openai"
max_parallel_requests = 1
"""
PARAMS = "temperature,top_p,presence_penalty,frequency_penalty,logprobs"


def _graded(folder: Path, monkeypatch: pytest.MonkeyPatch, candidate: Behaviour, reference: Behaviour) -> Grading:
    """``cand`` run live against ``ref``, both synthetic, served over HTTP; the run's grading."""
    (folder / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(folder))
    out = folder / "out"
    with served(SyntheticProvider(reference)) as ref, served(SyntheticProvider(candidate)) as cand:
        (folder / "providers.toml").write_text(PAIR.format(ref=ref.base_url, cand=cand.base_url))
        args = ["run", "--provider", "cand", "--reference", "ref", "--mode", "live", "--params", PARAMS]
        assert main([*args, "--out", str(out), "--gate", "none"]) == 0
    (grading,) = gradings_of(out, read_results(out / "results.jsonl"))
    return grading


def test_a_candidate_identical_to_its_reference_is_all_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grading = _graded(tmp_path, monkeypatch, Behaviour(), Behaviour())
    assert len(grading.cells) > 15
    assert {c.kind for c in grading.cells} == {Comparison.MATCH}, [c.to_json() for c in grading.cells]


def test_a_candidate_differing_in_one_way_per_kind_is_graded_with_exactly_those_kinds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidate = Behaviour(
        ranges={"temperature": (0.0, 1.0)},  # stricter: refuses temperatures the reference takes
        ignore={"presence_penalty"},  # ignored: drops what the reference honours
        server_error_for={"logprobs"},  # broken: a 500 where the reference answers
    )
    reference = Behaviour(
        ranges={"top_p": (0.0, 1.0)},  # so the candidate is laxer: it takes top_p > 1
        ignore={"frequency_penalty"},  # so the candidate's frequency_penalty is an extension
    )
    grading = _graded(tmp_path, monkeypatch, candidate, reference)
    kinds = {c.key: c.kind for c in grading.cells}
    assert kinds["temperature [range]"] is Comparison.STRICTER
    assert kinds["top_p [range]"] is Comparison.LAXER
    assert kinds["presence_penalty [effect]"] is Comparison.IGNORED
    assert kinds["frequency_penalty [effect]"] is Comparison.EXTENSION
    assert kinds["logprobs [effect]"] is Comparison.BROKEN
    differences = {c.kind for c in grading.differences()}
    assert differences == {
        Comparison.STRICTER,
        Comparison.LAXER,
        Comparison.IGNORED,
        Comparison.EXTENSION,
        Comparison.BROKEN,
    }
    # Parameters nothing was changed for match (or were undecided on a side).
    assert kinds["top_p [effect]"] is Comparison.MATCH and kinds["temperature [effect]"] is Comparison.MATCH
    # The policies: self-hosted fails broken and ignored only, parity every difference.
    self_hosted = {c.kind for c in grading.failing()}
    assert self_hosted == {Comparison.BROKEN, Comparison.IGNORED}
    parity = Grading(dataclasses.replace(grading.pairing, policy="parity"), grading.cells)
    assert {c.kind for c in parity.failing()} == differences


# --- llama.cpp graded against vLLM, from the shipped cassettes -----------------------------------


@pytest.fixture(scope="module")
def live_graded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """llamacpp-local replayed against vllm-local replayed: both held to openai, their shared surface."""
    out = tmp_path_factory.mktemp("graded") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_ROOT", str(ROOT))
        args = ["run", "--provider", "llamacpp-local", "--reference", "vllm-local", "--out", str(out)]
        assert main([*args, "--gate", "none"]) == 0
    yield out


def _agrees(kind: Comparison, reference: Verdict, candidate: Verdict) -> bool:
    """What each kind says of the two columns' own verdicts of one case."""
    accepts = {Verdict.ACCEPTED, Verdict.LENIENT, Verdict.HONOURED, Verdict.IGNORED}
    return {
        Comparison.MATCH: reference is candidate or {reference, candidate} <= REFUSES,
        Comparison.ENVELOPE: reference is candidate or {reference, candidate} <= REFUSES,
        Comparison.STRICTER: candidate in REFUSES and reference in accepts,
        Comparison.LAXER: candidate in accepts and reference in REFUSES,
        Comparison.BROKEN: candidate is Verdict.SERVER_ERROR and reference is not Verdict.SERVER_ERROR,
        Comparison.IGNORED: candidate is Verdict.IGNORED and reference in {Verdict.HONOURED, Verdict.ACCEPTED},
        Comparison.EXTENSION: reference is Verdict.SERVER_ERROR
        or (reference is Verdict.IGNORED and candidate in {Verdict.HONOURED, Verdict.ACCEPTED}),
        Comparison.UNDECIDED: bool(
            {reference, candidate}
            & {Verdict.INCONCLUSIVE, Verdict.NOT_RUN, Verdict.NOT_RECORDED, Verdict.TRANSPORT_ERROR}
        ),
    }[kind]


def test_llamacpp_graded_against_vllm_agrees_with_the_two_columns_verdicts(live_graded: Path) -> None:
    records = read_results(live_graded / "results.jsonl")
    (grading,) = gradings_of(live_graded, records)
    assert (grading.pairing.candidate, grading.pairing.reference) == ("llamacpp-local@openai", "vllm-local@openai")
    own = {(r.provider, r.case_id): r.verdict for r in records}
    for cell in grading.cells:
        for case in cell.cases:
            ref = own.get(("vllm-local@openai", case.case_id))
            cand = own.get(("llamacpp-local@openai", case.case_id))
            if ref is None or cand is None:
                assert case.kind is Comparison.UNDECIDED
                continue
            assert (case.reference, case.candidate) == (ref, cand)
            assert _agrees(case.kind, ref, cand), (cell.key, case)
    kinds = {c.key: c.kind for c in grading.cells}
    assert Comparison.MATCH in kinds.values()
    # What the two servers are known to do (docs/findings.md): vLLM honours temperature's
    # documented default, llama.cpp does not; llama.cpp takes `dimensions` (and ignores it)
    # where vLLM refuses it; llama.cpp takes an out-of-range max_tokens vLLM refuses.
    assert kinds["temperature [default]"] is Comparison.IGNORED
    assert kinds["dimensions [embeddings]"] is Comparison.LAXER
    assert kinds["max_tokens [range]"] is Comparison.LAXER
    assert {Comparison.BROKEN, Comparison.STRICTER} <= set(kinds.values())
    # The tool prompts, recorded from both servers: every answer paired, the reference's own
    # spread measured between its three repeats.
    tools = grading.tools
    assert tools is not None and tools.answers == 45 and len(tools.spread) == 3
    assert tools.threshold == min(tools.spread) and tools.passes is (tools.f1 >= tools.threshold)


def test_grading_against_a_recorded_reference_is_grading_against_the_live_one(
    live_graded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_ROOT", str(ROOT))
    out = tmp_path / "recorded"
    args = ["run", "--provider", "llamacpp-local", "--reference", "vllm-local", "--reference-run", str(live_graded)]
    assert main([*args, "--out", str(out), "--gate", "none"]) == 0
    (live,) = gradings_of(live_graded, read_results(live_graded / "results.jsonl"))
    (recorded,) = gradings_of(out, read_results(out / "results.jsonl"))
    assert [c.to_json() for c in recorded.cells] == [c.to_json() for c in live.cells]
    # The reference was not run again: only the candidate's column is in the run's records.
    assert {r.provider for r in read_results(out / "results.jsonl")} == {"llamacpp-local@openai"}
    log = [json.loads(line) for line in (live_graded / "runs.jsonl").read_text().splitlines()]
    dated = next(entry["date"] for entry in log if entry["provider"] == "vllm-local@openai")
    assert recorded.pairing.run == str(live_graded) and recorded.pairing.date == dated


def test_a_recorded_reference_two_candidates_share_is_copied_once_and_the_folder_merges(
    live_graded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two candidates graded against one recorded reference column: its records are in
    reference.jsonl once (twice before, which the merge refused as two runs in one folder)."""
    monkeypatch.setenv("HARNESS_ROOT", str(ROOT))
    out = tmp_path / "two"
    candidates = ["--provider", "llamacpp-local", "--provider", "transformers-local"]
    args = ["conformance", *candidates, "--reference", "vllm-local", "--reference-run", str(live_graded)]
    assert main([*args, "--gate", "none", "--out", str(out)]) == 0
    assert len(json.loads((out / "grading.json").read_text())) == 2
    copied = [(r.provider, r.unit_id, r.check, r.case_id) for r in read_results(out / "reference.jsonl")]
    assert copied and len(copied) == len(set(copied))
    assert main(["report", "--merge", str(out), "--out", str(tmp_path / "merged"), "--gate", "none"]) == 0


def test_a_recorded_reference_without_that_column_is_one_line_exit_2(
    live_graded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARNESS_ROOT", str(ROOT))
    args = ["run", "--provider", "llamacpp-local", "--reference", "llama-cpp-python-local"]
    assert main([*args, "--reference-run", str(live_graded), "--out", str(live_graded.parent / "x")]) == 2
    captured = capsys.readouterr()
    assert "no 'llama-cpp-python-local' column there" in captured.err
    assert not (live_graded.parent / "x").exists()  # checked before anything was sent


# --- the gate and the reports -------------------------------------------------------------------


def test_the_gate_fails_a_new_difference_and_passes_a_baselined_one(live_graded: Path, tmp_path: Path) -> None:
    records = read_results(live_graded / "results.jsonl")
    (grading,) = gradings_of(live_graded, records)
    cells = summarise(records)
    assert grading.failing(), "llama.cpp differs from vLLM in ways self-hosted fails"
    strict = apply_gate("strict", cells, tmp_path, [grading], frozenset({"vllm-local@openai"}))
    graded_lines = [line for line in strict.failures if line.startswith(grading.name)]
    assert len(graded_lines) == len(grading.failing())
    write_grading_baselines([grading], tmp_path)
    known = apply_gate("baseline", cells, tmp_path, [grading])
    assert not [line for line in known.failures if line.startswith(grading.name)]
    # One more difference than baselined: a cell that matched now ignores.
    matched = next(c for c in grading.cells if c.kind is Comparison.MATCH)
    worse = dataclasses.replace(matched, kind=Comparison.IGNORED)
    changed = Grading(grading.pairing, [worse if c is matched else c for c in grading.cells])
    regressed = apply_gate("baseline", cells, tmp_path, [changed])
    assert [line for line in regressed.failures if line.startswith(grading.name)] == [
        f"{grading.name}: {matched.key} is ignored: reference {matched.reference_verdict}, "
        f"candidate {matched.candidate_verdict}"
    ]
    # A gate of none never fails.
    assert not apply_gate("none", cells, tmp_path, [changed]).failures


def test_reports_name_the_reference_its_policy_and_date_and_list_the_differences(
    live_graded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_ROOT", str(ROOT))
    assert main(["report", str(live_graded)]) == 0
    (grading,) = gradings_of(live_graded, read_results(live_graded / "results.jsonl"))
    summary = (live_graded / "summary.md").read_text()
    assert "## Graded against the reference: llamacpp-local@openai vs vllm-local@openai" in summary
    assert "Policy **self-hosted**" in summary and grading.pairing.date in summary
    assert "| temperature | default | ignored | HONOURED | IGNORED | **yes** |" in summary
    assert grading.tools is not None and "trigger F1" in summary and "spread (F1 between its repeats)" in summary
    suites = {s.get("name"): s for s in ET.parse(live_graded / "junit.xml").getroot()}
    graded = suites["graded: llamacpp-local@openai vs vllm-local@openai (self-hosted)"]
    assert graded.get("failures") == str(len(grading.failing()))
    assert graded.get("tests") == str(len(grading.cells) + (grading.tools is not None))
    html = (live_graded / "report.html").read_text()
    assert "reference: vllm-local@openai \u2192 llamacpp-local@openai" in html
    assert 'class="cmp fails">ignored<' in html and "policy <b>self-hosted</b>" in html
    assert "schema accuracy" in html and "threshold" in html
    assert "<script src" not in html and "<link" not in html  # still one self-contained file


def _policy_failing(policy: str) -> frozenset[Comparison]:
    return POLICIES[policy]


def test_the_policies() -> None:
    assert _policy_failing("parity") == DIFFERENCES
    assert _policy_failing("self-hosted") == {Comparison.BROKEN, Comparison.IGNORED}


# --- tool-call agreement ---------------------------------------------------------------------


def _answer(provider: str, prompt: str, choice: str, repeat: int, calls: list[str], schema_ok: bool = True) -> Record:
    seen = {
        "version": "v1",
        "prompt": prompt,
        "choice": choice,
        "repeat": repeat,
        "finish_reason": "tool_calls" if calls else "length",
        "calls": calls,
        "names_ok": bool(calls),
        "schema_ok": bool(calls) and schema_ok,
    }
    case = f"tool-agreement.tools.v1.{prompt}.{choice}.r{repeat}"
    return Record(provider, "openai", case, "tools", "tool-agreement", Verdict.ACCEPTED, "d", {"tool_agreement": seen})


PROMPT_KEYS = [(p, c) for p in ("single", "enum") for c in ("auto", "required", "forced")]


def _column(provider: str, calls: dict[tuple[str, str, int], list[str]], repeats: int = 3) -> list[Record]:
    return [_answer(provider, p, c, r, calls.get((p, c, r), [])) for p, c in PROMPT_KEYS for r in range(repeats)]


def test_tool_agreement_of_identical_answers_is_full_and_within_the_spread() -> None:
    calls = {(p, c, r): ["f"] for p, c in PROMPT_KEYS if c != "auto" for r in range(3)}
    agreement = grade(Pairing("c", "r"), _column("c", calls), _column("r", calls)).tools
    assert agreement is not None
    assert (agreement.precision, agreement.recall, agreement.f1) == (1.0, 1.0, 1.0)
    assert agreement.spread == (1.0, 1.0, 1.0) and agreement.threshold == 1.0 and agreement.passes


def test_a_candidate_that_never_calls_where_the_reference_does_is_below_the_threshold() -> None:
    calls = {(p, c, r): ["f"] for p, c in PROMPT_KEYS if c != "auto" for r in range(3)}
    agreement = grade(Pairing("c", "r"), _column("c", {}), _column("r", calls)).tools
    assert agreement is not None
    assert agreement.recall == 0.0 and agreement.precision is None and agreement.f1 == 0.0
    assert agreement.passes is False and "BELOW" in agreement.describe()


def test_the_threshold_is_the_references_own_run_to_run_spread() -> None:
    """The reference calls on its first repeat of every prompt and on half of the others: its
    repeats agree with each other less than fully, so a candidate that agrees as little passes."""
    ref_calls = {(p, c, 0): ["f"] for p, c in PROMPT_KEYS}
    ref_calls |= {(p, c, r): ["f"] for p, c in PROMPT_KEYS[::2] for r in (1, 2)}
    candidate = _column("c", {(p, c, 0): ["f"] for p, c in PROMPT_KEYS})
    agreement = grade(Pairing("c", "r"), candidate, _column("r", ref_calls)).tools
    assert agreement is not None
    # Repeat 0 against 1 (and 0 against 2): 3 shared triggers, 3 only in repeat 0: F1 = 6 / 9.
    assert agreement.spread == pytest.approx((6 / 9, 6 / 9, 1.0))
    assert agreement.threshold == pytest.approx(6 / 9)
    # The candidate calls on repeat 0 only: 6 shared, 6 the reference alone: F1 = 12 / 18.
    assert agreement.f1 == pytest.approx(12 / 18) and agreement.passes


def test_schema_and_name_accuracy_count_the_candidates_calls() -> None:
    reference = _column("r", {(p, c, r): ["f"] for p, c in PROMPT_KEYS for r in range(3)})
    candidate = [_answer("c", p, c, r, ["f"], schema_ok=(p == "single")) for p, c in PROMPT_KEYS for r in range(3)]
    agreement = grade(Pairing("c", "r"), candidate, reference).tools
    assert agreement is not None
    assert agreement.schema_accuracy == 0.5 and agreement.reference_schema_accuracy == 1.0
    assert agreement.name_accuracy == 1.0


# --- the judge of one tool answer -------------------------------------------------------------

WEATHER = {
    "get_weather": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
}


def _tool_answer(calls: list[tuple[str, Any]], finish: str = "tool_calls", status: int = 200) -> Exchange:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": name, "arguments": arguments}}
            for i, (name, arguments) in enumerate(calls)
        ],
    }
    body: dict[str, Any] = {"choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    if status >= 500:
        body = {"error": {"message": "internal", "type": "server_error"}}
    return Exchange("POST", "http://x/v1/chat/completions", {}, Outcome.RESPONSE, status=status, json=body)


def test_an_honest_tool_answer_is_observed_as_it_is() -> None:
    exchange = _tool_answer([("get_weather", '{"city": "Paris"}')])
    assert judge_tool_answer(exchange, WEATHER, "get_weather").verdict is Verdict.ACCEPTED
    assert observe(exchange, WEATHER, "get_weather") == {
        "finish_reason": "tool_calls",
        "calls": ["get_weather"],
        "names_ok": True,
        "schema_ok": True,
    }


@pytest.mark.parametrize(
    ("calls", "forced", "names_ok", "schema_ok"),
    [
        ([("get_weather", '{"town": "Paris"}')], None, True, False),  # arguments its schema refuses
        ([("get_weather", "{city: Paris")], None, True, False),  # arguments that do not parse
        ([("get_time", '{"city": "Paris"}')], None, False, False),  # a tool it was not given
        ([("get_weather", '{"city": "Paris"}')], "get_other", False, True),  # not the forced one
        ([], None, False, False),  # no call at all
    ],
)
def test_a_lying_tool_answer_is_observed_as_wrong(
    calls: list[tuple[str, Any]], forced: str | None, names_ok: bool, schema_ok: bool
) -> None:
    seen = observe(_tool_answer(calls), WEATHER, forced)
    assert (seen["names_ok"], seen["schema_ok"]) == (names_ok, schema_ok)


def test_a_failed_tool_answer_is_the_failure_not_an_answer() -> None:
    assert judge_tool_answer(_tool_answer([], status=500), WEATHER, None).verdict is Verdict.SERVER_ERROR


def test_the_tool_prompts_are_versioned_and_sent_only_for_a_graded_column() -> None:
    from harness.checks import tool_agreement
    from harness.checks.registry import load_families
    from harness.runs.reference import graded_checks

    assert tool_agreement.VERSION == "v1"
    prompts = {p["id"]: p for p in tool_agreement.PROMPTS["prompts"]}
    assert set(prompts) == {"single", "several", "no-parameters", "enum", "nested"}
    assert (
        len(prompts["several"]["tools"]) > 1 and prompts["no-parameters"]["tools"][0]["parameters"]["properties"] == {}
    )
    for prompt in prompts.values():  # the forced tool is one of the prompt's tools
        assert prompt["forced"] in {tool["name"] for tool in prompt["tools"]}
    families = load_families()
    assert not families["tool-agreement"].enabled
    assert graded_checks(None) == [*(n for n, c in families.items() if c.enabled), "tool-agreement"]
    assert graded_checks(["range"]) == ["range", "tool-agreement"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--reference", "nosuch"], "unknown provider 'nosuch'"),
        (["--reference", "llamacpp-local="], "expected REF or CANDIDATE=REF"),
        (["--reference", "vllm-local", "--reference-run", "/nonexistent"], "no results.jsonl there"),
    ],
)
def test_a_bad_reference_is_one_line_exit_2(
    argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARNESS_ROOT", str(ROOT))
    assert main(["run", "--provider", "llamacpp-local", *argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
