"""Structure: the surface's nested structure, valid and broken one place at a time, and its
cross-parameter dependencies both ways (``generation.structure``). Each case is judged as a
range case is (``judges.ranges.judge_case``): a documented-invalid structure answered 200 is
LENIENT, a 500 is SERVER_ERROR, each with the structure that triggers it and a reproducer."""

from __future__ import annotations

from harness.checks.ranges import case_unit
from harness.checks.registry import CheckContext, Unit, check
from harness.generation.structure import build_structure


@check("structure", "nested structure (tools, tool_choice, response_format, messages) and dependencies")
def structure(ctx: CheckContext) -> list[Unit]:
    cases = build_structure(ctx.surface, ctx.model, ctx.structure_budget)
    return [case_unit(ctx, case, "structure") for case in cases if not ctx.params or case.param in ctx.params]
