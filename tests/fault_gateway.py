"""A fault-injecting gateway (test code only): a reverse proxy in front of a REAL upstream
(llama-server, launched by the harness's launcher) that changes each chat request the way real
gateways were seen to, one parameter each, so that the effects judged are the real server's
and only the gateway's mutations are synthetic:

- drops ``top_k`` (Portkey drops it);
- clamps ``temperature`` to 2 (Portkey);
- translates ``frequency_penalty`` into ``repeat_penalty = 1 + frequency_penalty`` (what
  ``transformers serve`` makes of it, under llama-server's name);
- injects ``repeat_last_n: 64`` into every request (llama-server's own default: harmless to the
  output, visible only in the forwarded body);
- refuses ``top_p`` above 1 with an OpenAI-style 400 before the upstream sees it (SMG);
- answers a model other than ``tiny-llama`` with a 404 (SMG; llama-server serves any name).

Everything else is forwarded as sent. ``faults`` chooses which of these it commits (a gateway
committing none is transparent). With ``key``, it needs that key: it answers a request without
one with a text/plain 500 and one with a wrong key with a 400 (LiteLLM's proxy), or, with
``fault "auth"`` left out, with the 401 and OpenAI error envelope a client expects.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

FAULTS = ("drop", "clamp", "translate", "inject", "refuse", "auth", "model")
SERVED_MODEL = "tiny-llama"
HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"})


def mutate(body: dict[str, Any], faults: frozenset[str]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the body to forward, or None) and (a refusal to answer instead, or None)."""
    body = dict(body)
    if "model" in faults and body.get("model") != SERVED_MODEL:
        return None, {"error": {"message": f"model {body.get('model')!r} not found", "type": "invalid_request_error"}}
    if "refuse" in faults and isinstance(body.get("top_p"), int | float) and body["top_p"] > 1:
        error = {"message": "top_p must be at most 1", "type": "invalid_request_error", "param": "top_p"}
        return None, {"error": error}
    if "drop" in faults:
        body.pop("top_k", None)
    if "clamp" in faults and isinstance(body.get("temperature"), int | float):
        body["temperature"] = min(body["temperature"], 2.0)
    if "translate" in faults and isinstance(body.get("frequency_penalty"), int | float):
        body["repeat_penalty"] = 1 + body.pop("frequency_penalty")
    if "inject" in faults:
        body.setdefault("repeat_last_n", 64)
    return body, None


def _json_object(raw: bytes | None) -> dict[str, Any] | None:
    """The request body when it is a JSON object (a broken one is forwarded as it came)."""
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def key_refusal(key: str | None, authorization: str | None, faults: frozenset[str]) -> tuple[int, str, bytes] | None:
    """The gateway's answer to a request whose key is missing or wrong, or None."""
    if key is None or authorization == f"Bearer {key}":
        return None
    if "auth" not in faults:
        error = {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}
        return 401, "application/json", json.dumps({"error": error}).encode()
    if authorization is None:
        return 500, "text/plain", b"Internal Server Error"
    return 400, "application/json", json.dumps({"error": {"message": "Authentication Error, invalid key"}}).encode()


class FaultGateway:
    def __init__(self, upstream: str, faults: frozenset[str] = frozenset(FAULTS), key: str | None = None) -> None:
        self.upstream, self.faults, self.key = upstream.rstrip("/"), faults, key
        self._client = httpx.Client(timeout=120)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_GET(self) -> None:
                self._forward(None)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                self._forward(raw)

            def _forward(self, raw: bytes | None) -> None:
                path = self.path.removeprefix("/v1")
                refused = key_refusal(gateway.key, self.headers.get("authorization"), gateway.faults)
                if refused is not None and path.startswith("/chat/completions"):
                    self._answer(refused[0], [("content-type", refused[1])], refused[2])
                    return
                content = raw
                parsed = _json_object(raw)
                if parsed is not None and path.startswith("/chat/completions"):
                    forwarded, refusal = mutate(parsed, gateway.faults)
                    if refusal is not None:
                        status = 404 if "not found" in refusal["error"]["message"] else 400
                        self._answer(status, [("content-type", "application/json")], json.dumps(refusal).encode())
                        return
                    content = json.dumps(forwarded).encode()
                url = gateway.upstream + path
                headers = {"content-type": "application/json"}
                reply = gateway._client.request(self.command, url, content=content, headers=headers)
                kept = [(k, v) for k, v in reply.headers.multi_items() if k.lower() not in HOP]
                self._answer(reply.status_code, kept, reply.content)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> FaultGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._client.close()


@contextlib.contextmanager
def fault_gateway(
    upstream: str, faults: frozenset[str] = frozenset(FAULTS), key: str | None = None
) -> Iterator[FaultGateway]:
    with FaultGateway(upstream, faults, key) as running:
        yield running
