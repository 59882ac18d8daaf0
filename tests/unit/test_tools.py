"""Tool calling against a synthetic provider that honours tools / tool_choice /
parallel_tool_calls, and against ones that drop or break each: the second kind is IGNORED (or
SERVER_ERROR for a stream no client can reassemble), never HONOURED."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.checks.judges.tools import Call, call_problem, tool_calls
from harness.checks.tools import PARAMETERS
from harness.results import Record, Verdict
from harness.schema import Surface
from harness.transport import Exchange, Outcome
from tests.synthetic import Behaviour
from tests.unit.test_checks import run_checks

PARAMS = ["tools", "tool_choice", "parallel_tool_calls", "stream"]


def tools_verdicts(records: list[Record]) -> dict[tuple[str, str], Verdict]:
    return {(r.param, r.label): r.verdict for r in records if r.check == "tools"}


def shown(records: list[Record]) -> list[tuple[str, str, str, str]]:
    return sorted((r.param, r.label, r.verdict.value, r.detail[:100]) for r in records if r.check == "tools")


def test_an_honest_provider_is_honoured(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(), ["tools"], PARAMS)
    found = tools_verdicts(records)
    assert found == {
        ("tools", "prompt"): Verdict.HONOURED,
        ("tool_choice", "function"): Verdict.HONOURED,
        ("tool_choice", "required"): Verdict.HONOURED,
        # The model calls nothing unforced: nothing for "none" to suppress.
        ("tool_choice", "none"): Verdict.INCONCLUSIVE,
        ("parallel_tool_calls", "effect"): Verdict.HONOURED,
        ("stream", "tool-calls"): Verdict.HONOURED,
    }, shown(records)
    honoured = [r for r in records if r.verdict is Verdict.HONOURED]
    assert all(r.evidence.get("control") for r in honoured), shown(records)


def test_none_is_decided_where_the_model_calls_unforced(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(calls_unforced=True), ["tools"], ["tool_choice"])
    found = tools_verdicts(records)
    assert found[("tool_choice", "none")] is Verdict.HONOURED, shown(records)
    # A call without tool_choice too: "required" made no difference that can be seen.
    assert found[("tool_choice", "required")] is Verdict.INCONCLUSIVE, shown(records)


@pytest.mark.parametrize("calls_unforced", [False, True])
def test_a_provider_that_drops_tool_choice_is_ignored(
    calls_unforced: bool, tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    behaviour = Behaviour(ignore={"tool_choice"}, calls_unforced=calls_unforced)
    records = run_checks(tmp_path, catalogue["openai"], behaviour, ["tools"], ["tool_choice"])
    found = tools_verdicts(records)
    assert Verdict.HONOURED not in found.values(), shown(records)
    if calls_unforced:
        # auto calls every tool: "none" is seen ignored; forcing one function still calls both.
        assert found[("tool_choice", "none")] is Verdict.IGNORED, shown(records)
        assert found[("tool_choice", "function")] is Verdict.IGNORED, shown(records)
    else:
        assert found[("tool_choice", "function")] is Verdict.IGNORED, shown(records)
        assert found[("tool_choice", "required")] is Verdict.IGNORED, shown(records)


def test_tools_that_never_reach_the_prompt_are_ignored(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(ignore={"tools"}), ["tools"], ["tools"])
    assert tools_verdicts(records) == {("tools", "prompt"): Verdict.IGNORED}, shown(records)


def test_parallel_tool_calls_dropped_is_ignored(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    behaviour = Behaviour(ignore={"parallel_tool_calls"})
    records = run_checks(tmp_path, catalogue["openai"], behaviour, ["tools"], ["parallel_tool_calls"])
    assert tools_verdicts(records) == {("parallel_tool_calls", "effect"): Verdict.IGNORED}, shown(records)


def test_a_stream_repeating_the_name_cannot_be_reassembled(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    behaviour = Behaviour(stream_name_every_delta=True)
    records = run_checks(tmp_path, catalogue["openai"], behaviour, ["tools"], ["stream"])
    record = next(r for r in records if r.check == "tools")
    assert record.verdict is Verdict.SERVER_ERROR, shown(records)
    assert "set_colourset_colour" in record.detail


def test_a_surface_without_required_or_parallel_gets_only_what_it_documents(
    tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    """The seed-001 surface documents auto, none and a named function: no "required" probe."""
    records = run_checks(tmp_path, catalogue["oruel"], Behaviour(), ["tools"], PARAMS)
    assert set(tools_verdicts(records)) == {
        ("tools", "prompt"),
        ("tool_choice", "function"),
        ("tool_choice", "none"),
        ("stream", "tool-calls"),
    }, shown(records)


def _exchange(message: dict[str, Any]) -> Exchange:
    body = {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}
    return Exchange("POST", "http://x/v1/chat/completions", {}, Outcome.RESPONSE, status=200, json=body)


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (Call("set_colour", '{"colour": "red"}'), None),
        (Call("set_colour", '{"colour": "pink"}'), "do not validate"),
        (Call("set_size", '{"size": 84}'), "greater than the maximum"),
        (Call("set_size", {"size": 3}), "not a JSON string"),
        (Call("set_size", '{"size": 3'), "not JSON"),
        (Call("paint", "{}"), "not among the tools"),
    ],
)
def test_a_call_counts_only_with_a_known_name_and_valid_arguments(call: Call, problem: str | None) -> None:
    found = call_problem(call, PARAMETERS)
    assert (found is None) if problem is None else (found is not None and problem in found), found


def test_calls_are_read_from_the_message() -> None:
    arguments = json.dumps({"colour": "red"})
    calls = [{"function": {"name": "set_colour", "arguments": arguments}}]
    message = {"role": "assistant", "content": None, "tool_calls": calls}
    assert tool_calls(_exchange(message)) == [Call("set_colour", arguments)]
    assert tool_calls(_exchange({"role": "assistant", "content": "hi"})) == []
