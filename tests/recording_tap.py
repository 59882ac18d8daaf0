"""A recording proxy for the live tests (test code only): it forwards every request to a real
upstream unchanged and keeps the body it received, so a test can read what a gateway really
sent on (a parameter dropped, clamped or added) where the answer alone cannot show it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection", "accept-encoding", "content-encoding"})


@dataclass
class Tap:
    upstream: str  # the upstream's root, without /v1
    port: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def bodies(self, path: str = "/v1/chat/completions") -> list[Any]:
        return [r["body"] for r in self.seen if r["path"] == path]


def _handler(tap: Tap) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            tap.seen.append({"method": self.command, "path": self.path, "body": body})
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            answer = httpx.request(self.command, tap.upstream + self.path, content=raw, headers=headers, timeout=120)
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in _HOP:
                    self.send_header(name, value)
            self.send_header("content-length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def do_GET(self) -> None:
            self._forward()

        def do_POST(self) -> None:
            self._forward()

    return Handler


@contextmanager
def recording_tap(upstream_base_url: str) -> Iterator[Tap]:
    """A tap on 127.0.0.1 in front of ``upstream_base_url`` (".../v1") for the block."""
    tap = Tap(upstream_base_url.rstrip("/").removesuffix("/v1"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(tap))
    tap.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tap
    finally:
        server.shutdown()
        server.server_close()
