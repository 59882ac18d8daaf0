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

from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

# (aiohttp's class, httpx's): the first that matches wins, so a subclass comes before its base.
_AS_HTTPX: tuple[tuple[type[BaseException], type[httpx.HTTPError]], ...] = (
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, unreachable, not resolved, TLS
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),  # closed mid-request or mid-response
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),  # a body cut short or badly chunked
    (aiohttp.ClientOSError, httpx.ReadError),  # reset by the peer
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # not a valid HTTP response
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientError, httpx.TransportError),
)


def as_httpx(err: BaseException) -> BaseException:
    """httpx's error for what ``err`` says happened: ``err`` itself when it is neither one of
    aiohttp's nor httpx-aiohttp's translation of one."""
    original = err.__cause__ if isinstance(err, httpx.HTTPError) and err.__cause__ is not None else err
    for aio, ours in _AS_HTTPX:
        if isinstance(original, aio):
            return ours(f"{type(original).__name__}: {original}")
    return err


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
        self._inner = AiohttpTransport(limits=limits, verify=verify)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._inner.handle_async_request(request)
        except (httpx.HTTPError, aiohttp.ClientError) as err:
            raise as_httpx(err) from err
        assert isinstance(response.stream, httpx.AsyncByteStream)  # (what an async transport returns)
        return httpx.Response(
            response.status_code,
            headers=response.headers.raw,
            stream=_TranslatedStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
