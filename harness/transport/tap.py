"""The recording tap: a reverse proxy put between a gateway and its upstream, keeping the
body of every request the gateway forwarded (the evidence a direct probe cannot see: a clamp
of ``top_p`` to 1 changes no output on a small model, only the forwarded body shows it).

``TapServer`` listens on 127.0.0.1 (the standard library's threading HTTP server), forwards
each request to the upstream with httpx, answers with the upstream's status, headers and bytes,
and keeps a ``TapEntry`` per request (headers that carry credentials shown as REDACTED; with
``out``, one scrubbed JSON line each). ``harness tap --upstream URL`` runs one in front of a
team's own upstream.

The ``gateway`` check reads the tap through a ``TapRoute``: ``through(body)`` sends one
request to the gateway and returns it with the bodies the upstream received for it. Live, the
route holds a lock so that one request at a time goes through (the check runs after every
other unit, so nothing else does) and takes the entries the tap gained meanwhile; recording,
it also keeps them in a cassette of their own (``<surface>.tap.json``, vcrpy's format, keyed by
the request sent to the gateway); replaying, it reads them from there and needs no server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from vcr.request import Request as VcrRequest

from harness.generation import canonical_json
from harness.redaction import REDACTED, SECRET_HEADERS, scrub_bytes, scrub_text
from harness.transport.cassettes import Cassette
from harness.transport.exchange import Exchange

# Hop-by-hop headers (RFC 9110 7.6.1) and those the tap recomputes: never relayed.
_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length", "host"}
)
MAX_BODY_BYTES = 16 * 1024 * 1024
TAP_URL = "http://127.0.0.1:0/tap/"  # where a tap cassette's interactions are filed


@dataclass(frozen=True)
class TapEntry:
    """One request the gateway forwarded, and the upstream's answer's status."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or its text when it is not JSON
    status: int | None  # None: the upstream could not be reached
    content_type: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": self.body,
            "status": self.status,
            "content_type": self.content_type,
        }


def _shown_headers(headers: Any) -> dict[str, str]:
    return {
        name.lower(): REDACTED if name.lower() in SECRET_HEADERS else scrub_text(str(value))
        for name, value in headers.items()
    }


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return scrub_text(raw.decode("utf-8", errors="replace"))


