"""Server-sent events, as OpenAI-compatible servers stream chat completions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harness.jsoncodec import loads


@dataclass
class SSEResult:
    events: list[Any] = field(default_factory=list)
    done: bool = False  # saw the "[DONE]" terminator
    problems: list[str] = field(default_factory=list)


def parse_sse(raw: str) -> SSEResult:
    """Split a complete SSE body into its JSON data events (per the WHATWG framing:
    events end at a blank line; multi-line ``data:`` fields join with newlines)."""
    result = SSEResult()
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        data_lines = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if not data_lines:
            continue
        data = "\n".join(data_lines)
        if data == "[DONE]":
            result.done = True
            continue
        try:
            result.events.append(loads(data))
        except json.JSONDecodeError:
            result.problems.append(f"malformed SSE event: {data[:80]!r}")
    if not raw.endswith("\n\n") and raw.strip():
        result.problems.append("SSE stream truncated mid-event")
    if not result.done:
        result.problems.append("SSE stream ended without the [DONE] terminator")
    return result
