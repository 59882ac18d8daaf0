"""Every way a request fails to get a usable response is a kind, from one table of httpx's
exceptions, with the same text evidence has always had; the retries read the kind."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from harness.transport import ClientSettings, Exchange, ProviderClient
from harness.transport.failures import FAILURES, TRANSIENT_FAILURES, TransportFailure, classify


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        (httpx.ConnectTimeout("slow"), TransportFailure.TIMEOUT, "timeout: no complete response within 2.5s"),
        (httpx.ReadTimeout("slow"), TransportFailure.TIMEOUT, "timeout: no complete response within 2.5s"),
        (TimeoutError(), TransportFailure.TIMEOUT, "timeout: no complete response within 2.5s"),
        (httpx.ConnectError("refused"), TransportFailure.CONNECT, "connect: refused"),
        (
            httpx.RemoteProtocolError("peer closed"),
            TransportFailure.RESET,
            "reset: connection closed mid-response (RemoteProtocolError: peer closed)",
        ),
        (httpx.ReadError("gone"), TransportFailure.RESET, "reset: connection closed mid-response (ReadError: gone)"),
        (httpx.WriteError("gone"), TransportFailure.RESET, "reset: connection closed mid-response (WriteError: gone)"),
        (httpx.DecodingError("bad gzip"), TransportFailure.HTTP, "http: DecodingError: bad gzip"),
        (httpx.TooManyRedirects("loop"), TransportFailure.HTTP, "http: TooManyRedirects: loop"),
        (httpx.CloseError("close"), TransportFailure.HTTP, "http: CloseError: close"),
    ],
)
def test_one_table_gives_each_failure_its_kind_and_its_text(
    error: BaseException, kind: TransportFailure, text: str
) -> None:
    assert classify(error, 2.5) == (kind, text)
    assert text.startswith(kind.value)  # the text begins with the kind, as evidence always has


def test_what_the_table_does_not_know_is_not_a_transport_failure() -> None:
    with pytest.raises(TypeError):
        classify(ValueError("a bug"), 1.0)
    assert {kind for _, kind, _ in FAILURES} | {TransportFailure.OVERSIZED} == set(TransportFailure)


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.ReadError("gone"), httpx.DecodingError("bad")],
)
def test_the_retries_read_the_kind(error: httpx.HTTPError) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return httpx.Response(200, json={"choices": []})

    async def send() -> Exchange:
        settings = ClientSettings("http://127.0.0.1:5999/v1", retries=2, backoff_base=0.001)
        async with ProviderClient(settings, transport=httpx.MockTransport(handler)) as client:
            return await client.send({"model": "m"})

    exchange = asyncio.run(send())
    kind, _ = classify(error, 60.0)
    if kind in TRANSIENT_FAILURES:
        assert exchange.ok and exchange.attempts == 2 and exchange.failure is None
    else:
        assert exchange.failure is kind and exchange.attempts == 1 and len(calls) == 1
