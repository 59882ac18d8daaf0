"""Run the units of every enabled check against one provider, concurrently, writing each
record the moment its unit finishes. No formatting, no policy: verdicts come from checks,
words from reports."""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.checks import CheckContext, load_families
from harness.checks.registry import Unit
from harness.generation import canonical_json
from harness.results import Record, ResultsWriter, Verdict
from harness.transport import Exchange, ProviderClient


@dataclass
class RunStats:
    units: int = 0
    skipped: int = 0  # already in results.jsonl (--resume)
    records: list[Record] = field(default_factory=list)
    requests: int = 0  # HTTP requests sent (retries included; shared requests once)
    completion_tokens: int = 0


class DedupingSender:
    """``send`` for checks: identical requests within a run go out once (the matrix's many
    'omitted' cases are one request), unless a check asks for a ``fresh`` repeat."""

    def __init__(self, client: ProviderClient | None) -> None:
        self.client = client
        self._inflight: dict[str, asyncio.Task[Exchange]] = {}
        self._fresh: list[Exchange] = []

    @property
    def exchanges(self) -> list[Exchange]:
        """Every completed exchange of the run so far, each once."""
        done = [t.result() for t in self._inflight.values() if t.done() and not t.cancelled() and t.exception() is None]
        return done + self._fresh

    async def __call__(self, body: dict[str, Any], path: str = "chat/completions", fresh: bool = False) -> Exchange:
        if self.client is None:
            raise RuntimeError("this sender only plans; it has no client")
        if fresh:
            exchange = await self.client.send(body, path)
            self._fresh.append(exchange)
            return exchange
        key = path + "\n" + canonical_json(body)
        task = self._inflight.get(key)
        if task is None:
            client = self.client
            task = asyncio.ensure_future(client.send(body, path))
            self._inflight[key] = task
        return await task


def plan(ctx: CheckContext, checks: list[str] | None = None) -> list[tuple[str, Unit]]:
    """Every (check name, unit) to run, in a stable order."""
    registry = load_families()
    names = checks or [name for name, c in registry.items() if c.enabled]
    return [(name, unit) for name in names for unit in registry[name].units(ctx)]


async def run_units(
    units: list[tuple[str, Unit]],
    writer: ResultsWriter,
    ctx: CheckContext,
    done: set[str],
    on_done: Callable[[int], None] | None = None,
) -> RunStats:
    stats = RunStats()

    async def one(check_name: str, unit: Unit) -> None:
        try:
            records = await unit.run()
        except Exception as err:  # a bug in a check must not end the run; say so loudly
            traceback.print_exc(file=sys.stderr)
            records = [
                Record(
                    ctx.provider,
                    ctx.surface.name,
                    unit.id,
                    unit.param,
                    check_name,
                    Verdict.INCONCLUSIVE,
                    f"harness error in check {check_name!r}: {type(err).__name__}: {err}",
                )
            ]
        for record in records:
            record.unit_id = unit.id
            writer.write(record)
        stats.records.extend(records)
        if on_done:
            on_done(1)

    registry = load_families()
    first: list[tuple[str, Unit]] = []
    last: list[tuple[str, Unit]] = []
    for check_name, unit in units:
        if unit.id in done:
            stats.skipped += 1
            if on_done:
                on_done(1)
            continue
        (last if registry[check_name].after_others else first).append((check_name, unit))
    stats.units = len(first) + len(last)
    await asyncio.gather(*(one(name, unit) for name, unit in first))
    await asyncio.gather(*(one(name, unit) for name, unit in last))
    return stats
