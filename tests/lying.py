"""A fault-injecting ("lying") OpenAI-compatible provider for the property tests (test code only).

It wraps ``tests.synthetic.SyntheticProvider``, which generates honestly, and then lies in the
ways described by a ``Lie``: text that does not come from the sampler (a constant, null, a
function of the request bytes as a response cache gives, noise), a JSON mode that answers
``42``, one status for every request (a refused key, a redirect, a missing model), or a 200
whose body no client can use. A lie either post-processes the honest ``httpx.Response`` or
short-circuits it; the honest sampler never needs to know.

Only non-streamed chat bodies have their text rewritten: the property tests do not probe
``stream``, and an SSE body keeps its honest deltas (a mismatch the stream judge must call
inconclusive, never honoured).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from tests.synthetic import WORDS, Behaviour, SyntheticProvider, tool_calls

TextLie = Literal["honest", "constant", "null", "null-when-extra", "hash", "random"]
StatusLie = Literal[401, 403, 404, 302, 301, 405, 418] | None
BodyLie = Literal["ok", "no-choices", "non-utf8", "not-json", "error-in-200"]
JsonModeLie = Literal["honest", "always-42"]
ToolLie = Literal["honest", "always-call", "bad-arguments", "wrong-name"]

TEXT_LIES: tuple[TextLie, ...] = ("honest", "constant", "null", "null-when-extra", "hash", "random")
STATUS_LIES: tuple[StatusLie, ...] = (None, 401, 403, 404, 302, 301, 405, 418)
BODY_LIES: tuple[BodyLie, ...] = ("ok", "no-choices", "non-utf8", "not-json", "error-in-200")
JSON_MODE_LIES: tuple[JsonModeLie, ...] = ("honest", "always-42")
TOOL_LIES: tuple[ToolLie, ...] = ("honest", "always-call", "bad-arguments", "wrong-name")

# The keys of a bare probe request; "null-when-extra" answers null as soon as any other is sent,
# so every parameter's probe "changes the output" while carrying no text at all.
PLAIN_KEYS = frozenset({"model", "messages", "max_tokens", "seed", "temperature"})
LIE_WORDS = 8
# The synthetic sampler is quadratic in max_tokens; a real server clamps to its context too
# (oruel documents max_tokens up to 131072, which would take minutes to sample).
CONTEXT_TOKENS = 256
CONSTANT_TEXT = "".join(WORDS[:LIE_WORDS])
# An error sent inside a 200: OpenRouter's non-streamed envelope (upstream 429), and Groq's last
# frame of a stream (``event: error``), shapes from tests/data/hosted*.
ERROR_IN_200 = {"error": {"code": 429, "message": "Provider returned error"}, "user_id": "user_lying"}
ERROR_FRAME = b'event: error\ndata: {"error": {"message": "Service Unavailable", "type": "internal_server_error"}}\n\n'
# A JSON body cut short: what a proxy that drops the connection mid-body hands on.
TRUNCATED_JSON = b'{"id": "chatcmpl-lying", "object": "chat.completion", "choices": [{"index": 0, "mess'

ERRORS: dict[int, tuple[str, str, str | None]] = {  # status -> (message, type, code), OpenAI-style
    401: ("Incorrect API key provided: sk-...", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to sample from this model", "permission_error", None),
    404: ("The model `m` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"),
    405: ("Method Not Allowed", "invalid_request_error", None),
    418: ("I'm a teapot", "invalid_request_error", None),
}


@dataclass(frozen=True)
class Lie:
    """How the provider misbehaves. The default lies about nothing.

    Precedence: ``status`` answers every chat/embeddings request by itself; otherwise ``body``
    (when not "ok") turns every answer, refusals included, into an unusable 200; otherwise
    ``text`` then ``json_mode`` rewrite the content of each honest 2xx chat completion, and
    ``tools`` its tool calls (a call whatever tool_choice says, arguments that do not validate,
    or each call under the other tool's name)."""

    text: TextLie = "honest"
    status: StatusLie = None
    body: BodyLie = "ok"
    json_mode: JsonModeLie = "honest"
    tools: ToolLie = "honest"

    def __str__(self) -> str:
        shown = [f"{k}={v!r}" for k, v in vars(self).items() if v != getattr(Lie(), k)]
        return f"Lie({', '.join(shown)})"


def _words(digest: bytes) -> str:
    return "".join(WORDS[b % len(WORDS)] for b in digest[:LIE_WORDS])


def _within_context(request: httpx.Request) -> httpx.Request:
    body = json.loads(request.content)
    limit = body.get("max_tokens")
    if isinstance(limit, int) and limit > CONTEXT_TOKENS:
        return httpx.Request(request.method, request.url, json={**body, "max_tokens": CONTEXT_TOKENS})
    return request


class LyingProvider:
    """``SyntheticProvider`` behind a ``Lie``; serve it with ``transport()``."""

    def __init__(self, lie: Lie, behaviour: Behaviour | None = None) -> None:
        self.lie = lie
        self.inner = SyntheticProvider(behaviour)
        # "random" ignores the seed, but is seeded per instance so a failing example replays.
        self._noise = random.Random(0)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        lie = self.lie
        if lie.status is not None:
            return self._status(lie.status, request)
        try:
            response = self.inner.handle(_within_context(request))
        except Exception as err:
            # SyntheticProvider turns only some of its crashes into a 500 (not the AttributeError
            # of a response_format that is a string); a real server would still answer one.
            response = httpx.Response(500, json={"error": {"message": f"internal: {err!r}", "type": "server_error"}})
        if lie.body != "ok":
            return self._unusable(lie.body, response)
        if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
            return response
        data = json.loads(response.content)
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list):
            return response  # an embeddings body: text lies are about generated text
        body = json.loads(request.content)
        for index, choice in enumerate(choices):
            choice["message"]["content"] = self._content(body, request.content, index, choice["message"]["content"])
            if isinstance(body.get("tools"), list) and body["tools"]:
                self._tool_calls(body, choice["message"])
        return httpx.Response(200, json=data)

    def _tool_calls(self, body: dict[str, Any], message: dict[str, Any]) -> None:
        names = [t["function"]["name"] for t in body["tools"] if isinstance(t, dict) and "function" in t]
        calls = message.get("tool_calls") or []
        match self.lie.tools:
            case "always-call" if not calls:
                calls = tool_calls({**body, "tool_choice": "required", "parallel_tool_calls": False}, set(), False)
            case "bad-arguments":
                for call in calls:
                    call["function"]["arguments"] = "{}"
            case "wrong-name":
                for call in calls:
                    name = call["function"]["name"]
                    call["function"]["name"] = next((n for n in names if n != name), name)
            case _:
                pass
        if calls:
            message["tool_calls"] = calls

    def _content(self, body: dict[str, Any], raw: bytes, index: int, honest: str | None) -> str | None:
        text: str | None
        match self.lie.text:
            case "honest":
                text = honest
            case "constant":
                text = CONSTANT_TEXT
            case "null":
                text = None
            case "null-when-extra":
                text = None if set(body) - PLAIN_KEYS else honest
            case "hash":
                text = _words(hashlib.sha256(raw + bytes([index])).digest())
            case "random":
                text = _words(self._noise.randbytes(LIE_WORDS))
        if self.lie.json_mode == "always-42" and "response_format" in body:
            text = "42"
        return text

    @staticmethod
    def _status(status: int, request: httpx.Request) -> httpx.Response:
        headers = {}
        if 300 <= status < 400:
            headers["location"] = str(request.url.copy_with(host="elsewhere.test"))
        message, kind, code = ERRORS.get(status, (httpx.codes.get_reason_phrase(status), "invalid_request_error", None))
        error = {"message": message, "type": kind, "param": None, "code": code}
        return httpx.Response(status, json={"error": error}, headers=headers)

    @staticmethod
    def _unusable(kind: BodyLie, honest: httpx.Response) -> httpx.Response:
        json_type = {"content-type": "application/json"}
        if kind == "error-in-200":
            if "text/event-stream" in honest.headers.get("content-type", ""):
                frames = honest.content.replace(b"data: [DONE]\n\n", b"")
                return httpx.Response(200, content=frames + ERROR_FRAME, headers={"content-type": "text/event-stream"})
            return httpx.Response(200, json=ERROR_IN_200)
        if kind == "not-json":
            return httpx.Response(200, content=TRUNCATED_JSON, headers=json_type)
        data = json.loads(honest.content) if "json" in honest.headers.get("content-type", "") else {}
        if kind == "no-choices":
            data = {k: v for k, v in data.items() if k not in ("choices", "data")} if isinstance(data, dict) else {}
            return httpx.Response(200, json=data or {"id": "chatcmpl-lying", "object": "chat.completion"})
        # non-utf8: well-formed JSON whose bytes hold a lone \xff (a latin-1 byte in a UTF-8 body):
        # decoded with replacement it parses, which must not make it a good answer.
        raw = json.dumps(data or {"object": "chat.completion"}).encode()
        raw = raw.replace(b'": "', b'": "\xff', 1)  # the first string value: every body here has one
        assert b"\xff" in raw
        return httpx.Response(200, content=raw, headers=json_type)
