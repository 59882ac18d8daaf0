"""The network transport (httpx's requests over aiohttp): a provider receives what httpx's own
transport sends, aiohttp's errors are classified as httpx's were, and a replay never builds it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import aiohttp
import httpx
import multidict
import pytest
import yarl

from harness.transport.client import ClientSettings, ProviderClient
from harness.transport.exchange import Exchange, Outcome
from harness.transport.failures import TransportFailure, classify
from harness.transport.limits import BodyCapTransport
from harness.transport.network import NetworkTransport, as_httpx
from tests.conftest import ROOT

REPLY = json.dumps({"id": "x", "object": "chat.completion", "choices": []}).encode()
_URL = yarl.URL("http://127.0.0.1/v1/chat/completions")
_REQUEST = aiohttp.RequestInfo(_URL, "POST", multidict.CIMultiDictProxy(multidict.CIMultiDict()), _URL)
BODY = {"model": "m", "messages": [{"role": "user", "content": "héllo"}], "temperature": 0.5, "seed": 7}


async def _capture(send: Any) -> list[bytes]:
    """The bytes of each request a raw socket server received while ``send(base_url)`` ran."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            received.append(head + await reader.readexactly(length))
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                + str(len(REPLY)).encode()
                + b"\r\n\r\n"
                + REPLY
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await send(f"http://127.0.0.1:{port}/v1")
    return received


def _heard(transport: httpx.AsyncBaseTransport | None) -> list[bytes]:
    async def send(base_url: str) -> None:
        settings = ClientSettings(base_url=base_url, api_key="sk-test-key", retries=0)
        async with ProviderClient(settings, transport=transport) as client:
            for _ in range(2):  # the second on a kept connection
                exchange = await client.send(BODY)
                assert exchange.outcome is Outcome.RESPONSE and exchange.status == 200

    return asyncio.run(_capture(send))


def _parts(raw: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    line, *fields = head.split(b"\r\n")
    headers = sorted((k.strip().lower(), v.strip()) for k, v in (f.split(b":", 1) for f in fields))
    # Each side had a server of its own: the port in `host` is the only difference allowed.
    headers = [(k, v.rsplit(b":", 1)[0] if k == b"host" else v) for k, v in headers]
    return line, headers, body


def test_a_provider_receives_what_httpx_own_transport_sends() -> None:
    ours = _heard(None)
    httpx_own = _heard(BodyCapTransport(httpx.AsyncHTTPTransport(verify=False), 1 << 20))
    assert len(ours) == len(httpx_own) == 2
    for mine, theirs in zip(ours, httpx_own, strict=True):
        assert _parts(mine) == _parts(theirs)
    line, headers, body = _parts(ours[0])
    assert line == b"POST /v1/chat/completions HTTP/1.1"
    assert (b"authorization", b"Bearer sk-test-key") in headers
    assert json.loads(body) == BODY


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("Response payload is not completed"), httpx.RemoteProtocolError),
        (aiohttp.ServerTimeoutError("Timeout on reading data from socket"), httpx.ReadTimeout),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), httpx.ReadError),
        (aiohttp.ClientResponseError(_REQUEST, (), message="Invalid header"), httpx.RemoteProtocolError),
        (aiohttp.InvalidURL("ftp://x"), httpx.UnsupportedProtocol),
        (aiohttp.ClientConnectionResetError("Cannot write to closing transport"), httpx.WriteError),
        (aiohttp.ClientConnectionError("Connection lost"), httpx.ReadError),
    ],
)
def test_aiohttp_errors_become_httpx_errors_of_the_same_kind(raised: BaseException, kind: type) -> None:
    assert type(as_httpx(raised)) is kind
    # httpx-aiohttp's own translation (a closed connection called a connect timeout) is undone.
    translated = httpx.ConnectTimeout(str(raised))
    translated.__cause__ = raised
    assert type(as_httpx(translated)) is kind
    assert str(as_httpx(raised)).startswith(type(raised).__name__ + ": ")  # the text names what aiohttp saw


def test_other_errors_pass_unchanged() -> None:
    err = httpx.LocalProtocolError("bad header")
    assert as_httpx(err) is err
    plain = ValueError("not a transport's")
    assert as_httpx(plain) is plain