class TapServer:
    """A recording reverse proxy in front of ``upstream`` (its root: ``.../v1`` is kept as the
    gateway sends it, the tap only swaps the host). Use as a context manager."""

    def __init__(self, upstream: str, port: int = 0, out: Path | None = None, timeout: float = 120.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.entries: list[TapEntry] = []
        self.out = out
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=timeout)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The tap's address with the upstream's path: what a gateway is pointed at."""
        path = httpx.URL(self.upstream).path.rstrip("/")
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> TapServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._client.close()

    def since(self, mark: int) -> list[TapEntry]:
        with self._lock:
            return list(self.entries[mark:])

    def keep(self, entry: TapEntry) -> None:
        with self._lock:
            self.entries.append(entry)
            if self.out is not None:
                with self.out.open("ab") as sink:
                    sink.write(scrub_bytes(canonical_json(entry.to_json()).encode() + b"\n"))

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send one request on to the upstream; its status, headers and body (502 when it
        cannot be reached: the gateway sees a failing upstream, as it would without the tap)."""
        root = httpx.URL(self.upstream)
        target = root.copy_with(raw_path=path.encode())
        relayed = {k: v for k, v in headers.items() if k.lower() not in _HOP}
        try:
            response = self._client.request(method, target, headers=relayed, content=body)
        except httpx.HTTPError as err:
            status, reply, kept = 502, [("content-type", "text/plain")], f"tap: upstream unreachable: {err}".encode()
            self.keep(TapEntry(method, path, _shown_headers(headers), _parsed(body) if body else None, None))
            return status, reply, kept
        content = response.content[:MAX_BODY_BYTES]
        reply = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP | {"content-encoding"}]
        entry = TapEntry(
            method,
            path,
            _shown_headers(headers),
            _parsed(body) if body else None,
            response.status_code,
            response.headers.get("content-type", ""),
        )
        self.keep(entry)
        return response.status_code, reply, content

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tap = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: gateways pool their connections

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("transfer-encoding", "").lower():
                    # (A client streaming its request body: sizes in hex, each chunk then CRLF.)
                    parts = []
                    while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def _relay(self) -> None:
                body = self._body()
                status, headers, content = tap.forward(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = _relay  # noqa: N815 - http.server's names

            def log_message(self, format: str, *args: Any) -> None:
                pass  # entries are the log

        return Handler


@contextlib.contextmanager
def running_tap(upstream: str, port: int = 0, out: Path | None = None) -> Iterator[TapServer]:
    with TapServer(upstream, port, out) as tap:
        yield tap


Send = Callable[[dict[str, Any]], Awaitable[Exchange]]


@dataclass(frozen=True)
class Forwarded:
    """What the upstream received for one request sent to the gateway: the bodies of the chat
    requests it forwarded (none: it forwarded nothing, as when it refused by itself)."""

    bodies: list[Any] = field(default_factory=list)
    statuses: list[int | None] = field(default_factory=list)

    @property
    def body(self) -> dict[str, Any] | None:
        """The first forwarded JSON object (a retry forwards the same again)."""
        first = self.bodies[0] if self.bodies else None
        return first if isinstance(first, dict) else None


def _tap_request(body: dict[str, Any], path: str) -> VcrRequest:
    return VcrRequest("POST", TAP_URL + path, canonical_json(body).encode(), {"content-type": "application/json"})


def _is_chat(entry: TapEntry, path: str) -> bool:
    return entry.method == "POST" and entry.path.split("?")[0].rstrip("/").endswith(path)


class TapRoute:
    """Requests to the gateway, each with what it forwarded (see the module docstring).
    ``send`` must send every call (no de-duplication: each needs its own forwarded body)."""

    def __init__(self, send: Send, tap: TapServer | None = None, tape: Cassette | None = None) -> None:
        if tap is None and (tape is None or tape.mode != "replay"):
            raise ValueError("a tap route needs a running tap, or a tap cassette to replay")
        self._send, self._tap, self._tape = send, tap, tape
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        """No request goes through meanwhile (for other requests to the gateway, which the tap
        must not take for one of these)."""
        async with self._lock:
            yield

    async def through(self, body: dict[str, Any], path: str = "chat/completions") -> tuple[Exchange, Forwarded | None]:
        """``body`` sent to the gateway, and what it forwarded (None: replay has no record of it)."""
        # Replaying, or recording only what the cassettes lack (``--new-only``: the gateway's
        # cassette then answers this request itself, so the tap would see nothing of it).
        if self._tap is None or (self._tape is not None and self._tape.keep_recorded):
            assert self._tape is not None
            stored = self._tape.play(_tap_request(body, path))
            if stored is not None or self._tap is None:
                exchange = await self._send(body)
                return exchange, (None if stored is None else _from_stored(stored))
        async with self._lock:
            mark = len(self._tap.entries)
            exchange = await self._send(body)
            entries = [e for e in self._tap.since(mark) if _is_chat(e, path)]
        forwarded = Forwarded([e.body for e in entries], [e.status for e in entries])
        if self._tape is not None and self._tape.mode == "record":
            content = canonical_json({"forwarded": forwarded.bodies, "statuses": forwarded.statuses}).encode()
            stored = {
                "status": {"code": 200, "message": "OK"},
                "headers": {"content-type": ["application/json"]},
                "body": {"string": content},
            }
            self._tape.append(_tap_request(body, path), stored)
        return exchange, forwarded


def _from_stored(stored: dict[str, Any]) -> Forwarded:
    raw = stored["body"]["string"]
    data = json.loads(raw if isinstance(raw, str | bytes) else str(raw))
    return Forwarded(list(data.get("forwarded", [])), list(data.get("statuses", [])))
