"""Every fault a server can throw ends as a recorded outcome; the run carries on."""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.checks import CheckContext
from harness.checks.judges.ranges import judge_case
from harness.engine import DedupingSender, plan, run_units
from harness.generation import build_matrix
from harness.generation.matrix import base_body
from harness.results import ResultsWriter, Verdict, read_results
from harness.schema import Surface
from harness.transport import ClientSettings, Exchange, Outcome, ProviderClient
from harness.transport.cassettes import Cassette, cassette
from tests.fault_server import FaultServer, fault_server


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with fault_server() as running:
        yield running


def _send(
    server: FaultServer, fault: str, stream: bool = False, tape: Cassette | None = None, **settings: float
) -> Exchange:
    async def go() -> Exchange:
        options = {
            "timeout": 2.0,
            "retries": 1,
            "backoff_base": 0.01,
            "max_body_bytes": 1024 * 1024,
            **settings,
        }
        client_settings = ClientSettings(base_url=server.url(fault), **options)  # type: ignore[arg-type]
        async with ProviderClient(client_settings, cassette=tape) as client:
            return await client.send({**base_body("fault"), "stream": stream})

    return asyncio.run(go())


def _verdict(exchange: Exchange, catalogue: dict[str, Surface]) -> Verdict:
    case = build_matrix(catalogue["openai"], "fault", ["temperature"])[0]
    return judge_case(case.param, case.expect, case.reason, exchange)[0].verdict


def test_429_honours_retry_after_then_succeeds(server: FaultServer, catalogue: dict[str, Surface]) -> None:
    exchange = _send(server, "rate-limited-once")
    assert exchange.ok and exchange.attempts == 2
    assert exchange.waited_s == 1.0  # Retry-After: 1, not the exponential backoff
    assert _verdict(exchange, catalogue) is Verdict.ACCEPTED


def test_429_that_never_ends_is_inconclusive(server: FaultServer, catalogue: dict[str, Surface]) -> None:
    exchange = _send(server, "rate-limited", max_backoff=0.05)
    assert exchange.status == 429 and exchange.attempts == 2 and exchange.waited_s == 0.05
    assert _verdict(exchange, catalogue) is Verdict.INCONCLUSIVE


@pytest.mark.parametrize("status", ["500", "503"])
def test_5xx_is_retried_then_a_server_error(server: FaultServer, catalogue: dict[str, Surface], status: str) -> None:
    exchange = _send(server, status)
    assert exchange.status == int(status) and exchange.attempts == 2
    assert _verdict(exchange, catalogue) is Verdict.SERVER_ERROR


def test_timeout_is_a_transport_error(server: FaultServer, catalogue: dict[str, Surface]) -> None:
    exchange = _send(server, "hang", timeout=0.3, retries=0)
    assert exchange.outcome is Outcome.TRANSPORT_ERROR and exchange.error.startswith("timeout")
    assert _verdict(exchange, catalogue) is Verdict.TRANSPORT_ERROR


def test_connection_reset_is_a_transport_error(server: FaultServer, catalogue: dict[str, Surface]) -> None:
    exchange = _send(server, "reset")
    assert exchange.outcome is Outcome.TRANSPORT_ERROR and exchange.error.startswith("reset")
    assert exchange.attempts == 2  # a reset is transient: retried once
    assert _verdict(exchange, catalogue) is Verdict.TRANSPORT_ERROR


def test_malformed_json_is_a_server_error(server: FaultServer, catalogue: dict[str, Surface]) -> None:
    exchange = _send(server, "malformed-json")
    assert exchange.status == 200 and any("malformed JSON" in p for p in exchange.problems)
    assert _verdict(exchange, catalogue) is Verdict.SERVER_ERROR


def test_truncated_sse_is_a_server_error(server: FaultServer, catalogue: dict[str, Surface]) -> None:
    exchange = _send(server, "truncated-sse", stream=True)
    assert exchange.status == 200 and len(exchange.chunks) == 1 and not exchange.stream_done
    assert any("truncated" in p for p in exchange.problems)
    assert _verdict(exchange, catalogue) is Verdict.SERVER_ERROR