def test_a_refused_connection_is_a_connect_failure() -> None:
    async def go() -> None:
        settings = ClientSettings(base_url="http://127.0.0.1:9/v1", retries=0)
        limits = httpx.Limits(max_connections=1)
        async with ProviderClient(settings, transport=BodyCapTransport(NetworkTransport(limits, False), 1024)) as c:
            exchange = await c.send(BODY)
        assert exchange.outcome is Outcome.TRANSPORT_ERROR and exchange.failure is TransportFailure.CONNECT
        assert exchange.error.startswith("connect: ClientConnectorError")

    asyncio.run(go())


def test_a_replay_builds_no_network_transport(tmp_path: Any) -> None:
    code = (
        "import sys\n"
        "from harness.cli import main\n"
        f"code = main(['run', '--provider', 'llamacpp-local', '--params', 'temperature', '--out', {str(tmp_path)!r},"
        " '--gate', 'none'])\n"
        "assert code == 0, code\n"
        "print(sorted(m for m in sys.modules if m in ('harness.transport.network', 'httpx_aiohttp')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_a_transient_kind_for_every_connection_lost() -> None:
    for raised in (aiohttp.ClientConnectionResetError("closing"), aiohttp.ClientConnectionError("Connection lost")):
        kind, _ = classify(as_httpx(raised), 1.0)
        assert kind is TransportFailure.RESET


def test_the_error_text_keeps_no_key_from_the_url() -> None:
    raised = aiohttp.ClientOSError(None, "Can not write request body for http://h/v1/chat?api-key=SEKRET123")
    text = str(as_httpx(raised))
    assert "SEKRET123" not in text and "api-key=REDACTED" in text


async def _serve(answer: bytes, close: bool) -> asyncio.Server:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                writer.write(answer)
                await writer.drain()
                if close:  # closed at once, without saying so: the client may reuse it
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


def _answer(extra_header: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + extra_header
        + b"content-length: "
        + str(len(REPLY)).encode()
        + b"\r\n\r\n"
        + REPLY
    )


def _sent(answer: bytes, close: bool, count: int, **settings: Any) -> list[Exchange]:
    async def go() -> list[Exchange]:
        server = await _serve(answer, close)
        port = server.sockets[0].getsockname()[1]
        async with server:
            client_settings = ClientSettings(base_url=f"http://127.0.0.1:{port}/v1", retries=0, **settings)
            async with ProviderClient(client_settings) as client:
                return [await client.send(BODY) for _ in range(count)]

    return asyncio.run(go())


def test_a_connection_the_server_closed_is_not_reused_for_a_failure() -> None:
    # Without retries: each request must find a live connection (httpcore checks before reuse).
    exchanges = _sent(_answer(), close=True, count=30)
    assert [e.status for e in exchanges] == [200] * 30, {e.error for e in exchanges}


def test_a_long_response_header_is_read_as_httpx_read_it() -> None:
    exchanges = _sent(_answer(b"x-long: " + b"a" * 9000 + b"\r\n"), close=False, count=1)
    assert exchanges[0].status == 200, exchanges[0].error


def test_a_header_value_aiohttp_refuses_is_an_http_failure_not_a_crash() -> None:
    exchanges = _sent(_answer(), close=False, count=1, headers={"x-key": "abc\ndef"})
    assert exchanges[0].outcome is Outcome.TRANSPORT_ERROR and exchanges[0].failure is TransportFailure.HTTP


def test_a_server_that_drops_every_request_fails_after_one_more_try() -> None:
    heard: list[int] = []

    async def go() -> Exchange:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            heard.append(1)
            writer.close()  # no status line

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            settings = ClientSettings(base_url=f"http://127.0.0.1:{port}/v1", retries=0)
            async with ProviderClient(settings) as client:
                return await client.send(BODY)

    exchange = asyncio.run(go())
    assert exchange.outcome is Outcome.TRANSPORT_ERROR and exchange.failure is TransportFailure.RESET
    assert len(heard) == 2  # the first try, and the one more a closed keep-alive connection earns
