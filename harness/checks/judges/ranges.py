"""Judges of acceptance: one matrix case against its documented expectation, and a key the
provider cannot know. Only a validation refusal (400/422, or a status the surface documents)
counts as a refusal; a 2xx must be a usable body to count as accepted."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checks.judges.outcome import (
    VALIDATION_STATUSES,
    Judgement,
    is_validation_refusal,
    names_param,
    unusable,
)
from harness.checks.judges.shapes import Pair
from harness.results import Verdict
from harness.schema import response_schema
from harness.transport import Exchange

DOCUMENTED = {
    "accept": "documented as valid",
    "reject": "documented as invalid",
    "unspecified": "documentation silent",
}


def envelope_quality(exchange: Exchange, param: str) -> dict[str, Any]:
    """Grade a 4xx body: is it JSON, is it OpenAI's envelope, does it name the parameter?"""
    body = exchange.json
    message, error_param = "", None
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            message, error_param = str(err.get("message", "")), err.get("param")
        else:
            message = str(err)
    whole = message or exchange.text
    return {
        "json": body is not None,
        "openai_shape": body is not None and response_schema("error-envelope").is_valid(body),
        "names_param": any(names_param(whole, error_param, name) for name in param.split("+")),
        "message": message[:200],
    }


def refuses_everything(plain: Exchange | None) -> Judgement | None:
    """A refusal says something about a value only if the same provider answers the plain
    request (model, messages, max_tokens): one that refuses that too refuses everything."""
    if plain is None or plain.ok:
        return None
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"the plain request without the parameter is not answered either (HTTP {plain.status or plain.error}): "
        "a refusal here says nothing about the value",
    )


def judge_case(
    param: str,
    expect: str,
    reason: str,
    exchange: Exchange,
    *,
    refusal_statuses: Iterable[int] = VALIDATION_STATUSES,
    plain: Exchange | None = None,
) -> tuple[Judgement, dict[str, Any]]:
    """The verdict of one matrix case, and the graded error envelope of a refusal. ``plain``:
    the plain request, which must be answered for a refusal to count."""
    # No shared guard: a case may be documented as invalid, so a refusal is its verdict, not a
    # probe failure; only an unusable answer is judged before the documentation.
    fixed = unusable(exchange)
    if fixed is not None:
        return fixed, {}
    documented = DOCUMENTED[expect]
    if exchange.ok:
        if expect == "reject":
            return Judgement(Verdict.LENIENT, f"accepted although {documented} ({reason}); clamping is not visible"), {}
        return Judgement(Verdict.ACCEPTED, f"HTTP {exchange.status}, {documented}"), {}
    if not is_validation_refusal(exchange, refusal_statuses):
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"HTTP {exchange.status} is not a validation refusal ({documented}): {exchange.excerpt(160)}",
        ), {}
    everything = refuses_everything(plain)
    if everything:
        return everything, {}
    quality = envelope_quality(exchange, param)
    if expect == "accept":
        return Judgement(
            Verdict.OVER_STRICT, f"HTTP {exchange.status} although {documented}: {quality['message']}"
        ), quality
    grade = ", ".join(k for k in ("json", "openai_shape", "names_param") if not quality[k])
    suffix = f"; error envelope lacks: {grade}" if grade else "; error envelope names the parameter"
    return Judgement(Verdict.REJECTED, f"HTTP {exchange.status}, {documented}{suffix}"), quality


def judge_unknown_key(pair: Pair, documented: str, statuses: Iterable[int] = VALIDATION_STATUSES) -> Judgement:
    """``pair.probe``: a request with a key the provider cannot know; ``pair.base``: the same
    request without it; ``documented``: what the surface says of unknown keys (reject, ignore,
    forward, unspecified)."""
    # No shared guard: a refusal of the key is the verdict, not a probe failure; the plain
    # request counts only where the key is refused (``refuses_everything``).
    exchange, plain = pair.probe, pair.base
    fixed = unusable(exchange)
    if fixed is not None:
        return fixed
    if exchange.client_error and not is_validation_refusal(exchange, statuses):
        return Judgement(
            Verdict.INCONCLUSIVE, f"HTTP {exchange.status} is not a validation refusal: {exchange.excerpt(160)}"
        )
    everything = refuses_everything(plain) if exchange.client_error else None
    if everything:
        return everything
    rejected = exchange.client_error
    behaviour = f"HTTP {exchange.status}: unknown keys are {'rejected' if rejected else 'accepted and ignored'}"
    if documented == "reject":
        verdict = Verdict.REJECTED if rejected else Verdict.LENIENT
    elif documented in ("ignore", "forward"):
        verdict = Verdict.OVER_STRICT if rejected else Verdict.ACCEPTED
    else:
        verdict = Verdict.REJECTED if rejected else Verdict.ACCEPTED
    note = f"documented: {documented}"
    if not rejected:
        note += "; a misspelt parameter will be silently dropped by this provider"
    return Judgement(verdict, f"{behaviour} ({note})")
