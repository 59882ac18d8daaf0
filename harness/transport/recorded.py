"""An exchange from a recorded body (status, content type, bytes), read exactly as the client
reads a live or replayed one: the corpus of hosted bodies in the tests and the benchmark."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.transport.client import _decode, _parse_body
from harness.transport.exchange import Exchange, Outcome


def exchange_from_body(
    status: int,
    content_type: str,
    body: bytes,
    request: dict[str, Any] | None = None,
    url: str = "http://recorded.invalid/v1/chat/completions",
) -> Exchange:
    """The exchange the client would have made of this answer to ``request`` (a stream when the
    request says ``stream: true``)."""
    request = request if request is not None else {}
    exchange = Exchange("POST", url, request, Outcome.RESPONSE, status=status, content_type=content_type)
    _decode(exchange, bytearray(body), len(body) + 1, "")
    _parse_body(exchange, streamed=request.get("stream") is True)
    return exchange


@dataclass(frozen=True)
class RecordedBody:
    """One body of a folder of recordings (``MANIFEST.json``: file, provider, status, kind,
    framing, content_type where recorded), as the client reads it."""

    entry: dict[str, Any]
    exchange: Exchange

    @property
    def framing(self) -> str:
        return str(self.entry.get("framing", "json"))


def recorded_bodies(folder: Path) -> list[RecordedBody]:
    """Every body of ``folder``: JSON bodies as sent, SSE as streamed; chunk-lines (one chunk JSON
    per line, how some projects store a stream) as the frames they were, without a ``[DONE]``
    (whether one came was not recorded)."""
    bodies = []
    for entry in json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8")):
        raw = (folder / entry["file"]).read_bytes()
        framing = entry.get("framing", "json")
        if framing == "chunk-lines":
            raw = b"".join(b"data: " + line + b"\n\n" for line in raw.splitlines() if line.strip())
        streamed = framing != "json"
        content_type = entry.get("content_type") or ("text/event-stream" if streamed else "application/json")
        # The request is not recorded: a stream is taken to have asked for usage (include_usage).
        stream = {"stream": True, "stream_options": {"include_usage": True}} if streamed else {}
        request = {"model": entry.get("model", "recorded"), "messages": []} | stream
        bodies.append(
            RecordedBody(entry, exchange_from_body(int(entry.get("status", 200)), content_type, raw, request))
        )
    return bodies
