"""Range acceptance: every matrix case's status against what the documentation says.

A 2xx for a documented-valid value is ACCEPTED (this check does not judge the effect; the
effect families do); a 4xx for a documented-invalid one is REJECTED, and its error envelope
is graded: a JSON body, OpenAI's shape, a message that names the parameter.
"""

from __future__ import annotations

from typing import Any

from harness.checks.evidence import completion_tokens, evidence
from harness.checks.registry import CheckContext, Unit, check
from harness.generation import Case
from harness.results import Record, Verdict
from harness.schema import response_schema
from harness.transport import Exchange, Outcome


def record_command(provider: str) -> str:
    return f"nox -s record -- --provider {provider}"


def outcome_verdict(exchange: Exchange, provider: str) -> tuple[Verdict, str] | None:
    """Verdicts that do not depend on the documentation: nothing to compare, or a 5xx."""
    if exchange.outcome is Outcome.NOT_RECORDED:
        return Verdict.NOT_RECORDED, f"no recorded interaction; record it with: {record_command(provider)}"
    if exchange.outcome is Outcome.TRANSPORT_ERROR:
        return Verdict.TRANSPORT_ERROR, exchange.error
    if exchange.status == 429:
        return Verdict.INCONCLUSIVE, f"rate limited (429) after {exchange.attempts} attempts"
    if exchange.server_error:
        return Verdict.SERVER_ERROR, f"HTTP {exchange.status}: {exchange.excerpt(160)}"
    if exchange.ok and exchange.problems:
        return (
            Verdict.SERVER_ERROR,
            f"HTTP {exchange.status} with an unusable body: {'; '.join(exchange.problems)}",
        )
    return None


def envelope_quality(exchange: Exchange, param: str) -> dict[str, Any]:
    """Grade a 4xx body: is it JSON, is it OpenAI's envelope, does it name the parameter?"""
    body = exchange.json
    message = ""
    if isinstance(body, dict):
        err = body.get("error", body)
        message = str(err.get("message", "")) if isinstance(err, dict) else str(err)
    whole = exchange.text
    return {
        "json": body is not None,
        "openai_shape": body is not None and not list(response_schema("error-envelope").iter_errors(body)),
        "names_param": any(name in whole for name in param.split("+")),
        "message": message[:200],
    }


def judge(case: Case, exchange: Exchange, provider: str) -> tuple[Verdict, str, dict[str, Any]]:
    fixed = outcome_verdict(exchange, provider)
    if fixed is not None:
        return fixed[0], fixed[1], {}
    documented = {
        "accept": "documented as valid",
        "reject": "documented as invalid",
        "unspecified": "documentation silent",
    }[case.expect]
    if exchange.ok:
        if case.expect == "reject":
            return (
                Verdict.LENIENT,
                f"accepted although {documented} ({case.reason}); clamping is not visible",
                {},
            )
        return Verdict.ACCEPTED, f"HTTP {exchange.status}, {documented}", {}
    quality = envelope_quality(exchange, case.param)
    grade = ", ".join(k for k in ("json", "openai_shape", "names_param") if not quality[k])
    suffix = f"; error envelope lacks: {grade}" if grade else "; error envelope names the parameter"
    if case.expect == "accept":
        return (
            Verdict.OVER_STRICT,
            f"HTTP {exchange.status} although {documented}: {quality['message']}",
            quality,
        )
    return Verdict.REJECTED, f"HTTP {exchange.status}, {documented}{suffix}", quality


@check("range", "every matrix case's HTTP status against its documented expectation")
def range_acceptance(ctx: CheckContext) -> list[Unit]:
    def unit(case: Case) -> Unit:
        async def run() -> list[Record]:
            exchange = await ctx.send(case.body)
            verdict, detail, quality = judge(case, exchange, ctx.provider)
            ev = evidence([exchange], ctx.surface, ctx.base_url, ctx.api_key_env)
            if quality:
                ev["error_envelope"] = quality
            return [
                Record(
                    provider=ctx.provider,
                    surface=ctx.surface.name,
                    case_id=case.id,
                    param=case.param,
                    check="range",
                    verdict=verdict,
                    detail=detail,
                    evidence=ev,
                    label=case.label,
                    expect=case.expect,
                    value=None if case.omitted else case.value,
                    requests=exchange.attempts,
                    completion_tokens=completion_tokens([exchange]),
                )
            ]

        return Unit(case.id, case.param, run)

    return [unit(case) for case in ctx.cases]
