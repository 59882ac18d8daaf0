"""The HTTP client of one provider: httpx (async) with connection reuse, at most
``max_parallel_requests`` requests in flight, timeouts, and bounded retries with exponential
backoff and jitter that honour ``Retry-After`` (the retries read the ``TransportFailure``
kind, never the error text). Live, or over a cassette's transport (replay, record). Every
way a request can go wrong ends as an ``Exchange``; nothing here raises on a provider's
misbehaviour."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from harness.generation import canonical_json
from harness.jsoncodec import loads
from harness.redaction import scrub_url
from harness.transport.cassettes import INVALID_UTF8_HEADER, Cassette
from harness.transport.exchange import Exchange, Outcome
from harness.transport.failures import HANDLED, TRANSIENT_FAILURES, TransportFailure, classify, oversized
from harness.transport.limits import limited_transport
from harness.transport.routes import pinned_body
from harness.transport.sse import parse_sse
from harness.transport.transports import NotRecordedError, RecordingTransport, ReplayTransport

# Transient by nature: retried up to ``retries`` times.
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
# A 500 is usually the same answer to the same input: one retry tells a flake from a bug
# without spending ``retries`` requests on every deterministic 500.


@dataclass(frozen=True)
class ClientSettings:
    base_url: str
    embeddings_base_url: str | None = None  # /embeddings goes here when set
    api_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    max_parallel_requests: int = 4
    timeout: float = 60.0
    retries: int = 2  # attempts after the first
    backoff_base: float = 0.25  # seconds; doubles per attempt, with jitter
    max_backoff: float = 30.0  # also caps a provider's Retry-After
    max_body_bytes: int = 4 * 1024 * 1024  # a response larger than this is not read further
    wait: bool = True  # False in replay: the backoff is computed and reported, never slept
    # A router's upstream every request is pinned to (``routes.pinned_body``): added here, the
    # one door every request of the column goes through, so the cassette holds what was sent.
    route: str | None = None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class ProviderClient:
    """Sends requests to one provider; use as ``async with ProviderClient(settings) as c``."""

    def __init__(
        self,
        settings: ClientSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        cassette: Cassette | None = None,
    ) -> None:
        """``transport`` in place of httpx's own (under the body cap), for tests; ``cassette``
        (from ``cassettes.cassette``): replay from it, sending nothing, or record into it."""
        self.settings = settings
        self._slots = asyncio.Semaphore(settings.max_parallel_requests)
        headers = {"content-type": "application/json", **settings.headers}
        if settings.api_key:
            headers["authorization"] = f"Bearer {settings.api_key}"
        limits = httpx.Limits(
            max_connections=settings.max_parallel_requests,
            max_keepalive_connections=settings.max_parallel_requests,
        )
        if cassette is not None and cassette.mode == "replay":
            transport = ReplayTransport(cassette)
        else:
            # Certificates matter only for https; loading them costs ~25 ms per client.
            verify = not settings.base_url.startswith("http://")
            transport = transport or limited_transport(settings.max_body_bytes, limits, verify)
            if cassette is not None:
                transport = RecordingTransport(transport, cassette)
        # Requests are built by httpx's client (its default headers, the timeout extension) and
        # handed to the transport, httpx's extension point, directly: the client's own send
        # path is auth, redirects, cookies and event hooks, none of which a probe may use (a
        # provider's Set-Cookie must not make later requests differ from their reproducers),
        # and it was a large share of the client's CPU per request (docs/benchmarks.md).
        self._transport = transport
        self._http = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.timeout),
            transport=transport,
        )
        self.requests_sent = 0
        self._extensions: dict[str, Any] = {"timeout": self._http.timeout.as_dict()}
        # Asked before each retry, where a budget holds: a retry is a second chance the budget
        # may not cover (None: retry as the settings say). Not asked: the answer stands.
        self.may_retry: Callable[[], bool] | None = None

    async def __aenter__(self) -> ProviderClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.settings.max_backoff)
        delay = self.settings.backoff_base * 2 ** (attempt - 1)
        return float(min(delay * (0.5 + random.random()), self.settings.max_backoff))

    async def send(self, body: dict[str, Any], path: str = "chat/completions", encoded: str | None = None) -> Exchange:
        """POST ``body`` (canonical JSON) and return what happened, retrying what is transient.
        ``encoded`` is ``canonical_json(body)`` when the caller already has it."""
        if self.settings.route is not None:
            pinned = pinned_body(body, self.settings.route)
            if pinned is not body:
                # A body sent in its own key order (a probe of key order) keeps it, pin last.
                ordered = encoded is not None and encoded != canonical_json(body)
                encoded = (
                    json.dumps(pinned, separators=(",", ":"), ensure_ascii=False, allow_nan=False) if ordered else None
                )
                body = pinned
        content = (encoded if encoded is not None else canonical_json(body)).encode()
        attempt, waited = 0, 0.0
        while True:
            attempt += 1
            # The slot is held for the attempt only: a request backing off must not keep
            # others from using the provider's allowed concurrency.
            async with self._slots:
                exchange, retry_after = await self._attempt(body, content, path)
            exchange.attempts, exchange.waited_s = attempt, waited
            transient = (
                exchange.status in RETRYABLE_STATUS or exchange.status == 500 or exchange.failure in TRANSIENT_FAILURES
            )
            limit = min(1, self.settings.retries) if exchange.status == 500 else self.settings.retries
            if not transient or attempt > limit or (self.may_retry is not None and not self.may_retry()):
                return exchange
            delay = self._backoff(attempt, retry_after)
            waited += delay
            if self.settings.wait:
                await asyncio.sleep(delay)

    @functools.cache  # noqa: B019 - a handful of paths per client, for its lifetime
    def _url(self, path: str) -> httpx.URL:
        """The absolute URL of ``path``: joined once, not parsed and merged on every request."""
        relative = path.lstrip("/")
        if self.settings.embeddings_base_url and relative.startswith("embeddings"):
            return httpx.URL(self.settings.embeddings_base_url.rstrip("/") + "/" + relative)
        return self._http.base_url.join(relative)

    @functools.cache  # noqa: B019 - as above
    def _shown_url(self, path: str) -> str:
        """The request URL as evidence shows it (key-like query parameters scrubbed)."""
        return scrub_url(str(self._url(path)))

    @contextlib.asynccontextmanager
    async def _exchange(self, path: str, content: bytes) -> AsyncIterator[httpx.Response]:
        """The response to a POST of ``content`` to ``path``, open while the block reads it."""
        # As the client's build_request makes it (its headers, its timeout), without merging
        # the same headers, an empty cookie jar and no parameters into each request again.
        request = httpx.Request(
            "POST", self._url(path), headers=self._http.headers, content=content, extensions=dict(self._extensions)
        )
        try:
            response = await self._transport.handle_async_request(request)
        except httpx.RequestError as err:
            err.request = request  # as httpx's client names it
            raise
        response.request = request  # and so an error reading the body names it too
        try:
            yield response
        finally:
            await response.aclose()  # the connection goes back to the pool

    async def _attempt(self, body: dict[str, Any], content: bytes, path: str) -> tuple[Exchange, float | None]:
        exchange = Exchange("POST", self._shown_url(path), body, Outcome.RESPONSE)
        started = time.perf_counter()
        retry_after = None
        marker = ""
        self.requests_sent += 1
        try:
            # httpx's timeout is per read: a body trickled in small pieces never trips it.
            # This is the whole request's deadline: connect, send and the complete body.
            async with (
                asyncio.timeout(self.settings.timeout),
                self._exchange(path, content) as resp,
            ):
                exchange.status = resp.status_code
                exchange.content_type = resp.headers.get("content-type", "")
                marker = resp.headers.get(INVALID_UTF8_HEADER, "")
                retry_after = _retry_after(resp.headers.get("retry-after"))
                raw = bytearray()
                async for chunk in resp.aiter_bytes():
                    raw += chunk
                    if len(raw) > self.settings.max_body_bytes:
                        exchange.outcome = Outcome.TRANSPORT_ERROR
                        exchange.failure = TransportFailure.OVERSIZED
                        exchange.error = oversized(self.settings.max_body_bytes)
                        break
        except NotRecordedError:
            exchange.outcome = Outcome.NOT_RECORDED
            exchange.error = "no recorded interaction matches this request"
            return exchange, None
        except HANDLED as err:
            exchange.outcome = Outcome.TRANSPORT_ERROR
            exchange.failure, exchange.error = classify(err, self.settings.timeout)
            raw = bytearray()
        exchange.elapsed_ms = (time.perf_counter() - started) * 1000
        _decode(exchange, raw, self.settings.max_body_bytes, marker)
        if exchange.outcome is Outcome.RESPONSE:
            _parse_body(exchange, streamed=body.get("stream") is True)
        return exchange, retry_after


def _decode(exchange: Exchange, raw: bytearray, cap: int, marker: str) -> None:
    """The body as text. The replaced text stays as evidence when it is not UTF-8, but a
    repaired body must not pass for a good one: that is a problem of the exchange."""
    body_bytes = bytes(raw[:cap])
    try:
        exchange.text = body_bytes.decode("utf-8")
    except UnicodeDecodeError as err:
        exchange.text = body_bytes.decode("utf-8", errors="replace")
        # A body cut at the cap may end inside a character: the cap's doing, not the provider's.
        if not (len(raw) > cap and err.end == len(body_bytes)):
            exchange.problems.append(invalid_utf8(body_bytes[err.start], err.start))
    recorded = replayed_invalid_utf8(marker)
    if recorded and exchange.outcome is Outcome.RESPONSE:
        exchange.problems.append(recorded)


def invalid_utf8(byte: int, offset: int) -> str:
    return f"body is not valid UTF-8 (byte 0x{byte:02x} at offset {offset})"


def replayed_invalid_utf8(marker: str) -> str | None:
    """A cassette stores bodies as text, so recording marks an invalid body with a header
    (``INVALID_UTF8_HEADER``, "ff@7"): replay reports the same problem as the live run."""
    byte, _, offset = marker.partition("@")
    if not byte or not offset.isdigit():
        return None
    return invalid_utf8(int(byte, 16), int(offset))


def _parse_body(exchange: Exchange, streamed: bool) -> None:
    media = exchange.content_type.split(";")[0].strip().lower()
    if streamed and exchange.ok and media != "application/json":
        # (A server that ignores stream answers one JSON body: parsed below, judged by the checks.)
        if media != "text/event-stream":
            exchange.problems.append(f"wrong content type for a stream: {media or 'none'}")
        parsed = parse_sse(exchange.text)
        exchange.chunks, exchange.stream_done, exchange.error_events = parsed.events, parsed.done, parsed.error_events
        exchange.problems += parsed.problems
        return
    if not exchange.text:
        exchange.problems.append("empty body")
        return
    try:
        exchange.json = loads(exchange.text)
    except json.JSONDecodeError as err:
        exchange.problems.append(f"malformed JSON body: {err.msg} at char {err.pos}")
    if media != "application/json":
        exchange.problems.append(f"wrong content type: {media or 'none'} (expected application/json)")


def strip_host(url: str) -> str:
    """The URL without scheme and host: local servers listen on a new port each launch."""
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path, parts.query, ""))
