"""The letter, by kind: each way a body departs from OpenAI's documented schema
(``responses/<name>.letter.schema.json`` and what a schema cannot say: ``[DONE]``, where usage
may come, integers that fit in 64 bits, vendor fields), named, with whether the OpenAI SDK
tolerates it (reads it without raising and gives clients the types they rely on).

Calibrated on the reference: a kind that api.openai.com's own recorded bodies show
(``REFERENCE_DOES``, each with the recording it was seen in, tests/data/hosted/openai/) is "the
reference does this too", never a failure. Vendor fields are listed, for information.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from harness.schema import response_schema
from harness.transport import Exchange


@dataclass(frozen=True)
class Kind:
    name: str
    what: str
    tolerated: bool  # the OpenAI SDK reads it and gives clients the types they rely on
    failing: bool = True  # False: reported only (the documentation makes it optional, or vendor fields)


KINDS = {
    kind.name: kind
    for kind in (
        Kind("no-done", "the stream ends without data: [DONE] (the SDK reads until the connection closes)", True),
        Kind("finish-reason", "finish_reason outside OpenAI's enum", True),
        Kind("header", "object, id, created or model missing, empty or not the documented value", True),
        Kind("tool-calls-null", "tool_calls: null (documented: a list, or no key)", True),
        Kind("content-not-string", "content parts or an object where a string is documented", False),
        Kind("role", "a role other than the documented one", False),
        Kind("role-null", "role: null (documented: a role, or no key)", True),
        Kind("no-content", "a message without content (documented as required, nullable)", True),
        Kind("usage-early", "usage on a chunk that is not the last (choices follow it)", True),
        Kind("usage-unasked", "usage in a stream that did not ask for it (stream_options.include_usage)", True),
        Kind("usage", "usage without its documented token counts", True),
        Kind("no-refusal", "a message without refusal (documented as required, nullable)", True),
        Kind("no-logprobs", "a choice without logprobs (documented as required, nullable)", True),
        Kind("no-system-fingerprint", "no system_fingerprint (documented as optional)", True, failing=False),
        Kind("error-code-type", "an error code that is an integer (documented: a string or null)", True),
        Kind("error-fields", "an error without param, code or type", True),
        Kind("error-not-enveloped", 'an error not wrapped in {"error": ...}', True),
        Kind("int64", "an integer that does not fit in 64 bits (clients in typed languages overflow)", True),
        Kind("other", "another departure from the documented schema", True),
        # The stream spec: what holds across the frames of one stream.
        Kind("stream-header-varies", "id, model, created or object not constant across the frames", True),
        Kind("role-repeated", "a role in a delta after the first of its choice", True),
        Kind("finish-reason-count", "finish_reason not exactly once per choice index", True),
        Kind("tool-call-index", "tool-call deltas whose index does not start at 0 (or has gaps)", True),
        Kind(
            "tool-call-fragments",
            "a tool call's id or name again after its first fragment (the SDK's stream helper concatenates them)",
            False,
        ),
        Kind("utf8-split", "a character split across frames that does not reassemble (U+FFFD)", True),
        Kind("vendor", "vendor fields (informational)", True, failing=False),
    )
}

# What api.openai.com itself sends (tests/data/hosted/openai/): never a failure.
REFERENCE_DOES = {
    "no-logprobs": "openai/completion-gpt-5.6-luna.json, openai/completion-o3-mini.json",
}

# OpenAI's documented keys, per place; anything else there is a vendor field.
_DOCUMENTED = {
    # obfuscation and moderation: undocumented, but the reference sends them (stream-*.sse there)
    "top": {"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier"}
    | {"obfuscation", "moderation"},
    "choice": {"index", "message", "delta", "finish_reason", "logprobs"},
    "message": {"role", "content", "refusal", "tool_calls", "annotations", "audio", "function_call"},
    "usage": {
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
    },
}
_INT64 = (-(2**63), 2**63 - 1)
# An integer past 64 bits has at least 19 digits in the body's text; a body with no such run
# needs no walk of every value (logprobs' byte lists make that walk the letter's costliest part).
_LONG_DIGITS = re.compile(r"\d{19}")
_REQUIRED = re.compile(r"'([^']+)' is a required property")


@dataclass(frozen=True)
class Deviation:
    kind: str
    where: str  # the first place it was seen


def schema_of(exchange: Exchange) -> str | None:
    """Which documented schema a body is held to, or None (no body, not an answer)."""
    if exchange.json is None and not exchange.chunks:
        return None
    if exchange.url.rstrip("/").endswith("/embeddings"):
        return "embedding-list" if exchange.ok else "error-envelope"
    if exchange.ok:
        return "chat-completion-chunk" if exchange.chunks else "chat-completion"
    if exchange.client_error or exchange.server_error:
        return "error-envelope"
    return None


def deviations(exchange: Exchange, schema: str) -> list[Deviation]:
    """Every kind of departure from the letter in one body (each kind once, where first seen)."""
    found: dict[str, str] = {}

    def add(kind: str, where: str) -> None:
        found.setdefault(kind, where)

    bodies = exchange.chunks if schema == "chat-completion-chunk" else [exchange.json]
    validator = response_schema(schema + ".letter")
    long_digits = not exchange.text or _LONG_DIGITS.search(exchange.text) is not None
    for n, body in enumerate(bodies):
        prefix = f"chunk {n}: " if schema == "chat-completion-chunk" else ""
        for error in validator.iter_errors(body):
            path = list(error.absolute_path)
            where = prefix + ("/".join(str(p) for p in path) or "(root)") + f": {error.message}"[:200]
            add(_kind(error.validator, path, error.instance, error.message), where)
        _beyond_schema(body, schema, prefix, add, long_digits)
    if schema == "chat-completion-chunk":
        _stream(exchange, add)
    return [Deviation(kind, where) for kind, where in found.items()]


def _kind(keyword: object, path: list[Any], instance: object, message: str) -> str:
    last = path[-1] if path else None
    if keyword == "required":
        missing = _REQUIRED.search(message)
        name = missing.group(1) if missing else ""
        if path == [] and name == "error":
            return "error-not-enveloped"
        if path == ["error"]:
            return "error-fields" if name in ("param", "code", "type") else "other"
        if path == [] and name in ("id", "object", "created", "model"):
            return "header"
        if name in ("logprobs", "refusal", "content"):
            return "no-" + name
        if name == "finish_reason":
            return "finish-reason"
        if path and path[0] == "usage":
            return "usage"
        return "other"
    if last == "finish_reason":
        return "finish-reason"
    if len(path) == 1 and last in ("object", "id", "created", "model"):
        return "header"
    if last == "tool_calls" and instance is None:
        return "tool-calls-null"
    if last == "content" and isinstance(instance, (list, dict)):
        return "content-not-string"
    if path == ["error", "code"]:
        return "error-code-type"
    if last == "role":
        return "role-null" if instance is None else "role"
    if path and path[0] == "usage":
        return "usage"
    return "other"


def _beyond_schema(body: Any, schema: str, prefix: str, add: Any, long_digits: bool = True) -> None:
    """What the letter schemas do not say: empty ids and zero timestamps, a missing
    system_fingerprint, integers past 64 bits, vendor fields."""
    if not isinstance(body, dict):
        return
    if schema.startswith("chat-completion"):
        if body.get("id") == "" or body.get("created") == 0 or body.get("model") == "":
            add("header", prefix + "id, created or model empty")
        if "system_fingerprint" not in body:
            add("no-system-fingerprint", prefix + "(root)")
        vendor = _vendor(body)
        if vendor:
            add("vendor", prefix + ", ".join(vendor[:12]))
    big = _big_integer(body, "") if long_digits else ""
    if big:
        add("int64", prefix + big)


def _vendor(body: dict[str, Any]) -> list[str]:
    found = [key for key in body if key not in _DOCUMENTED["top"]]
    usage = body.get("usage")
    if isinstance(usage, dict):
        found += [f"usage.{key}" for key in usage if key not in _DOCUMENTED["usage"]]
    choices = body.get("choices")
    for choice in choices if isinstance(choices, list) else []:
        if not isinstance(choice, dict):
            continue
        found += [f"choices[].{key}" for key in choice if key not in _DOCUMENTED["choice"]]
        for place in ("message", "delta"):
            inner = choice.get(place)
            if isinstance(inner, dict):
                found += [f"choices[].{place}.{key}" for key in inner if key not in _DOCUMENTED["message"]]
    return list(dict.fromkeys(found))


def _big_integer(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return f"{where or '(root)'} = {value}" if not _INT64[0] <= value <= _INT64[1] else ""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        found = _big_integer(inner, f"{where}/{key}" if where else str(key))
        if found:
            return found
    return ""


def _stream(exchange: Exchange, add: Any) -> None:
    _stream_spec([c for c in exchange.chunks if isinstance(c, dict)], add)
    if not exchange.stream_done:
        add("no-done", f"after chunk {len(exchange.chunks) - 1}")
    chunks = exchange.chunks
    with_usage = [n for n, c in enumerate(chunks) if isinstance(c, dict) and c.get("usage")]
    with_choices = [n for n, c in enumerate(chunks) if isinstance(c, dict) and c.get("choices")]
    if with_usage and with_choices and with_usage[0] < with_choices[-1]:
        add("usage-early", f"chunk {with_usage[0]} of {len(chunks)}, choices follow in chunk {with_choices[-1]}")
    options = exchange.body.get("stream_options") if isinstance(exchange.body, dict) else None
    asked = isinstance(options, dict) and options.get("include_usage") is True
    if with_usage and not asked:
        add("usage-unasked", f"chunk {with_usage[0]} of {len(chunks)}")


_HEADER = ("id", "model", "created", "object")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _stream_spec(chunks: list[dict[str, Any]], add: Any) -> None:
    """The frames of one stream, together: a constant header, a role only in a choice's first
    delta, finish_reason once per choice, tool-call deltas indexed from 0 with id and name only
    in a call's first fragment, and text that reassembles."""
    first = {key: chunks[0].get(key) for key in _HEADER} if chunks else {}
    roles: dict[object, int] = {}
    finishes: dict[object, int] = {}
    calls: dict[tuple[object, object], int] = {}
    texts: dict[object, list[str]] = {}
    for n, chunk in enumerate(chunks):
        changed = [key for key in _HEADER if chunk.get(key) != first[key]]
        if changed:
            add("stream-header-varies", f"chunk {n}: {', '.join(changed)} differ from chunk 0")
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            given = choice.get("delta")
            delta: dict[str, Any] = given if isinstance(given, dict) else {}
            seen = roles.get(index, 0)
            if delta.get("role") is not None and seen:
                add("role-repeated", f"chunk {n}: choices[{index}].delta.role again")
            roles[index] = seen + 1
            if choice.get("finish_reason") is not None:
                finishes[index] = finishes.get(index, 0) + 1
            if isinstance(delta.get("content"), str):
                texts.setdefault(index, []).append(delta["content"])
            _tool_fragments(n, index, delta.get("tool_calls"), calls, add)
    for index in roles:
        if finishes.get(index, 0) != 1:
            add("finish-reason-count", f"choices[{index}]: finish_reason {finishes.get(index, 0)} times")
    for index, parts in texts.items():
        text = "".join(parts)
        if "\ufffd" in text or _SURROGATE.search(text):
            add("utf8-split", f"choices[{index}]: U+FFFD or a lone surrogate in the reassembled text")


def _tool_fragments(
    n: int, index: object, fragments: object, calls: dict[tuple[object, object], int], add: Any
) -> None:
    for fragment in fragments if isinstance(fragments, list) else []:
        if not isinstance(fragment, dict):
            continue
        position = fragment.get("index")
        if isinstance(position, int):
            known = sorted(p for (i, p) in calls if i == index and isinstance(p, int))
            if (index, position) not in calls and position != (known[-1] + 1 if known else 0):
                add("tool-call-index", f"chunk {n}: choices[{index}] tool call index {position} after {known}")
        key = (index, position)
        given = fragment.get("function")
        function: dict[str, Any] = given if isinstance(given, dict) else {}
        if key in calls and (fragment.get("id") or function.get("name")):
            add("tool-call-fragments", f"chunk {n}: choices[{index}] tool call {position}: id or name again")
        calls[key] = calls.get(key, 0) + 1


def fails(kind: str) -> bool:
    """Does this kind fail the letter (not optional, not something the reference does too)?"""
    return KINDS[kind].failing and kind not in REFERENCE_DOES
