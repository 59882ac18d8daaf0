"""What an exchange is, before any question of documentation: usable, a validation refusal,
another refusal, or no answer at all.

Only a validation refusal (HTTP 400 or 422, or a status the surface documents for invalid
input) can be REJECTED. A 401/403, or a 404 for the model, is a configuration error and
never reaches a judge (the sender raises it, exit 2); a redirect is not an answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.results import Verdict
from harness.transport import Exchange, Outcome

VALIDATION_STATUSES = frozenset({400, 422})


@dataclass(frozen=True)
class Judgement:
    """A verdict, the reason a person reads, and the control that could have refuted it."""

    verdict: Verdict
    detail: str
    control: str = ""  # the comparison that could have refuted the verdict, where one was made


def _body_problem(exchange: Exchange) -> str | None:
    """A 2xx a client cannot use: a chat completion without choices or messages, an embeddings
    list without vectors."""
    if exchange.chunks:
        return None
    body = exchange.json
    path = exchange.url.rstrip("/")
    if path.endswith("chat/completions"):
        choices = body.get("choices") if isinstance(body, dict) else None
        if not isinstance(choices, list) or not choices:
            return "no choices in the body"
        if not all(isinstance(c, dict) and isinstance(c.get("message"), dict) for c in choices):
            return "a choice without a message object"
    elif path.endswith("embeddings"):
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not data:
            return "no data in the embeddings body"
        if not all(isinstance(d, dict) and "embedding" in d for d in data):
            return "an item without an embedding"
    return None


@dataclass(frozen=True)
class InBandError:
    """An error sent inside a 2xx: an ``event: error`` frame, a chunk carrying ``error``, or a
    non-streamed body that is an error envelope. The SDK raises ``APIError`` on the first two."""

    message: str
    code: object
    where: str

    def describe(self) -> str:
        code = f"code {self.code!r}" if self.code is not None else "no code"
        return f"an error inside the 200: {self.message!r} ({code}), {self.where}"


def _error_of(data: object) -> tuple[str, object]:
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        message, code = error.get("message"), error.get("code")
        return (message if isinstance(message, str) and message else "(no message)"), code
    return (error if isinstance(error, str) and error else "(no message)"), None


def in_band_error(exchange: Exchange) -> InBandError | None:
    """The error a 2xx carries, where it came; None for an ordinary reply."""
    if not exchange.ok:
        return None
    if exchange.chunks:
        total = len(exchange.chunks)
        for i, chunk in enumerate(exchange.chunks):
            framed = i in exchange.error_events
            if not framed and not (isinstance(chunk, dict) and chunk.get("error")):
                continue
            message, code = _error_of(chunk)
            how = "an event: error frame" if framed else "a chunk carrying error"
            return InBandError(message, code, f"in {how}, chunk {i + 1} of {total} (after {i} chunks of reply)")
        return None
    body = exchange.json
    if isinstance(body, dict) and body.get("error"):
        message, code = _error_of(body)
        beside = "beside choices" if "choices" in body else "the whole body, no choices"
        return InBandError(message, code, f"in the non-streamed body ({beside})")
    return None


def unusable(exchange: Exchange) -> Judgement | None:
    """Verdicts that do not depend on the documentation: nothing to judge, or a broken answer.
    (Where replay found nothing, the record builder adds how to record it: ``engine.build_record``.)"""
    if exchange.outcome is Outcome.NOT_RECORDED:
        return Judgement(Verdict.NOT_RECORDED, "no recorded interaction")
    if exchange.outcome is Outcome.TRANSPORT_ERROR:
        return Judgement(Verdict.TRANSPORT_ERROR, exchange.error)
    status = exchange.status or 0
    if 300 <= status < 400:
        return Judgement(
            Verdict.TRANSPORT_ERROR,
            f"HTTP {status}: a redirect is not an answer (the harness does not follow redirects; "
            "point base_url at the final address)",
        )
    if status == 429:
        return Judgement(Verdict.INCONCLUSIVE, f"rate limited (429) after {exchange.attempts} attempts")
    if exchange.server_error:
        return Judgement(Verdict.SERVER_ERROR, f"HTTP {status}: {exchange.excerpt(160)}")
    if exchange.ok:
        error = in_band_error(exchange)
        if error is not None:
            return Judgement(Verdict.SERVER_ERROR, f"HTTP {status} carrying {error.describe()}")
        problems = list(exchange.problems)
        shape = _body_problem(exchange) if not problems else None
        if shape:
            problems.append(shape)
        if problems:
            return Judgement(Verdict.SERVER_ERROR, f"HTTP {status} with an unusable body: {'; '.join(problems)}")
    return None


def is_validation_refusal(exchange: Exchange, statuses: Iterable[int] = VALIDATION_STATUSES) -> bool:
    return exchange.client_error and exchange.status in frozenset(statuses)


def probe_failure(exchanges: Iterable[Exchange]) -> Judgement | None:
    """The first exchange of a probe that did not succeed decides: probes send only values the
    surface documents as valid, so a validation refusal is OVER_STRICT; another 4xx is no
    statement about the value at all."""
    for exchange in exchanges:
        fixed = unusable(exchange)
        if fixed is not None:
            return fixed
        if is_validation_refusal(exchange):
            return Judgement(
                Verdict.OVER_STRICT,
                f"HTTP {exchange.status} for a documented-valid probe: {exchange.excerpt(160)}",
            )
        if exchange.client_error:
            return Judgement(
                Verdict.INCONCLUSIVE,
                f"HTTP {exchange.status} is not a validation refusal, so it says nothing about the value: "
                f"{exchange.excerpt(160)}",
            )
    return None


def text_of(exchange: Exchange) -> str | None:
    """The generated text, or None when there is none to compare (null, empty, no choices)."""
    text = exchange.content()
    return text if text else None


# What a tokenizer may leave at the end of a cut-short text that the longer text renders
# otherwise: half of a multi-byte character (U+FFFD) and whitespace.
_UNSETTLED_TAIL = "\ufffd \t\n\r"


def extends(short: str | None, longer: str | None, strictly: bool = False) -> bool:
    """Does ``longer`` continue ``short``, as the same generation run further would? The
    settled part of ``short`` (without a trailing half character or whitespace) must be a
    non-empty prefix of ``longer``; ``strictly``: and ``longer`` must go on past it."""
    if short is None or longer is None:
        return False
    settled = short.rstrip(_UNSETTLED_TAIL)
    grew = len(longer.rstrip(_UNSETTLED_TAIL)) > len(settled)
    return bool(settled) and longer.startswith(settled) and (grew or not strictly)


def finish_reason(exchange: Exchange) -> object:
    body = exchange.json if isinstance(exchange.json, dict) else {}
    choices = body.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    return first.get("finish_reason") if isinstance(first, dict) else None


def names_param(message: str, error_param: object, name: str) -> bool:
    """Does an error name the parameter: its ``param`` field, or the name as a whole word
    ("Invalid request" does not name ``n``; "n must be at most 8" does)."""
    if isinstance(error_param, str) and error_param.split(".")[-1] == name:
        return True
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", message) is not None


def quote(text: str | None, limit: int = 60) -> str:
    if text is None:
        return "(no content)"
    return repr(text if len(text) <= limit else text[:limit] + "...")
