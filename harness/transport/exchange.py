"""One request and what came back: the unit of evidence every check works from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.transport.failures import TransportFailure


class Outcome(StrEnum):
    """How an exchange ended, before any judgement of the provider."""

    RESPONSE = "response"  # an HTTP status came back (any status)
    TRANSPORT_ERROR = "transport_error"  # no usable HTTP response: refused, reset, timed out
    NOT_RECORDED = "not_recorded"  # replay found no interaction for this request


@dataclass(slots=True)  # a run keeps every exchange it may share (engine.DedupingSender): no dict each
class Exchange:
    """A request and its response (or the reason there is none)."""

    method: str
    url: str
    body: dict[str, Any]
    outcome: Outcome
    status: int | None = None
    content_type: str = ""
    json: Any = None  # the parsed body (non-streamed), if it parsed
    text: str = ""  # the body as text, capped (see ClientSettings.max_body_bytes)
    chunks: list[Any] = field(default_factory=list)  # parsed SSE data events (stream: true)
    stream_done: bool = False  # the SSE stream ended with "data: [DONE]"
    error_events: list[int] = field(default_factory=list)  # indices in chunks sent as "event: error"
    problems: list[str] = field(default_factory=list)  # malformed JSON, wrong content type, ...
    error: str = ""  # the transport error, for TRANSPORT_ERROR (evidence: its text)
    failure: TransportFailure | None = None  # its kind, for TRANSPORT_ERROR (what the retries read)
    attempts: int = 1
    waited_s: float = 0.0  # backoff slept between attempts (Retry-After when given)
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.RESPONSE and self.status is not None and 200 <= self.status < 300

    @property
    def client_error(self) -> bool:
        return self.outcome is Outcome.RESPONSE and self.status is not None and 400 <= self.status < 500

    @property
    def server_error(self) -> bool:
        return self.outcome is Outcome.RESPONSE and self.status is not None and self.status >= 500

    def content(self, choice: int = 0) -> str | None:
        """The assistant text of one choice, reassembled from deltas when streamed. Reads any
        shape a provider sends without raising: what is not text is no text."""
        if self.chunks:
            parts: list[str] = []
            for chunk in self.chunks:
                choices = chunk.get("choices") if isinstance(chunk, dict) else None
                for item in choices if isinstance(choices, list) else []:
                    if not isinstance(item, dict) or item.get("index", 0) != choice:
                        continue
                    delta = item.get("delta")
                    text = delta.get("content") if isinstance(delta, dict) else None
                    if isinstance(text, str):
                        parts.append(text)
            return "".join(parts)
        body = self.json if isinstance(self.json, dict) else {}
        choices = body.get("choices")
        if not isinstance(choices, list) or not 0 <= choice < len(choices) or not isinstance(choices[choice], dict):
            return None
        message = choices[choice].get("message")
        content = message.get("content") if isinstance(message, dict) else None
        return content if isinstance(content, str) else None

    def excerpt(self, limit: int = 600) -> str:
        return self.text if len(self.text) <= limit else self.text[:limit] + f"... ({len(self.text)} chars)"

    @property
    def raw(self) -> bytes:
        """The body's bytes as received (cassettes store the body as text; a body that was not
        UTF-8 is already a problem of the exchange, and its replaced text is what is kept)."""
        return self.text.encode("utf-8", errors="surrogatepass")

    def to_json(self, full: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "method": self.method,
            "url": self.url,
            "request": self.body,
            "outcome": self.outcome.value,
            "status": self.status,
            "content_type": self.content_type,
            "response": self.json if self.json is not None else None,
            "response_excerpt": self.excerpt(4000 if full else 600),
            "problems": self.problems,
            "error": self.error,
            "attempts": self.attempts,
            "waited_s": round(self.waited_s, 3),
            "elapsed_ms": round(self.elapsed_ms, 1),
        }
        if self.chunks:
            data["chunks"] = len(self.chunks)
            data["stream_done"] = self.stream_done
            if self.error_events:
                data["error_events"] = self.error_events
            data["streamed_content"] = self.content()
        return data
