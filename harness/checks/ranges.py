"""Range acceptance: every matrix case's status against what the documentation says.

A 2xx for a documented-valid value is ACCEPTED (this check does not judge the effect; the
effect families do); a validation refusal (400/422) of a documented-invalid one is REJECTED,
and its error envelope is graded: a JSON body, OpenAI's shape, a message that names the
parameter. The judge is ``judges.ranges.judge_case``.
"""

from __future__ import annotations

from harness.checks.cost import Ceiling, sends
from harness.checks.findings import Finding
from harness.checks.judges.profile import Profile
from harness.checks.judges.ranges import judge_case
from harness.checks.registry import CheckContext, Unit, check
from harness.generation import Case
from harness.generation.matrix import base_body


def case_unit(ctx: CheckContext, case: Case, check_name: str = "range") -> Unit:
    """One matrix case: send it, judge it against its documented expectation."""

    async def run() -> list[Finding]:
        exchange = await ctx.send(case.body)
        # The plain request (one per run, shared by every case) decides whether a refusal counts.
        plain = await ctx.send(base_body(ctx.model)) if exchange.client_error else None
        judgement, quality = judge_case(
            case.param, case.expect, case.reason, exchange, refusal_statuses=ctx.surface.refusal_statuses, plain=plain
        )
        # The reproducer is built from the last exchange shown: the case's own request; only
        # the case's own request is counted as its cost.
        finding = Finding(
            judgement,
            [*([plain] if plain else []), exchange],
            None if case.omitted else case.value,
            spent=[exchange],
            notes={"error_envelope": quality} if quality else {},
            check=check_name,
            param=case.param,
            label=case.label,
            case_id=case.id,
            expect=case.expect,
        )
        return [finding]

    def cost(_profile: Profile) -> Ceiling:
        # The plain request is sent only after a refusal, and once per run: keyed, it counts once.
        return sends(ctx.context_tokens, case.body, base_body(ctx.model))

    return Unit(case.id, case.param, run, cost)


@check("range", "every matrix case's HTTP status against its documented expectation")
def range_acceptance(ctx: CheckContext) -> list[Unit]:
    # A provider never to be sent a seed gets no case that carries one (the seed's own cases).
    return [case_unit(ctx, case) for case in ctx.cases if ctx.send_seed or "seed" not in case.body]
