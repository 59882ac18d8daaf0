"""The transport that reaches a provider: httpx's requests and responses carried by aiohttp's
connection pool and HTTP parser (httpx-aiohttp, by httpx's maintainer; the OpenAI SDK vendors
it for its own aiohttp client). httpx's default pool (httpcore over anyio) costs more client
CPU per request than everything the harness does with an answer, for ``http://`` and
``https://`` alike. The request is the httpx request the client built (its headers and body
bytes), so a provider receives what httpx's own transport would send (a test compares).

aiohttp's errors are turned into httpx's by what happened, so a failure is classified as it
was under httpx's own transport (``failures.FAILURES``): httpx-aiohttp calls a server that
closed the connection a connect timeout, and lets some of aiohttp's errors through as they are.

Imported only where a live client is built: a replay never builds it (the OpenAI SDK, which the
client-level judges use, loads aiohttp itself wherever it is installed).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from harness.redaction import scrub_url

# (aiohttp's class, httpx's): the first that matches wins, so a subclass comes before its base.
_AS_HTTPX: tuple[tuple[type[BaseException], type[httpx.HTTPError]], ...] = (
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, unreachable, not resolved, TLS
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),  # closed mid-request or mid-response
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),  # a body cut short or badly chunked
    (aiohttp.ClientConnectionResetError, httpx.WriteError),  # writing to a connection closing
    (aiohttp.ClientOSError, httpx.ReadError),  # reset by the peer
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # not a valid HTTP response
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, httpx.ReadError),  # the connection lost otherwise
    (aiohttp.ClientError, httpx.TransportError),
)
# What httpcore's parser (h11) allows a response's head, which aiohttp's defaults cut shorter:
# a header line or the status line, and the number of header fields.
_MAX_LINE = 100 * 1024
_MAX_HEADERS = 1000
_URL = re.compile(r"https?://[^\s'\"<>]+")


def as_httpx(err: BaseException) -> BaseException:
    """httpx's error for what ``err`` says happened: ``err`` itself when it is neither one of
    aiohttp's nor httpx-aiohttp's translation of one."""
    original = _original(err)
    for aio, ours in _AS_HTTPX:
        if isinstance(original, aio):
            # aiohttp's text may hold the request's URL: its key-like query parameters go.
            text = _URL.sub(lambda url: scrub_url(url.group()), str(original))
            return ours(f"{type(original).__name__}: {text}")
    return err


def _original(err: BaseException) -> BaseException:
    """aiohttp's own error behind httpx-aiohttp's translation of it."""
    return err.__cause__ if isinstance(err, httpx.HTTPError) and err.__cause__ is not None else err


def stale_connection(err: BaseException) -> bool:
    """Did the request fail on a connection the server had closed, before any answer: written
    to a closing connection, or the server gone before its status line? On a pooled connection
    that is the server's keep-alive ending as the request went out, and the request was never
    read. httpcore checks a pooled connection before reusing it and drops one the server has
    closed; aiohttp finds out on sending, so the request goes again, once, on a new connection
    (a server that really drops requests fails the second time too, and that failure stands)."""
    original = _original(err)
    if isinstance(original, aiohttp.ClientConnectionResetError | aiohttp.ServerDisconnectedError):
        return True
    return isinstance(original, aiohttp.ClientOSError) and str(original.strerror).startswith("Can not write request")


class _TranslatedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except (httpx.HTTPError, aiohttp.ClientError) as err:
            raise as_httpx(err) from err

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except (httpx.HTTPError, aiohttp.ClientError) as err:
            raise as_httpx(err) from err


class NetworkTransport(httpx.AsyncBaseTransport):
    """httpx-aiohttp's transport, its errors httpx's by kind."""

    def __init__(self, limits: httpx.Limits, verify: bool) -> None:
        def session() -> aiohttp.ClientSession:
            # Made on the first request, inside the event loop that sends it.
            connector = aiohttp.TCPConnector(
                limit=limits.max_connections or 0,
                keepalive_timeout=limits.keepalive_expiry,
                ssl=self._inner.ssl_context,
            )
            return aiohttp.ClientSession(
                connector=connector, max_line_size=_MAX_LINE, max_field_size=_MAX_LINE, max_headers=_MAX_HEADERS
            )

        # Its SSL context is the session's (made here once: certificates load only for verify).
        self._inner = AiohttpTransport(verify=verify, client=session)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in (1, 2):
            try:
                response = await self._inner.handle_async_request(request)
                break
            except (httpx.HTTPError, aiohttp.ClientError) as err:
                if attempt == 1 and stale_connection(err):
                    continue
                raise as_httpx(err) from err
            except ValueError as err:
                # aiohttp refuses a header value with a control character (a key read with
                # its newline) with a ValueError; httpx's own transport raised this.
                raise httpx.LocalProtocolError(str(err)) from err
        assert isinstance(response.stream, httpx.AsyncByteStream)  # (what an async transport returns)
        return httpx.Response(
            response.status_code,
            headers=response.headers.raw,
            stream=_TranslatedStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
