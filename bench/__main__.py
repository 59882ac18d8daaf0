"""`nox -s bench` (or `python -m bench`): how fast, how cheap, how big. Prints a table with
each figure beside its goal and writes bench/results.json. Numbers, not pass/fail.

1. live overhead: the full matrix of the local llama.cpp server, sent by the harness and by a
   bare httpx asyncio loop at the same concurrency, alternated, same server;
2. replay: every shipped cassette, wall time and cases per second;
3. request economy: requests and completion tokens of a full conformance run per provider;
4. scale: peak RSS and wall time of a 10,000-case replay (recorded here from the real server,
   never committed), and the HTML report of 10 providers x 1,000 cases (size, open time);
5. seed-free: llama.cpp held to openrouter, seeded once and five times with the seed withheld:
   cost per decisive verdict, and whether the seedless runs agree;
6. bodies: 500 real hosted bodies (tests/data/hosted/, cycled) read through the client level
   (the OpenAI SDK) and the letter by kind;
7. reference: the cost of grading llamacpp-local against vllm-local: requests for the candidate
   alone, with the reference run beside it, and with a recorded reference.

``--against REV`` runs the chosen sections side by side with a checkout of REV instead
(``bench.against``): medians of alternated runs and their ratio, measured in one run.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench import bodies, economy, overhead, reference, replay, report_scale, scale, seedfree

RESULTS = Path(__file__).resolve().parent / "results.json"


SECTIONS = {
    "overhead": overhead,
    "replay": replay,
    "economy": economy,
    "scale": scale,
    "report": report_scale,
    "seedfree": seedfree,
    "bodies": bodies,
    "reference": reference,
}


def main(argv: list[str]) -> int:
    against = None
    if "--against" in argv:
        at = argv.index("--against")
        if at + 1 >= len(argv):
            print("bench: --against needs a commit (e.g. --against HEAD~1)")
            return 2
        against, argv = argv[at + 1], argv[:at] + argv[at + 2 :]
    only = set(argv)
    if only - SECTIONS.keys():
        print(f"bench: unknown section {sorted(only - SECTIONS.keys())[0]!r}; known: {', '.join(SECTIONS)}")
        return 2
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    if against is not None:
        from bench.against import compare

        rows = compare(against, [name for name in SECTIONS if not only or name in only])
        only = {row["section"] for row in rows}
    for name, section in SECTIONS.items():
        if against is not None or (only and name not in only):
            continue
        print(f"== {name}", flush=True)
        rows.extend({"section": name, **row} for row in section.run())
    width = max(len(r["figure"]) for r in rows)
    print()
    print(f"{'figure'.ljust(width)}  {'value':>14}  goal")
    for row in rows:
        value = row["value"]
        shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}"
        print(f"{row['figure'].ljust(width)}  {shown:>14}  {row.get('goal', '')}")
    # A partial run (`python -m bench overhead`) replaces its own sections' rows and keeps the
    # others', each with the date it was measured.
    today = time.strftime("%Y-%m-%d")
    kept = []
    if only and RESULTS.exists():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            previous = json.loads(RESULTS.read_text())["rows"]
            kept = [r for r in previous if "section" in r and r["section"] not in only]  # older files: none kept
    rows = kept + [{**row, "date": today} for row in rows]
    RESULTS.write_text(
        json.dumps({"date": today, "seconds": round(time.monotonic() - started, 1), "rows": rows}, indent=1) + "\n"
    )
    print(f"\nwrote {RESULTS}" + (f" ({len(kept)} rows of other sections kept)" if kept else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
