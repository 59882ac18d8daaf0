"""Replay and record as httpx transports: a cassette is served in the order recorded, matched
on the canonical body; what recording writes is vcrpy's format, scrubbed, and replays to the
same exchanges; the body cap is a transport."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vcr.serialize import deserialize
from vcr.serializers import jsonserializer

from harness.errors import CassetteError
from harness.generation import canonical_json
from harness.transport import ClientSettings, Exchange, Outcome, ProviderClient
from harness.transport.cassettes import INVALID_UTF8_HEADER, Mode, _canonical, cassette
from harness.transport.failures import TransportFailure
from harness.transport.limits import BodyCapTransport
from harness.transport.transports import ReplayTransport

URI = "http://127.0.0.1:0/v1/chat/completions"
CANARY = "sk-canary-cassette-0f1e2d3c4b5a6978"
Handler = Callable[[httpx.Request], httpx.Response]


def _interaction(body: Any, answer: Any, status: int = 200, headers: dict[str, list[str]] | None = None) -> Any:
    return {
        "request": {
            "method": "POST",
            "uri": URI,
            "body": body if isinstance(body, str) else canonical_json(body),
            "headers": {"accept": ["*/*"], "content-type": ["application/json"]},
        },
        "response": {
            "status": {"code": status, "message": "OK" if status == 200 else "Internal Server Error"},
            "headers": {"content-type": ["application/json"], **(headers or {})},
            "body": {"string": answer if isinstance(answer, str) else json.dumps(answer)},
        },
    }


def _completion(content: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}


def _write(path: Path, interactions: list[Any]) -> Path:
    path.write_text(json.dumps({"version": 1, "interactions": interactions}, indent=1))
    return path


def _settings(**fields: Any) -> ClientSettings:
    # Any port: a local provider's cassette stores 127.0.0.1:0, whatever port it listened on.
    return ClientSettings(**{"base_url": "http://127.0.0.1:5999/v1", "backoff_base": 0.001, **fields})


def _run(
    path: Path,
    mode: Mode,
    bodies: list[dict[str, Any]],
    transport: httpx.AsyncBaseTransport | None = None,
    **settings: Any,
) -> list[Exchange]:
    async def go() -> list[Exchange]:
        with cassette(path, mode, local=True) as tape:
            async with ProviderClient(_settings(**settings), transport=transport, cassette=tape) as client:
                return [await client.send(body) for body in bodies]

    return asyncio.run(go())


def _evidence(exchange: Exchange) -> dict[str, Any]:
    shown = exchange.to_json(full=True)
    for timing in ("elapsed_ms", "waited_s"):  # (the backoff has jitter; replay computes its own)
        shown.pop(timing)
    return {**shown, "text": exchange.text, "problems": exchange.problems, "failure": exchange.failure}


# -- replay ----------------------------------------------------------------------------------


def test_identical_requests_are_served_in_the_order_recorded(tmp_path: Path) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    other = {**body, "seed": 1}
    path = _write(
        tmp_path / "c.json",
        [
            _interaction(body, _completion("one")),
            _interaction(other, _completion("other")),
            _interaction(body, _completion("two")),
            _interaction(body, _completion("three")),
        ],
    )
    exchanges = _run(path, "replay", [body, body, other, body, body, other])
    assert [e.content() for e in exchanges[:5]] == ["one", "two", "other", "three", None]
    for missing in (exchanges[4], exchanges[5]):
        assert missing.outcome is Outcome.NOT_RECORDED and missing.attempts == 1
        assert missing.error == "no recorded interaction matches this request"
        assert missing.failure is None


def test_a_request_matches_its_recording_whatever_the_key_order_or_spacing(tmp_path: Path) -> None:
    recorded = '{"messages": [{"content": "hi", "role": "user"}],   "model": "m", "temperature": 0.5}'
    path = _write(tmp_path / "c.json", [_interaction(recorded, _completion("yes"))])
    sent = {"temperature": 0.5, "model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert _run(path, "replay", [sent])[0].content() == "yes"
    assert _run(path, "replay", [{**sent, "temperature": 0.6}])[0].outcome is Outcome.NOT_RECORDED


def test_a_request_sent_in_its_own_key_order_takes_the_next_recorded_answer_for_its_body(tmp_path: Path) -> None:
    # The client sends canonical JSON, looked up as sent; a probe of key order sends its own
    # order, looked up by its canonical form: both draw from the same answers, in the order
    # recorded.
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    path = _write(tmp_path / "c.json", [_interaction(body, _completion(word)) for word in ("one", "two", "three")])
    own_order = json.dumps({"messages": body["messages"], "model": "m"}, separators=(",", ":"))
    assert own_order != canonical_json(body)

    async def go() -> list[Exchange]:
        with cassette(path, "replay", local=True) as tape:
            async with ProviderClient(_settings(), cassette=tape) as client:
                return [
                    await client.send(body, encoded=own_order),
                    await client.send(body),
                    await client.send(body, encoded=own_order),
                    await client.send(body, encoded=own_order),
                ]

    exchanges = asyncio.run(go())
    assert [e.content() for e in exchanges] == ["one", "two", "three", None]
    assert exchanges[3].outcome is Outcome.NOT_RECORDED


def test_replay_sends_nothing_and_a_missing_cassette_has_nothing(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("replay sent a request")

    path = tmp_path / "none" / "c.json"
    (exchange,) = _run(path, "replay", [{"model": "m"}], transport=httpx.MockTransport(handler))
    assert exchange.outcome is Outcome.NOT_RECORDED
    assert not path.exists()  # replay never writes


def test_replay_serves_the_recorded_status_headers_and_body(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.json",
        [_interaction({"model": "m"}, "not json", status=500, headers={"retry-after": ["0"], "x-a": ["1", "2"]})],
    )

    async def go() -> httpx.Response:
        with cassette(path, "replay", local=True) as tape:
            assert tape is not None
            async with httpx.AsyncClient(transport=ReplayTransport(tape)) as client:
                return await client.post(URI, content=canonical_json({"model": "m"}))

    response = asyncio.run(go())
    assert (response.status_code, response.reason_phrase, response.text) == (500, "Internal Server Error", "not json")
    assert response.headers.get_list("x-a") == ["1", "2"]


def test_a_malformed_cassette_is_one_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"interactions": [{"request": {"method": "POST"\n')
    with pytest.raises(CassetteError, match=r"c.json: malformed cassette: invalid JSON at line 2 column 1"):
        _run(path, "replay", [{"model": "m"}])


# -- record ----------------------------------------------------------------------------------


class _Provider:
    """Answers by the request: a completion numbered per call, an SSE stream, a 500 once, a
    body that is not UTF-8, an echo of what it was sent (headers and body) with a cookie."""

    def __init__(self) -> None:
        self.calls = 0
        self.flaked = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        body = json.loads(request.content)
        kind = body["messages"][0]["content"]
        if kind == "stream":
            text = 'data: {"choices": [{"index": 0, "delta": {"content": "hel"}}]}\n\ndata: [DONE]\n\n'
            return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})
        if kind == "flaky" and not self.flaked:
            self.flaked = True
            return httpx.Response(500, json={"error": {"message": "boom"}})
        if kind == "bytes":
            raw = json.dumps(_completion("caf\u00e9")).encode().replace(b"\\u00e9", b"\xff")
            return httpx.Response(200, content=raw, headers={"content-type": "application/json"})
        if kind == "echo":
            seen = f"{dict(request.headers)} {request.content.decode()} Bearer {CANARY}"
            return httpx.Response(
                400,
                json={"error": {"message": seen}},
                headers={"x-echo": seen, "set-cookie": f"session={CANARY}"},
            )
        return httpx.Response(200, json=_completion(f"{kind} #{self.calls}"))


def _bodies(*kinds: str) -> list[dict[str, Any]]:
    streamed = {"stream": True}
    return [
        {"model": "m", "messages": [{"role": "user", "content": kind}], **(streamed if kind == "stream" else {})}
        for kind in kinds
    ]


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CASSETTE_CANARY_API_KEY", CANARY)  # a credential by its name
    yield CANARY


def test_recording_then_replay_gives_the_same_exchanges(tmp_path: Path, canary: str) -> None:
    path = tmp_path / "provider" / "c.json"
    bodies = _bodies("plain", "plain", "stream", "flaky", "bytes", "echo", "plain")
    recorded = _run(path, "record", bodies, transport=httpx.MockTransport(_Provider()), api_key=canary)
    replayed = _run(path, "replay", bodies, wait=False)
    assert [e.content() for e in recorded if e.ok] == [
        "plain #1",
        "plain #2",
        "hel",
        "flaky #5",
        "caf\ufffd",
        "plain #8",
    ]
    assert recorded[3].attempts == 2  # the 500, retried: both answers recorded, both replayed
    assert "not valid UTF-8 (byte 0xff at offset 74)" in " ".join(recorded[4].problems)
    for live, again in zip(recorded[:5] + recorded[6:], replayed[:5] + replayed[6:], strict=True):
        assert _evidence(again) == _evidence(live)
    # The echo is the provider's answer in the exchange, scrubbed only in the cassette.
    assert canary in recorded[5].text and canary not in replayed[5].text and "REDACTED" in replayed[5].text
    assert replayed[5].status == 400


def test_recording_writes_vcrpys_format_with_no_secret(tmp_path: Path, canary: str) -> None:
    path = tmp_path / "c.json"
    _run(
        path,
        "record",
        _bodies("plain", "echo", "bytes"),
        transport=httpx.MockTransport(_Provider()),
        api_key=canary,
        headers={"X-Api-Key": canary, "X-Trace": "per-run"},
    )
    text = path.read_text()
    assert canary not in text and "REDACTED" in text
    data = json.loads(text)
    assert list(data) == ["version", "interactions"] and data["version"] == 1
    assert text == json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    for item in data["interactions"]:
        assert item["request"]["uri"] == URI  # the stable local address
        assert set(item["request"]["headers"]) == {"accept", "content-type"}
        assert not {"set-cookie", "authorization", "x-api-key"} & set(item["response"]["headers"])
    assert data["interactions"][2]["response"]["headers"][INVALID_UTF8_HEADER] == ["ff@74"]
    requests, responses = deserialize(text, jsonserializer)  # vcrpy's own reading
    assert len(requests) == len(responses) == 3 and requests[0].method == "POST"
    assert json.loads(responses[0]["body"]["string"]) == _completion("plain #1")


def test_a_partial_re_record_keeps_what_it_did_not_send_again(tmp_path: Path) -> None:
    first, second = _bodies("a", "b")
    path = _write(
        tmp_path / "c.json", [_interaction(first, _completion("old a")), _interaction(second, _completion("old b"))]
    )
    _run(path, "record", [first], transport=httpx.MockTransport(_Provider()))
    assert [e.content() for e in _run(path, "replay", [first, second])] == ["a #1", "old b"]
    assert [i["request"]["body"] for i in json.loads(path.read_text())["interactions"]] == [
        canonical_json(second),
        canonical_json(first),
    ]


def test_recording_new_only_keeps_every_recorded_answer_and_adds_what_is_missing(tmp_path: Path) -> None:
    first, second = _bodies("a", "b")
    path = _write(tmp_path / "c.json", [_interaction(first, _completion("old a"))])
    before = json.loads(path.read_text())["interactions"][0]
    provider = _Provider()

    async def go() -> list[Exchange]:
        with cassette(path, "record", local=True, keep_recorded=True) as tape:
            async with ProviderClient(_settings(), transport=httpx.MockTransport(provider), cassette=tape) as client:
                # `first` twice: once served from the cassette, once more than recorded (sent).
                return [await client.send(body) for body in (first, second, first)]

    assert [e.content() for e in asyncio.run(go())] == ["old a", "b #1", "a #2"]
    assert provider.calls == 2  # the recorded answer was served, not sent again
    interactions = json.loads(path.read_text())["interactions"]
    assert interactions[0] == before  # byte for byte what was recorded
    assert [e.content() for e in _run(path, "replay", [first, second, first])] == ["old a", "b #1", "a #2"]
    # The control: a plain partial re-record replaces the recorded answer.
    _run(path, "record", [first], transport=httpx.MockTransport(_Provider()))
    assert _run(path, "replay", [first])[0].content() == "a #1"


def test_a_request_that_fails_is_not_recorded_and_nothing_unchanged_is_written(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    path = tmp_path / "c.json"
    (exchange,) = _run(path, "record", _bodies("x"), transport=httpx.MockTransport(handler), retries=0)
    assert exchange.failure is TransportFailure.CONNECT and not path.exists()


def test_live_has_no_cassette(tmp_path: Path) -> None:
    with cassette(tmp_path / "p" / "c.json", "live", local=True) as tape:
        assert tape is None
    assert not (tmp_path / "p").exists()


# -- the body cap ----------------------------------------------------------------------------


def _capped(handler: Handler, cap: int) -> BodyCapTransport:
    return BodyCapTransport(httpx.MockTransport(handler), cap)


def test_the_cap_decodes_a_gzip_body_under_it(tmp_path: Path) -> None:
    payload = json.dumps(_completion("zipped")).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-encoding": "gzip", "content-type": "application/json"}
        return httpx.Response(200, content=gzip.compress(payload), headers=headers)

    (exchange,) = _run(tmp_path / "c.json", "live", _bodies("x"), transport=_capped(handler, 1024))
    assert exchange.content() == "zipped" and not exchange.problems
    path = tmp_path / "r.json"
    _run(path, "record", _bodies("x"), transport=_capped(handler, 1024))
    stored = json.loads(path.read_text())["interactions"][0]["response"]
    assert stored["body"]["string"] == payload.decode() and "content-encoding" not in stored["headers"]


@pytest.mark.parametrize("zipped", [False, True])
def test_a_body_over_the_cap_is_oversized_and_not_retried(tmp_path: Path, zipped: bool) -> None:
    payload = b'{"pad": "' + b" " * 100_000 + b'"}'

    def handler(request: httpx.Request) -> httpx.Response:
        if zipped:
            return httpx.Response(200, content=gzip.compress(payload), headers={"content-encoding": "gzip"})
        return httpx.Response(200, content=payload)

    path = tmp_path / "c.json"
    (exchange,) = _run(path, "record", _bodies("x"), transport=_capped(handler, 1000), max_body_bytes=1000)
    assert exchange.outcome is Outcome.TRANSPORT_ERROR and exchange.failure is TransportFailure.OVERSIZED
    assert exchange.error == "oversized body: more than 1000 bytes, not read further" and exchange.attempts == 1
    assert len(json.loads(path.read_text())["interactions"][0]["response"]["body"]["string"]) == 1001


def _json_canonical(body: bytes) -> str:
    """The definition cassettes match on: json's sorted, spaceless text of the body."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", errors="replace")


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(value=_JSON_VALUES, spaced=st.booleans(), reordered=st.booleans())
def test_a_body_is_canonical_exactly_as_json_writes_it(value: Any, spaced: bool, reordered: bool) -> None:
    # The quick path (orjson parses what json would read as UTF-8) must agree with json's
    # definition on every body: canonical ones, spaced ones, unsorted ones, orjson's own
    # renderings (0.00001 where json writes 1e-05, a float for an integer beyond 64 bits).
    texts = [json.dumps(value, sort_keys=not reordered, separators=(", ", ": ") if spaced else (",", ":"))]
    with contextlib.suppress(TypeError):
        texts.append(orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode())
    for text in texts:
        body = text.encode()
        assert _canonical(body) == _json_canonical(body)


@pytest.mark.parametrize("body", [b"", b"not json", b"\xff\xfe{}", b'{"a":NaN}', b'{"a":1,"a":2}', b'"\\ud800"'])
def test_a_body_json_reads_otherwise_is_canonical_as_json_has_it(body: bytes) -> None:
    assert _canonical(body) == _json_canonical(body)
