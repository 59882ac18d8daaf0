"""The order checks run in (``Check.phase``): the checks that judge every exchange of a column
(response schemas, routes) run after every unit that sends, those that run after the others
(the gateway's) included, so no body escapes them. Against a provider whose late answer is
broken and one whose is not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from harness.checks import CheckContext
from harness.checks.cost import NOTHING
from harness.checks.findings import Finding
from harness.checks.judges import Judgement
from harness.checks.registry import CHECKS, Check, Unit, load_families
from harness.engine import DedupingSender, plan, run_units
from harness.generation import build_matrix
from harness.results import Record, ResultsWriter, Verdict
from harness.schema import Surface
from harness.transport import ClientSettings, ProviderClient

LATE = {"model": "m", "messages": [{"role": "user", "content": "late"}], "max_tokens": 4}
GOOD = {
    "id": "c",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
}


def _late(ctx: CheckContext) -> list[Unit]:
    """A check that runs after the others and sends one request (as the gateway's does)."""

    async def run() -> list[Finding]:
        exchange = await ctx.send(LATE)
        return [Finding(Judgement(Verdict.ACCEPTED, "sent"), [exchange], check="late", param="(late)", label="x")]

    return [Unit("late.(late).x", "(late)", run, lambda _profile: NOTHING)]


def _records(tmp_path: Path, surface: Surface, broken_late_answer: bool) -> list[Record]:
    def answer(request: httpx.Request) -> httpx.Response:
        late = b'"late"' in request.content
        return httpx.Response(200, json={"choices": "none"} if late and broken_late_answer else GOOD)

    async def go() -> list[Record]:
        settings = ClientSettings(base_url="http://provider.test/v1", retries=0)
        async with ProviderClient(settings, transport=httpx.MockTransport(answer)) as client:
            ctx = CheckContext("p", surface, "m", build_matrix(surface, "m", ["temperature"]), DedupingSender(client))
            writer = ResultsWriter(tmp_path / "results.jsonl")
            stats = await run_units(plan(ctx, ["late", "response-schema"]), writer, ctx, set())
            writer.close()
            return stats.records

    return asyncio.run(go())


@pytest.fixture
def late_check(monkeypatch: pytest.MonkeyPatch) -> None:
    load_families()
    monkeypatch.setitem(CHECKS, "late", Check("late", "test", "sends after the others", _late, after_others=True))


@pytest.mark.usefixtures("late_check")
@pytest.mark.parametrize("broken", [False, True])
def test_the_response_schemas_judge_what_a_check_after_the_others_sent(
    tmp_path: Path, catalogue: dict[str, Surface], broken: bool
) -> None:
    registry = load_families()
    assert registry["late"].phase == 1 and registry["response-schema"].phase == 2
    records = _records(tmp_path, catalogue["openai"], broken)
    (late,) = [r for r in records if r.check == "late"]
    assert late.verdict is Verdict.ACCEPTED
    (schema,) = [r for r in records if r.check == "response-schema"]
    if broken:
        assert schema.verdict is Verdict.SERVER_ERROR and "1 of 1 chat-completion bodies" in schema.detail
    else:
        assert schema.verdict is Verdict.ACCEPTED and "reads all 1 chat-completion bodies" in schema.detail
