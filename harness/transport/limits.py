"""The body cap, as a transport wrapping the network one: under the client, and under recording.

httpx decompresses a gzip body in whole network chunks (a 64 KiB chunk of a gzip bomb is
64 MiB), and recording reads the whole body before the client sees a byte. So the response
stream is replaced by one that decompresses itself, in bounded steps, and ends after
``cap + 1`` bytes of decoded body: enough for the client to see that the body was over the
cap, never more in memory or in a cassette.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, AsyncIterator

import httpx

# Decoded here, so httpx and recording see a plain body (and the header is dropped).
_DECODED = {b"gzip": 16 + zlib.MAX_WBITS, b"x-gzip": 16 + zlib.MAX_WBITS, b"deflate": zlib.MAX_WBITS}
_STEP = 64 * 1024  # the most one decompression step may produce


class _LimitedStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes], cap: int, wbits: int | None) -> None:
        self._stream, self._budget = stream, cap + 1
        self._decoder = zlib.decompressobj(wbits) if wbits is not None else None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                for part in self._decode(chunk):
                    yield part
                if self._budget <= 0:
                    return
        finally:
            close = getattr(self._stream, "aclose", None)
            if close is not None:
                await close()

    def _decode(self, chunk: bytes) -> list[bytes]:
        if self._decoder is None:
            part = chunk[: self._budget]
            self._budget -= len(part)
            return [part]
        parts = []
        data = chunk
        while data and self._budget > 0:
            try:
                part = self._decoder.decompress(data, min(_STEP, self._budget))
            except zlib.error as err:
                raise httpx.DecodingError(f"body is not valid gzip/deflate data: {err}") from err
            self._budget -= len(part)
            parts.append(part)
            data = self._decoder.unconsumed_tail
        return parts

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class BodyCapTransport(httpx.AsyncBaseTransport):
    """Wraps a transport: its responses are decoded here and cut at ``cap + 1`` bytes."""

    def __init__(self, inner: httpx.AsyncBaseTransport, cap: int) -> None:
        self.inner, self.cap = inner, cap

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        headers = response.headers.raw
        encoding = next((v.strip().lower() for k, v in headers if k.lower() == b"content-encoding"), b"")
        wbits = _DECODED.get(encoding)
        if wbits is not None:
            dropped = (b"content-encoding", b"content-length")
            headers = [(k, v) for k, v in headers if k.lower() not in dropped]
        assert isinstance(response.stream, httpx.AsyncByteStream)  # (what an async transport returns)
        stream = _LimitedStream(response.stream, self.cap, wbits)
        return httpx.Response(response.status_code, headers=headers, stream=stream, extensions=response.extensions)

    async def aclose(self) -> None:
        await self.inner.aclose()


def limited_transport(cap: int, limits: httpx.Limits, verify: bool) -> BodyCapTransport:
    """The network transport under ``BodyCapTransport`` (a test checks a gzip bomb and an
    oversized body, live and while recording)."""
    # Here, not at the top: a replay builds no network transport.
    from harness.transport.network import NetworkTransport

    return BodyCapTransport(NetworkTransport(limits, verify), cap)
