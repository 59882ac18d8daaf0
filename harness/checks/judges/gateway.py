"""Judges of the through-gateway differential: what a gateway does to a parameter on its way
to the upstream (``PASSED``, ``DROPPED``, ``CLAMPED``, ``TRANSLATED``, ``ADDED``, ``REFUSED``,
``BROKEN``).

The same probe goes through the gateway and directly to the upstream. Each verdict comes from
one of two kinds of evidence, and says which:

- **the body the gateway forwarded** (the recording tap between the gateway and the upstream,
  where the harness launches the upstream): the parameter is there as sent, missing, at a
  bound, under another name or value, or there although it was not sent. This decides even
  where the output cannot (a clamp of ``top_p`` 1.5 to 1 changes no text on a small model).
- **the effect**: the through output equals the direct output with the value (PASSED), without
  it (DROPPED), at the bound (CLAMPED) or under another parameter (TRANSLATED). Each needs its
  controls: the plain request through the gateway equals it direct (the gateway changes nothing
  by itself), and the direct pair differs (with and without the value: otherwise a drop could
  not have been seen). The reference matched must be the only one equal to the through
  output, or nothing is decided.

Statuses are compared before either: a 4xx where the upstream accepts is REFUSED; a 5xx, an
unusable body, or an error body that is not an OpenAI error envelope where the upstream sends
one is BROKEN.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from harness.checks.judges.outcome import Judgement, quote, text_of, unusable
from harness.results import Verdict
from harness.transport import Exchange
from harness.transport.tap import Forwarded

NO_BOUND: Final = object()
# Keys a gateway rewrites by design: the model name it maps to the upstream's.
ROUTING_KEYS = frozenset({"model"})


@dataclass(frozen=True, kw_only=True)
class Passage:
    """One parameter's probe: through the gateway and direct, with and without the value.

    ``through``/``forwarded``: the request with ``param=value`` sent to the gateway, and what
    the tap saw it forward (None: no tap); ``through_without``/``forwarded_without``: the same
    request without the parameter. ``direct``/``direct_without``: both sent to the upstream.
    ``direct_bound``: the upstream at ``bound`` (a clamp's target), where the value has one;
    ``translations``: the upstream under another parameter or value each, by name
    (``"top_k=1"``), for a TRANSLATED by effect."""

    param: str
    value: Any
    sent: dict[str, Any]  # the body sent to the gateway with the value
    sent_without: dict[str, Any]  # and without it
    through: Exchange
    through_without: Exchange
    direct: Exchange
    direct_without: Exchange
    forwarded: Forwarded | None = None
    forwarded_without: Forwarded | None = None
    bound: Any = NO_BOUND
    direct_bound: Exchange | None = None
    translations: Mapping[str, Exchange] = field(default_factory=dict)


def is_error_envelope(exchange: Exchange) -> bool:
    """An OpenAI error envelope: JSON ``{"error": {"message": "..."}}`` (what the SDK reads)."""
    body = exchange.json
    if not isinstance(body, dict) or "json" not in exchange.content_type.lower():
        return False
    error = body.get("error")
    return isinstance(error, dict) and isinstance(error.get("message"), str)


def _shown(exchange: Exchange) -> str:
    return f"HTTP {exchange.status} ({exchange.content_type or 'no content type'}): {exchange.excerpt(120)}"


def judge_status(through: Exchange, direct: Exchange, what: str) -> Judgement | None:
    """Statuses and error envelopes compared: a verdict where they decide, else None (both
    answered 2xx, or the gateway 2xx where the upstream refused: the body must tell why)."""
    problem = unusable(direct)
    if problem is not None and problem.verdict in (Verdict.NOT_RECORDED, Verdict.TRANSPORT_ERROR):
        return problem
    if direct.server_error or problem is not None:
        why = problem.detail if problem else _shown(direct)
        return Judgement(Verdict.INCONCLUSIVE, f"{what}: the upstream itself does not answer usably ({why})")
    failure = unusable(through)
    if failure is not None and failure.verdict in (Verdict.NOT_RECORDED, Verdict.TRANSPORT_ERROR):
        return failure
    if through.server_error or failure is not None:
        why = failure.detail if failure else _shown(through)
        return Judgement(
            Verdict.BROKEN,
            f"{what}: through the gateway {why}",
            f"the upstream answers the same request with HTTP {direct.status}",
        )
    if through.client_error and direct.ok:
        return Judgement(
            Verdict.REFUSED,
            f"{what}: the gateway refuses it, {_shown(through)}",
            f"the upstream accepts the same request (HTTP {direct.status})",
        )
    if through.client_error and direct.client_error:
        if is_error_envelope(direct) and not is_error_envelope(through):
            return Judgement(
                Verdict.BROKEN,
                f"{what}: refused through the gateway with an error body no OpenAI client reads: {_shown(through)}",
                f"the upstream refuses it with an OpenAI error envelope (HTTP {direct.status})",
            )
        return Judgement(
            Verdict.PASSED,
            f"{what}: refused through the gateway as directly (HTTP {through.status}, direct {direct.status})",
            "both error bodies compared: an OpenAI error envelope each, or neither",
        )
    return None


def _same(a: Any, b: Any) -> bool:
    """JSON equality (1 and 1.0 are one number, as a JSON reader sees them)."""
    return bool(json.loads(json.dumps(a)) == json.loads(json.dumps(b)))


def forwarded_fate(
    sent: dict[str, Any],
    param: str,
    value: Any,
    forwarded: dict[str, Any],
    bound: Any,
    forwarded_without: dict[str, Any] | None = None,
) -> Judgement:
    """What the forwarded body shows of ``param``: there as sent, at the bound, another value,
    under other keys, or missing. Other keys: those not sent that the request without the
    parameter was not forwarded with (so the value brought them), or, with no such request to
    compare, those that carry the value itself."""
    evidence = "the body the gateway forwarded (recording tap)"
    if param in forwarded:
        got = forwarded[param]
        if _same(got, value):
            return Judgement(Verdict.PASSED, f"{param}={value!r} forwarded as sent", evidence)
        if bound is not NO_BOUND and _same(got, bound):
            return Judgement(Verdict.CLAMPED, f"{param}={value!r} forwarded as {got!r}, its bound", evidence)
        return Judgement(Verdict.TRANSLATED, f"{param}={value!r} forwarded as {param}={got!r}", evidence)
    new = {k: v for k, v in forwarded.items() if k not in sent and k not in ROUTING_KEYS}
    if forwarded_without is not None:
        evidence += ", beside the body forwarded for the request without it"
        carried = {k: v for k, v in new.items() if k not in forwarded_without or not _same(forwarded_without[k], v)}
    else:
        carried = {k: v for k, v in new.items() if _same(v, value) or (isinstance(value, dict) and k in value)}
    if carried:
        names = ", ".join(f"{k}={v!r}" for k, v in sorted(carried.items()))
        return Judgement(Verdict.TRANSLATED, f"{param}={value!r} forwarded as {names}", evidence)
    return Judgement(Verdict.DROPPED, f"{param}={value!r} sent; the forwarded body has no {param!r}", evidence)


def _text(exchange: Exchange | None) -> str | None:
    return text_of(exchange) if exchange is not None and exchange.ok else None


def effect_note(passage: Passage) -> str:
    """The effect beside a verdict by body: which direct output the through output equals."""
    through = _text(passage.through)
    if through is None:
        return "no output to compare"
    refs = _references(passage)
    equal = [name for name, text in refs.items() if text == through]
    if not equal:
        return "the through output equals no direct output"
    distinct = _text(passage.direct) != _text(passage.direct_without)
    tail = "" if distinct else " (the direct pair does not differ: the effect cannot tell these apart here)"
    return f"the through output equals the direct output {' and '.join(equal)}{tail}"


def _references(passage: Passage) -> dict[str, str | None]:
    refs: dict[str, str | None] = {
        f"with {passage.param}={passage.value!r}": _text(passage.direct),
        f"without {passage.param}": _text(passage.direct_without),
    }
    if passage.direct_bound is not None:
        refs[f"at the bound {passage.bound!r}"] = _text(passage.direct_bound)
    for name, exchange in passage.translations.items():
        refs[f"with {name}"] = _text(exchange)
    return refs


def judge_passage(passage: Passage) -> Judgement:
    """What the gateway does to ``passage.param`` (see the module docstring)."""
    what = f"{passage.param}={passage.value!r}"
    decided = judge_status(passage.through, passage.direct, what)
    if decided is not None:
        return decided
    injected = _injected(passage)
    if injected is not None:
        return injected
    if passage.forwarded is not None:
        body = passage.forwarded.body
        if body is None:
            return Judgement(
                Verdict.INCONCLUSIVE,
                f"{what}: the tap saw no chat request forwarded for it (answered by the gateway itself?)",
            )
        without = passage.forwarded_without.body if passage.forwarded_without is not None else None
        fate = forwarded_fate(passage.sent, passage.param, passage.value, body, passage.bound, without)
        return Judgement(fate.verdict, f"{fate.detail}; {effect_note(passage)}", fate.control)
    return _by_effect(passage, what)


def _injected(passage: Passage) -> Judgement | None:
    """ADDED by body: the request without the parameter was forwarded with it."""
    if passage.forwarded_without is None or passage.forwarded_without.body is None:
        return None
    body = passage.forwarded_without.body
    if passage.param not in body or passage.param in passage.sent_without:
        return None
    harmless = _text(passage.through_without) == _text(passage.direct_without) is not None
    effect = (
        "the through output equals the direct one without it (harmless to this output)"
        if harmless
        else "the through output differs from the direct one without it"
    )
    return Judgement(
        Verdict.ADDED,
        f"{passage.param} not sent; forwarded as {passage.param}={body[passage.param]!r}; {effect}",
        "the body the gateway forwarded for the request without it (recording tap)",
    )


def _by_effect(passage: Passage, what: str) -> Judgement:
    through, direct, without = _text(passage.through), _text(passage.direct), _text(passage.direct_without)
    plain_through = _text(passage.through_without)
    if None in (through, without, plain_through):
        return Judgement(Verdict.INCONCLUSIVE, f"{what}: no generated text to compare (and no tap to read)")
    if plain_through != without:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"{what}: the plain request through the gateway ({quote(plain_through)}) differs from it direct "
            f"({quote(without)}): the gateway changes the output by itself, so no effect can be credited",
        )
    if direct is None and passage.direct.ok:
        return Judgement(Verdict.INCONCLUSIVE, f"{what}: the direct request with the value has no text")
    if direct == without and passage.direct.ok:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"{what}: directly, the upstream's output is the same with and without it ({quote(direct)}), so a "
            "gateway that drops it and one that passes it look alike; only the forwarded body could tell",
        )
    refs = {name: text for name, text in _references(passage).items() if text is not None}
    # A reference that equals another tells nothing apart: only distinct ones may match.
    distinct = {name: text for name, text in refs.items() if list(refs.values()).count(text) == 1}
    matched = [name for name, text in distinct.items() if text == through]
    control = "the plain request is the same through and direct; the direct pair differs"
    if not matched:
        ambiguous = [name for name, text in refs.items() if text == through]
        why = f"equals several direct outputs ({', '.join(ambiguous)})" if ambiguous else "equals no direct output"
        return Judgement(Verdict.INCONCLUSIVE, f"{what}: the through output {quote(through)} {why}")
    name = matched[0]
    if name.startswith("with ") and name.endswith(f"{passage.param}={passage.value!r}"):
        verdict, detail = Verdict.PASSED, "the through output equals the direct output with it"
    elif name.startswith("without "):
        verdict, detail = Verdict.DROPPED, "the through output equals the direct output without it"
    elif name.startswith("at the bound"):
        verdict, detail = Verdict.CLAMPED, f"the through output equals the direct output {name}"
    else:
        verdict, detail = Verdict.TRANSLATED, f"the through output equals the direct output {name}"
    return Judgement(verdict, f"{what}: {detail} ({quote(through)})", control)


@dataclass(frozen=True, kw_only=True)
class PlainPassage:
    """The plain request (no parameter under test) through the gateway, what it forwarded, and
    the same request direct."""

    sent: dict[str, Any]
    through: Exchange
    forwarded: Forwarded | None
    direct: Exchange
    watch: str | None = None  # judge this key alone (``stream_options`` on a streamed request)


def judge_injected(passage: PlainPassage) -> Judgement:
    """Keys the gateway adds to (or changes in) every request (or the one key watched), by
    the forwarded body; the effect says whether they change this output."""
    decided = judge_status(passage.through, passage.direct, "the plain request")
    if decided is not None:
        return decided
    same = _text(passage.through) == _text(passage.direct) is not None
    effect = "the output equals the direct one" if same else "the output differs from the direct one"
    if passage.forwarded is None or passage.forwarded.body is None:
        why = "no tap between the gateway and the upstream" if passage.forwarded is None else "nothing forwarded"
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"what the gateway adds is in the forwarded body only ({why}); {effect}",
        )
    body, sent = passage.forwarded.body, passage.sent
    what = "the plain request"
    if passage.watch is not None:
        key = passage.watch
        body = {key: body[key]} if key in body else {}
        sent = {key: sent[key]} if key in sent else {}
        what = f"{key} on this request"
    added = {k: v for k, v in body.items() if k not in sent and k not in ROUTING_KEYS}
    changed = {k: v for k, v in body.items() if k in sent and k not in ROUTING_KEYS and not _same(v, sent[k])}
    missing = sorted(k for k in sent if k not in body and k not in ROUTING_KEYS)
    evidence = "the body the gateway forwarded for the plain request (recording tap)"
    if added:
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(added.items()))
        return Judgement(Verdict.ADDED, f"added to {what}: {shown}; {effect}", evidence)
    if changed or missing:
        parts = [f"{k}: {sent[k]!r} -> {v!r}" for k, v in sorted(changed.items())]
        parts += [f"{k} dropped" for k in missing]
        verdict = Verdict.TRANSLATED if changed else Verdict.DROPPED
        return Judgement(verdict, f"{what} forwarded changed: {'; '.join(parts)}; {effect}", evidence)
    return Judgement(Verdict.PASSED, f"{what} forwarded as sent, nothing added; {effect}", evidence)


def _finishes(exchange: Exchange) -> dict[int, list[object]]:
    """Each choice index of a stream with the finish reasons its frames gave it."""
    found: dict[int, list[object]] = {}
    for chunk in exchange.chunks:
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        for item in choices if isinstance(choices, list) else []:
            if not isinstance(item, dict):
                continue
            index = item.get("index", 0)
            reasons = found.setdefault(index if isinstance(index, int) else -1, [])
            if item.get("finish_reason") is not None:
                reasons.append(item["finish_reason"])
    return found


def _stream_problems(exchange: Exchange, n: int) -> list[str]:
    if not exchange.chunks:
        return ["no stream frames"]
    finishes, problems = _finishes(exchange), []
    for index in range(n):
        reasons = finishes.get(index)
        if reasons is None:
            problems.append(f"choice {index} never appears")
        elif not reasons:
            problems.append(f"choice {index} never ends (no finish_reason)")
        elif len(reasons) > 1:
            problems.append(f"choice {index} ends {len(reasons)} times ({reasons})")
    return problems


@dataclass(frozen=True, kw_only=True)
class StreamPassage:
    """The same streamed request (``n`` choices) through the gateway and direct."""

    through: Exchange
    direct: Exchange
    n: int


def judge_stream_passage(passage: StreamPassage) -> Judgement:
    """A stream through the gateway must be one a client can read as it reads the direct one:
    every choice present and ended once, the same text per choice, ``[DONE]`` where the
    upstream sends it."""
    what = f"stream=true, n={passage.n}"
    decided = judge_status(passage.through, passage.direct, what)
    if decided is not None:
        return decided
    upstream = _stream_problems(passage.direct, passage.n)
    if upstream:
        return Judgement(
            Verdict.INCONCLUSIVE, f"{what}: the upstream's own stream is not whole ({'; '.join(upstream)})"
        )
    problems = _stream_problems(passage.through, passage.n)
    if passage.direct.stream_done and not passage.through.stream_done:
        problems.append("no data: [DONE]")
    control = "the upstream's stream of the same request: every choice ended once, [DONE] sent"
    if problems:
        return Judgement(Verdict.BROKEN, f"{what}: through the gateway {'; '.join(problems)}", control)
    texts = [(passage.through.content(i), passage.direct.content(i)) for i in range(passage.n)]
    differ = [i for i, (through, direct) in enumerate(texts) if through != direct]
    if differ:
        shown = ", ".join(f"choice {i}: {quote(texts[i][0])} vs {quote(texts[i][1])}" for i in differ)
        return Judgement(Verdict.INCONCLUSIVE, f"{what}: whole, but the text differs from direct ({shown})")
    return Judgement(Verdict.PASSED, f"{what}: every choice whole and equal to the direct stream", control)


@dataclass(frozen=True, kw_only=True)
class KeyPassage:
    """The plain request to a gateway that needs a key: with its key (the control), and with
    none or a wrong one (``how``)."""

    keyed: Exchange
    refused: Exchange
    how: str  # "no key", "a wrong key"


def judge_credentials(passage: KeyPassage) -> Judgement:
    """A missing or wrong key must be a 401 with an OpenAI error envelope (what the SDK reads as
    ``AuthenticationError``); a 400 or a 500 there is read as another error entirely."""
    what = f"the plain request with {passage.how}"
    failure = unusable(passage.keyed)
    if failure is not None or not passage.keyed.ok:
        why = failure.detail if failure else _shown(passage.keyed)
        return Judgement(Verdict.INCONCLUSIVE, f"{what}: the same request with the key fails too ({why})")
    refused = passage.refused
    broken = unusable(refused)
    if broken is not None and broken.verdict in (Verdict.NOT_RECORDED, Verdict.TRANSPORT_ERROR):
        return broken
    control = "the same request with the gateway's key answers 200; OpenAI answers 401 for a missing or wrong key"
    if refused.ok:
        return Judgement(Verdict.INCONCLUSIVE, f"{what}: answered {refused.status}: this gateway checks no key")
    if refused.status == 401 and is_error_envelope(refused):
        return Judgement(Verdict.PASSED, f"{what}: HTTP 401 with an OpenAI error envelope", control)
    return Judgement(
        Verdict.BROKEN, f"{what}: {_shown(refused)} where a 401 with an OpenAI error envelope belongs", control
    )