def test_oversized_body_is_capped(server: FaultServer, catalogue: dict[str, Surface]) -> None:
    exchange = _send(server, "oversized")
    assert exchange.outcome is Outcome.TRANSPORT_ERROR and exchange.error.startswith("oversized")
    assert len(exchange.text) <= 1024 * 1024
    assert _verdict(exchange, catalogue) is Verdict.TRANSPORT_ERROR


def test_wrong_content_type_is_a_server_error(server: FaultServer, catalogue: dict[str, Surface]) -> None:
    exchange = _send(server, "wrong-content-type")
    assert any("wrong content type: text/html" in p for p in exchange.problems)
    assert _verdict(exchange, catalogue) is Verdict.SERVER_ERROR


def test_a_faulty_case_leaves_the_others_unaffected(
    server: FaultServer, catalogue: dict[str, Surface], tmp_path: Path
) -> None:
    surface = catalogue["oruel"]

    async def go() -> None:
        settings = ClientSettings(base_url=server.url("flaky"), retries=0, max_parallel_requests=4)
        async with ProviderClient(settings) as client:
            ctx = CheckContext(
                "flaky",
                surface,
                "fault",
                build_matrix(surface, "fault", ["temperature", "top_k"]),
                DedupingSender(client),
            )
            writer = ResultsWriter(tmp_path / "results.jsonl")
            await run_units(plan(ctx, ["range"]), writer, ctx, set())
            writer.close()

    asyncio.run(go())
    records = read_results(tmp_path / "results.jsonl")
    by_param: dict[str, set[Verdict]] = {}
    for record in records:
        by_param.setdefault(record.param, set()).add(record.verdict)
    assert Verdict.SERVER_ERROR in by_param["temperature"]
    # top_k cases never mention temperature (except pairwise ones, which are not in --params)
    assert Verdict.SERVER_ERROR not in by_param["top_k"]
    assert by_param["top_k"] <= {Verdict.ACCEPTED, Verdict.LENIENT}


def test_a_body_that_is_not_utf8_is_the_same_problem_in_replay(server: FaultServer, tmp_path: Path) -> None:
    path = tmp_path / "cassette.json"
    with cassette(path, "record", local=True) as tape:
        recorded = _send(server, "non-utf8", tape=tape)
    with cassette(path, "replay", local=True) as tape:
        replayed = _send(server, "non-utf8", tape=tape)
    assert any("not valid UTF-8 (byte 0xff" in p for p in recorded.problems), recorded.problems
    assert replayed.problems == recorded.problems


def test_a_trickled_body_meets_the_total_deadline(server: FaultServer, catalogue: dict[str, Surface]) -> None:
    """Each piece arrives within the read timeout; the whole takes seconds: still a timeout."""
    started = time.monotonic()
    exchange = _send(server, "trickle", timeout=1.0, retries=0)
    assert exchange.outcome is Outcome.TRANSPORT_ERROR and exchange.error.startswith("timeout"), exchange.error
    assert time.monotonic() - started < 2.0
    assert _verdict(exchange, catalogue) is Verdict.TRANSPORT_ERROR


@pytest.mark.parametrize("mode", ["live", "record"])
def test_the_body_cap_holds_after_decompression_and_while_recording(
    server: FaultServer, catalogue: dict[str, Surface], tmp_path: Path, mode: str
) -> None:
    """A gzip bomb (256 MiB of JSON in 1 MB) and a plain oversized body are cut at the cap,
    live and when recording, and the cassette keeps no more than the cap."""
    path = tmp_path / "cassette.json"
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with cassette(path, mode, local=True) as tape:  # type: ignore[arg-type]
        bomb, oversized = _send(server, "gzip-bomb", tape=tape), _send(server, "oversized", tape=tape)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    for exchange in (bomb, oversized):
        assert exchange.outcome is Outcome.TRANSPORT_ERROR and exchange.error.startswith("oversized"), exchange.error
        assert _verdict(exchange, catalogue) is Verdict.TRANSPORT_ERROR
    assert grown_mib < 64, f"peak memory grew by {grown_mib:.0f} MiB"
    if mode == "record":
        assert path.stat().st_size < 3 * 1024 * 1024  # two capped bodies (1 MiB each) and their envelopes
        with cassette(path, "replay", local=True) as tape:
            replayed = _send(server, "gzip-bomb", tape=tape)
        assert replayed.outcome is Outcome.TRANSPORT_ERROR and replayed.error.startswith("oversized")
