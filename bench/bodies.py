"""Reading real bodies: 500 bodies of tests/data/hosted/ (cycling the corpus), each parsed as the
client parses it, read by the client level (the OpenAI SDK over the recorded bytes) and held to
the letter by kind, as the response-schema and response-letter checks do. Issue 27's goal: under
5 s."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from harness.checks.judges.client_level import read_chat
from harness.checks.judges.letter import deviations, schema_of
from harness.checks.judges.outcome import in_band_error
from harness.transport.recorded import exchange_from_body, recorded_bodies

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "hosted"
BODIES = 500


def read_bodies(count: int = BODIES) -> tuple[float, int]:
    """Seconds to read ``count`` corpus bodies from their bytes through both levels, and how many
    the client level found unusable."""
    recorded = [(b.exchange, b.entry) for b in recorded_bodies(CORPUS)]
    unusable = 0
    started = time.perf_counter()
    for exchange, _ in itertools.islice(itertools.cycle(recorded), count):
        again = exchange_from_body(exchange.status or 0, exchange.content_type, exchange.raw, exchange.body)
        schema = schema_of(again)
        if schema is None or in_band_error(again) is not None:
            unusable += 1
            continue
        if schema != "embedding-list" and not read_chat(again).usable:
            unusable += 1
        deviations(again, schema)
    return time.perf_counter() - started, unusable


def run() -> list[dict[str, Any]]:
    read_bodies(20)  # warm: the SDK's client and the schemas are built once per process
    seconds, unusable = read_bodies()
    print(f"bodies: {BODIES} in {seconds:.2f} s ({unusable} not usable by clients)", flush=True)
    return [
        {
            "figure": f"bodies: {BODIES} real bodies through the client level and the letter (s)",
            "value": round(seconds, 3),
            "goal": "<= 5 s",
        }
    ]
