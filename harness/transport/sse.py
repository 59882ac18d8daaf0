"""Server-sent events, as OpenAI-compatible servers stream chat completions, framed as the
WHATWG specification says, by the official OpenAI SDK's own decoder (``openai._streaming``):
what the harness reads is what the SDK's users read. Comment lines (``: OPENROUTER
PROCESSING``), ``event:``/``id:``/``retry:`` fields, LF, CRLF and CR line endings; a leading
byte-order mark is dropped (the specification's decoding step; the SDK leaves it on the first
field name); a last event without its blank line is not dispatched (the specification's rule,
and the SDK's), so a stream cut there lost it: a problem, unless it was ``[DONE]``.

A missing ``data: [DONE]`` is no problem of the body: the SDK reads until the connection
closes. The response-letter check reports it by kind."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.jsoncodec import loads

if TYPE_CHECKING:
    from openai._streaming import SSEDecoder

_BOM = "\ufeff"


@dataclass
class SSEResult:
    events: list[Any] = field(default_factory=list)
    done: bool = False  # saw the "[DONE]" terminator
    problems: list[str] = field(default_factory=list)
    error_events: list[int] = field(default_factory=list)  # indices in events of ``event: error`` frames
    comments: int = 0  # comment lines (keep-alives), counted for the evidence


def _decoder() -> SSEDecoder:
    # Imported when a stream is first read: importing the SDK's streaming module imports the
    # whole SDK (every API type), which a run reading no stream (a plan, a report, a replay of
    # plain answers) has no use for.
    from openai._streaming import SSEDecoder

    return SSEDecoder()


def parse_sse(raw: str) -> SSEResult:
    """Split a complete SSE body into its JSON data events."""
    result = SSEResult()
    decoder = _decoder()
    text = raw.removeprefix(_BOM)
    for sse in decoder.iter_bytes(iter([text.encode("utf-8", errors="surrogatepass")])):
        data = sse.data
        if not data:
            continue  # an event without data (id:, retry: or event: alone): nothing to read
        if data.startswith("[DONE]"):  # the SDK stops at it too
            result.done = True
            break
        try:
            result.events.append(loads(data))
        except json.JSONDecodeError:
            result.problems.append(f"malformed SSE event: {data[:80]!r}")
            continue
        if sse.event == "error":
            result.error_events.append(len(result.events) - 1)
    result.comments = sum(1 for line in text.splitlines() if line.startswith(":"))
    if not result.done:
        tail = _pending_data(text)
        if tail == "[DONE]":
            result.done = True  # "data: [DONE]" and one newline: nothing lost
        elif tail:
            result.problems.append(f"SSE stream truncated mid-event (not dispatched): {tail[:80]!r}")
    return result


def _pending_data(text: str) -> str:
    """The data of a last event the stream ended before dispatching (no blank line after it)."""
    for end in ("\r\n", "\n", "\r"):
        if text.endswith(end):
            rest = text[: -len(end)]
            if not rest or rest.endswith(("\n", "\r")):
                return ""
            break
    data: list[str] = []
    for line in reversed(text.splitlines()):
        if not line:
            break
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value.removeprefix(" "))
    return "\n".join(reversed(data))
