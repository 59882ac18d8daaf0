"""The recording tap: it forwards as it was sent, keeps every forwarded body (credentials
scrubbed), and its record replays with no server; `harness tap` fails in one line on bad input."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.cli import main
from harness.generation.matrix import base_body
from harness.redaction import REDACTED
from harness.transport import ClientSettings, Exchange, ProviderClient
from harness.transport.cassettes import cassette
from harness.transport.tap import TapRoute, TapServer
from tests.fault_server import FaultServer, fault_server

SECRET = "sk-tap-test-0123456789"


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with fault_server() as running:
        yield running


def test_the_tap_forwards_and_keeps_the_body_without_the_key(server: FaultServer, tmp_path: Path) -> None:
    out = tmp_path / "tap.jsonl"
    body = {**base_body("m"), "top_p": 1.5}
    with TapServer(server.url("ok"), out=out) as tap:
        direct = httpx.post(server.url("ok") + "/chat/completions", json=body, timeout=10)
        tapped = httpx.post(
            tap.base_url + "/chat/completions", json=body, headers={"authorization": f"Bearer {SECRET}"}, timeout=10
        )
    assert tapped.status_code == direct.status_code == 200
    assert tapped.json() == direct.json()
    (entry,) = tap.entries
    assert entry.body == body and entry.status == 200 and entry.path.endswith("/chat/completions")
    assert entry.headers["authorization"] == REDACTED
    written = out.read_text()
    assert SECRET not in written and json.loads(written)["body"]["top_p"] == 1.5


def test_an_unreachable_upstream_is_a_502_and_an_entry(tmp_path: Path) -> None:
    with TapServer("http://127.0.0.1:9/v1") as tap:
        answer = httpx.post(tap.base_url + "/chat/completions", json=base_body("m"), timeout=10)
    assert answer.status_code == 502 and tap.entries[0].status is None


def test_a_tap_route_records_and_replays_with_no_server(server: FaultServer, tmp_path: Path) -> None:
    """Recorded: each request with what was forwarded for it. Replayed: the same, from the
    cassettes alone (the gateway here is the tap itself: what it forwards is what was sent)."""
    bodies = [{**base_body("m"), "temperature": t} for t in (0.5, 2.5, 0.5)]
    gateway_path, tap_path = tmp_path / "openai.json", tmp_path / "openai.tap.json"

    async def go(base_url: str, mode: Any, tap: TapServer | None) -> list[tuple[Exchange, Any]]:
        with cassette(gateway_path, mode, local=True) as tape, cassette(tap_path, mode, local=True) as tap_tape:
            async with ProviderClient(ClientSettings(base_url=base_url, retries=0), cassette=tape) as client:

                async def send(body: dict[str, Any]) -> Exchange:
                    return await client.send(body)

                route = TapRoute(send, tap, tap_tape)
                return [await route.through(body) for body in bodies]

    with TapServer(server.url("ok")) as tap:
        recorded = asyncio.run(go(tap.base_url, "record", tap))
    replayed = asyncio.run(go("http://127.0.0.1:9/ok/v1", "replay", None))
    for (live, seen), (again, seen_again), body in zip(recorded, replayed, bodies, strict=True):
        assert seen is not None and seen.body == body
        assert seen_again is not None and seen_again.bodies == seen.bodies
        assert again.status == live.status == 200
    with pytest.raises(ValueError, match="needs a running tap"):
        TapRoute(lambda _b: asyncio.sleep(0), None, None)  # type: ignore[arg-type,return-value]


def test_harness_tap_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["--upstream", "ftp://host/v1", "--out", str(tmp_path / "a.jsonl")], "expected an http(s) URL"),
        (["--upstream", "http://127.0.0.1:9/v1", "--port", "70000", "--out", str(tmp_path / "a")], "not a port"),
        (["--upstream", "http://127.0.0.1:9/v1", "--out", str(tmp_path)], "cannot write"),
    ]
    for args, message in cases:
        assert main(["tap", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_a_chunked_request_body_is_forwarded_whole(server: FaultServer) -> None:
    """Some gateways stream the request body (Transfer-Encoding: chunked, no length)."""
    body = {**base_body("m"), "top_k": 1}
    raw = json.dumps(body).encode()

    def pieces() -> Iterator[bytes]:
        yield raw[:10]
        yield raw[10:]

    with TapServer(server.url("ok")) as tap:
        answer = httpx.post(tap.base_url + "/chat/completions", content=pieces(), timeout=10)
    assert answer.status_code == 200 and tap.entries[0].body == body
