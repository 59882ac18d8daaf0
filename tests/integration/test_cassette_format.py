"""The transports write and serve what vcrpy wrote and served. The same requests to the fault
server are recorded twice: through vcrpy's process patching (the harness's former mechanism,
rebuilt here as the reference: test code may patch) and through ``RecordingTransport``. The
two cassettes are byte for byte the same, and each replays, through vcrpy and through
``ReplayTransport``, to the same exchanges as were recorded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
from vcr.request import Request as VcrRequest

from harness.redaction import known_secrets, refresh_secrets
from harness.transport import ClientSettings, Exchange, ProviderClient
from harness.transport.cassettes import (
    Cassette,
    CassetteSerializer,
    Mode,
    cassette,
    same_request,
    scrub_request,
    scrub_response,
)
from harness.transport.limits import BodyCapTransport
from tests.fault_server import FaultServer, fault_server

CANARY = "sk-canary-format-9a8b7c6d5e4f3a2b"
MESSAGES = [{"role": "user", "content": "Say hello."}]
# (fault, body): repeats, a retried 500, an echo of the key, bytes that are not UTF-8, a stream
# cut short, a wrong content type, a 404 and a 500 by the body.
SENDS: list[tuple[str, dict[str, Any]]] = [
    ("ok", {"model": "m", "messages": MESSAGES}),
    ("ok", {"messages": MESSAGES, "model": "m"}),
    ("echo", {"model": "m", "messages": MESSAGES, "n": 2}),
    ("echo", {"model": "m", "messages": MESSAGES}),
    ("500", {"model": "m", "messages": MESSAGES}),
    ("non-utf8", {"model": "m", "messages": MESSAGES}),
    ("truncated-sse", {"model": "m", "messages": MESSAGES, "stream": True}),
    ("wrong-content-type", {"model": "m", "messages": MESSAGES}),
    ("not-found-for-tools", {"model": "m", "messages": MESSAGES, "tools": []}),
    ("flaky", {"model": "m", "messages": MESSAGES, "temperature": 0.5}),
    ("flaky", {"model": "m", "messages": MESSAGES}),
    ("ok", {"model": "m", "messages": MESSAGES}),
]


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with fault_server() as running:
        yield running


@pytest.fixture(autouse=True)
def canary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORMAT_CANARY_API_KEY", CANARY)


@contextlib.contextmanager
def vcrpy_cassette(path: Path, mode: Mode) -> Iterator[None]:
    """The former ``cassette()``: vcrpy patching httpx, with the harness's matcher,
    serializer and scrubbing (its linear search: the index only made it faster)."""
    refresh_secrets()

    def matcher(r1: VcrRequest, r2: VcrRequest) -> None:
        if not same_request(r1, r2):
            raise AssertionError("requests differ")

    recorder = vcr.VCR(
        serializer="harness-json",
        record_mode="none" if mode == "replay" else "all",
        match_on=["request"],
        before_record_request=lambda request: scrub_request(request, True, known_secrets()),
        before_record_response=lambda response: scrub_response(response, known_secrets()),
        decode_compressed_response=True,
    )
    recorder.register_matcher("request", matcher)
    recorder.register_serializer("harness-json", CassetteSerializer(path))
    with recorder.use_cassette(str(path)):
        yield


def _send_all(server: FaultServer, tape: Cassette | None, replay: bool) -> list[Exchange]:
    """Through the harness's transports (``tape``), or without one through httpx's own
    transport under the cap: the one vcrpy patches (so the reference also shows that the
    harness's ``http://`` transport records what httpx's own did)."""

    async def go() -> list[Exchange]:
        settings = ClientSettings(
            base_url=f"http://127.0.0.1:{server.port}", api_key=CANARY, retries=1, backoff_base=0.001, wait=not replay
        )
        httpx_own = None if tape is not None else BodyCapTransport(httpx.AsyncHTTPTransport(), settings.max_body_bytes)
        async with ProviderClient(settings, transport=httpx_own, cassette=tape) as client:
            return [await client.send(body, path=f"{fault}/v1/chat/completions") for fault, body in SENDS]

    return asyncio.run(go())


def _shown(exchanges: list[Exchange]) -> list[dict[str, Any]]:
    shown = []
    for exchange in exchanges:
        data = exchange.to_json(full=True)
        for timing in ("elapsed_ms", "waited_s"):
            data.pop(timing)
        shown.append({**data, "text": exchange.text, "failure": exchange.failure})
    return shown


def test_recording_transport_writes_what_vcrpy_wrote_and_both_replay_alike(server: FaultServer, tmp_path: Path) -> None:
    by_vcrpy, by_transport = tmp_path / "vcrpy.json", tmp_path / "transport.json"
    with vcrpy_cassette(by_vcrpy, "record"):
        recorded = _send_all(server, None, replay=False)
    with cassette(by_transport, "record", local=True) as tape:
        again = _send_all(server, tape, replay=False)
    assert _shown(again) == _shown(recorded)
    text = by_transport.read_text()
    assert text == by_vcrpy.read_text()
    assert CANARY not in text and "REDACTED" in text and text.count('"request"') == 14  # (two 500s retried)

    with cassette(by_vcrpy, "replay", local=True) as tape:
        replayed = _send_all(server, tape, replay=True)
    with vcrpy_cassette(by_transport, "replay"):
        replayed_by_vcrpy = _send_all(server, None, replay=True)
    expected = _shown(recorded)
    # The echo is scrubbed in the cassette, so its replay differs from the live answer there only.
    for shown in (_shown(replayed), _shown(replayed_by_vcrpy)):
        assert [s for i, s in enumerate(shown) if SENDS[i][0] != "echo"] == [
            s for i, s in enumerate(expected) if SENDS[i][0] != "echo"
        ]
    assert _shown(replayed) == _shown(replayed_by_vcrpy)
    assert {e.status for e in replayed} >= {200, 400, 404, 500}
