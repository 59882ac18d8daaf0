"""The client's own behaviour that no fault server is needed for: cookies, JSON decoding."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator

import httpx
import pytest

from harness.jsoncodec import dumps_line, loads, long_digits
from harness.transport import ProviderClient
from harness.transport.client import ClientSettings
from harness.transport.exchange import Exchange


def test_a_providers_cookie_is_not_sent_back() -> None:
    """Probes are independent: a Set-Cookie must not change what later requests send."""
    seen: list[str | None] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, json={"ok": True}, headers={"set-cookie": "sticky=backend-2; Path=/"})

    async def two_requests() -> None:
        async with ProviderClient(ClientSettings("http://provider/v1"), transport=httpx.MockTransport(handle)) as c:
            await c.send({"model": "m"})
            await c.send({"model": "m"})

    asyncio.run(two_requests())
    assert seen == [None, None]


def test_a_request_is_the_one_httpxs_client_builds() -> None:
    """The client hands its transport the request httpx's own client would send: the same
    method, URL, headers (its defaults, the key, the provider's own) and bytes, and timeout."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    settings = ClientSettings("http://provider/v1", api_key="sk-test", headers={"x-team": "a"}, timeout=7.0)

    async def one() -> None:
        async with ProviderClient(settings, transport=httpx.MockTransport(handle)) as c:
            await c.send({"model": "m", "n": 1})

    asyncio.run(one())
    headers = {"content-type": "application/json", "x-team": "a", "authorization": "Bearer sk-test"}
    reference = httpx.AsyncClient(base_url="http://provider/v1/", headers=headers, timeout=7.0)
    expected = reference.build_request(
        "POST", reference.base_url.join("chat/completions"), content=b'{"model":"m","n":1}'
    )
    (sent,) = seen
    assert (sent.method, sent.url, sent.headers.multi_items(), sent.content) == (
        expected.method,
        expected.url,
        expected.headers.multi_items(),
        expected.content,
    )
    assert sent.extensions == expected.extensions


def test_an_error_reading_the_body_names_its_request() -> None:
    """As httpx's client had it: a failure while the body streams in carries the request."""
    caught: list[httpx.RequestError] = []

    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b'{"ok":'
            raise httpx.ReadError("connection lost")

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, stream=Broken())

    async def one() -> None:
        async with (
            ProviderClient(ClientSettings("http://provider/v1", retries=0), transport=httpx.MockTransport(handle)) as c,
            c._exchange("chat/completions", b"{}") as response,
        ):
            try:
                async for _ in response.aiter_bytes():
                    pass
            except httpx.ReadError as err:
                caught.append(err)

    asyncio.run(one())
    (error,) = caught
    assert error.request.url == "http://provider/v1/chat/completions"


def test_a_body_that_is_not_utf8_is_a_problem() -> None:
    """A replaced byte must not make a broken body look like a good one."""

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"x": "\xff"}', headers={"content-type": "application/json"})

    async def one_request() -> Exchange:
        async with ProviderClient(ClientSettings("http://provider/v1"), transport=httpx.MockTransport(handle)) as c:
            return await c.send({"model": "m"})

    exchange = asyncio.run(one_request())
    assert exchange.status == 200
    assert any("UTF-8" in p and "0xff" in p and "offset 7" in p for p in exchange.problems), exchange.problems
    assert exchange.text == '{"x": "\ufffd"}'  # still kept, replaced, as evidence


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, 2.5, "x", null, true, -0.0, 1E5, "\\u00e9"]}',
        '{"big": 123456789012345678901234567890, "negative": -9223372036854775809}',
        '{"nan": NaN, "inf": -Infinity}',
        "[1e400, 0.1234567890123456789]",
        '"\\ud800"',
        '{"u64": 18446744073709551615, "over": 18446744073709551616, "i64": -9223372036854775808}',
        '{"in a string": "12345678901234567890", "not ascii": "' + "\u0661" * 19 + '"}',
    ],
)
def test_loads_gives_what_json_gives(text: str) -> None:
    ours, theirs = loads(text), json.loads(text)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize(
    ("text", "long"),
    [
        ("1" * 18, False),
        ("x" + "1" * 19 + "x", True),
        ('{"created": 1796221519, "n": 123456789.123456789}', False),
        ("1" * 9 + "\u00e9" + "1" * 10, False),  # (a multi-byte character between the digits)
        ("\u0661" * 19, False),  # digits, but not ASCII ones: no JSON number is made of them
        ("\ud800" + "1" * 19, True),
    ],
)
def test_a_long_run_of_ascii_digits_is_what_sends_a_text_to_json(text: str, long: bool) -> None:
    assert long_digits(text) is long


def test_loads_errors_are_jsons() -> None:
    with pytest.raises(json.JSONDecodeError) as ours:
        loads('{"a": 1,}')
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads('{"a": 1,}')
    assert (ours.value.msg, ours.value.pos) == (theirs.value.msg, theirs.value.pos)


def test_dumps_line_writes_every_value_as_one_line() -> None:
    line = dumps_line({"big": 2**70, "nan": math.nan, "text": "é\nx", "other": object()})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    back = json.loads(line)
    assert back["big"] == 2**70 and back["text"] == "é\nx" and back["other"].startswith("<object")
    assert back["nan"] is None or math.isnan(back["nan"])


def test_client_settings_come_from_the_providers_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.providers import Endpoints, Provider
    from harness.runs import client_settings

    monkeypatch.setenv("SETTINGS_KEY", "sk-settings-1234567890")
    monkeypatch.setenv("SETTINGS_TEAM", "team-7")
    provider = Provider(
        name="p",
        base_url="http://x/v1",
        model="m",
        api_key_env="SETTINGS_KEY",
        schema="openai",
        max_parallel_requests=3,
        timeout=12,
        headers={"X-Team": "${SETTINGS_TEAM}"},
    )
    endpoints = Endpoints("http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1")
    live = client_settings(provider, endpoints, "live")
    assert (live.base_url, live.embeddings_base_url) == ("http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1")
    assert (live.api_key, live.headers, live.max_parallel_requests, live.timeout, live.wait) == (
        "sk-settings-1234567890",
        {"X-Team": "team-7"},
        3,
        12,
        True,
    )
    replay = client_settings(provider, endpoints, "replay", max_parallel_requests=1, timeout=5.0, retries=0)
    assert (replay.max_parallel_requests, replay.timeout, replay.retries, replay.wait) == (1, 5.0, 0, False)
