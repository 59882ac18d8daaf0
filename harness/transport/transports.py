"""Replay and record as httpx transports (httpx's own extension point): the client is given
one, nothing is patched. ``ReplayTransport`` answers from a cassette and sends nothing;
``RecordingTransport`` sends through the real transport (under the body cap) and keeps each
interaction in the cassette, in vcrpy's form."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any

import httpx
from vcr.request import Request as VcrRequest

from harness.transport.cassettes import KEPT_REQUEST_HEADERS, Cassette


class NotRecordedError(Exception):
    """Replay has no interaction left for this request (the client reports NOT_RECORDED)."""


def _vcr_request(request: httpx.Request, body: bytes) -> VcrRequest:
    return VcrRequest(request.method, str(request.url), body, request.headers)


def _stored_response(response: httpx.Response, content: bytes) -> dict[str, Any]:
    """A response as vcrpy stores one: every header as a list (a name may repeat)."""
    headers: defaultdict[str, list[str]] = defaultdict(list)
    for name, value in response.headers.multi_items():
        headers[name].append(value)
    return {
        "status": {"code": response.status_code, "message": response.reason_phrase},
        "headers": dict(headers),
        "body": {"string": content},
    }


def _replayed_response(stored: dict[str, Any]) -> httpx.Response:
    """An httpx response from a stored one, as vcrpy built it."""
    message = stored["status"].get("message")
    # Cassettes recorded before vcrpy 8.2 have no reason phrase: httpx derives it from the code.
    extensions = {"reason_phrase": message.encode("ascii")} if message else None
    return httpx.Response(
        stored["status"]["code"],
        headers=[(name, value) for name, values in stored.get("headers", {}).items() for value in values],
        stream=httpx.ByteStream(stored["body"]["string"]),
        extensions=extensions,
    )


class ReplayTransport(httpx.AsyncBaseTransport):
    """Serves each request the recorded interaction for it; raises ``NotRecordedError`` when there
    is none left. Sends nothing."""

    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Only the headers a cassette keeps: matching scrubs the others away first anyway.
        kept = [(name, value) for name, value in request.headers.items() if name.lower() in KEPT_REQUEST_HEADERS]
        stored = self.cassette.play(VcrRequest(request.method, str(request.url), await request.aread(), kept))
        if stored is None:
            raise NotRecordedError("no recorded interaction matches this request")
        return _replayed_response(stored)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Sends through ``inner`` and appends each answered interaction to the cassette (scrubbed
    there). The body is read whole here, so ``inner`` must hold the cap (``BodyCapTransport``);
    a request that fails is not recorded. A cassette that keeps what it has recorded serves
    those requests itself, sending nothing."""

    def __init__(self, inner: httpx.AsyncBaseTransport, cassette: Cassette) -> None:
        self.inner, self.cassette = inner, cassette

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if self.cassette.keep_recorded:
            stored = self.cassette.play(_vcr_request(request, body))
            if stored is not None:
                return _replayed_response(stored)
        response = await self.inner.handle_async_request(request)
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)  # (what an async transport returns)
        try:
            content = b"".join([part async for part in stream])
        except BaseException:
            # The client never sees this response, so it cannot close its stream.
            with contextlib.suppress(Exception):
                await stream.aclose()
            raise
        await stream.aclose()  # the connection goes back to the pool
        self.cassette.append(_vcr_request(request, body), _stored_response(response, content))
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(content),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()
