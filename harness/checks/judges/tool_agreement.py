"""What one answer to a tool prompt holds, for grading against a reference (issue 29): its
finish reason, the tools it calls, whether each name is one of the tools (the forced one when
forced) and whether the arguments parse and validate. The verdict says only that the request
was accepted (ACCEPTED) or how it failed: whether the answer *agrees* with the reference is
decided over many answers, by ``harness.reporting.reference.tool_agreement``, never here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.checks.judges.outcome import Judgement, finish_reason, probe_failure
from harness.checks.judges.tools import call_problem, tool_calls
from harness.results import Verdict
from harness.transport import Exchange


def observe(exchange: Exchange, parameters: Mapping[str, dict[str, Any]], forced: str | None) -> dict[str, Any]:
    """The answer's tool calls as the grading reads them (JSON, kept in the record)."""
    calls = tool_calls(exchange)
    names = [call.name for call in calls]
    return {
        "finish_reason": finish_reason(exchange),
        "calls": names,
        # A name is right when it is one of the tools, and the forced one when one was forced.
        "names_ok": bool(calls) and all(n in parameters and (forced is None or n == forced) for n in names),
        "schema_ok": bool(calls) and all(call_problem(call, parameters) is None for call in calls),
    }


def judge_tool_answer(exchange: Exchange, parameters: Mapping[str, dict[str, Any]], forced: str | None) -> Judgement:
    failed = probe_failure([exchange])
    if failed is not None:
        return failed
    seen = observe(exchange, parameters, forced)
    calls = ", ".join(seen["calls"]) or "no call"
    return Judgement(
        Verdict.ACCEPTED,
        f"finish_reason {seen['finish_reason']!r}; {calls}; names ok: {seen['names_ok']}, "
        f"arguments valid: {seen['schema_ok']} (agreement is graded against a reference)",
    )
