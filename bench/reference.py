"""The cost of grading against a reference (issue 29): requests and completion tokens of
llamacpp-local held to openai alone, with vllm-local run beside it as its reference, and with a
recorded reference (the reference's run folder read, nothing sent for it); each replayed from
the shipped cassettes, so the requests are those a live run sends. A graded column also answers
the tool prompts (the tool-agreement check), which a column run alone does not."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.cli import main

CANDIDATE, REFERENCE = "llamacpp-local", "vllm-local"


def _sent(out: Path) -> tuple[int, int]:
    """Requests and completion tokens over every column of the run log."""
    lines = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    return sum(e["requests"] for e in lines), sum(e["completion_tokens"] for e in lines)


def _run(out: Path, *extra: str) -> float:
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["run", "--provider", CANDIDATE, "--schema", "openai", "--gate", "none", "--out", str(out), *extra])
    if code != 0:
        raise RuntimeError(f"bench reference: harness run exited {code}")
    return time.perf_counter() - started


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        alone, live, recorded = Path(tmp) / "alone", Path(tmp) / "live", Path(tmp) / "recorded"
        times = {
            "candidate alone": _run(alone),
            "candidate + reference": _run(live, "--reference", REFERENCE),
            "candidate + recorded reference": _run(recorded, "--reference", REFERENCE, "--reference-run", str(live)),
        }
        sent = {"candidate alone": _sent(alone), "candidate + reference": _sent(live)}
        sent["candidate + recorded reference"] = _sent(recorded)
    base = sent["candidate alone"][0]
    for name, (requests, tokens) in sent.items():
        rows.append({"figure": f"reference: {name}, requests", "value": requests, "goal": "-"})
        rows.append({"figure": f"reference: {name}, completion tokens", "value": tokens, "goal": "-"})
        rows.append({"figure": f"reference: {name}, replayed wall time (s)", "value": round(times[name], 2)})
    rows.append(
        {
            "figure": "reference: requests, candidate + reference / candidate alone",
            "value": round(sent["candidate + reference"][0] / base, 3),
            "goal": "- (the reference's column and the tool prompts on both)",
        }
    )
    return rows
