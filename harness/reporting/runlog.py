"""``runs.jsonl``: what was really sent per column. Records share requests (de-duplicated by
the sender), so sums over records would overcount; each run appends its own totals."""

from __future__ import annotations

import json
import time
from pathlib import Path

from harness import __version__
from harness.checks.judges.profile import Profile
from harness.engine import RunStats
from harness.errors import read_text_file

RUN_LOG = "runs.jsonl"


def append_run_log(out: Path, column: str, surface: str, mode: str, stats: RunStats) -> None:
    line = {
        "provider": column,
        "surface": surface,
        "mode": mode,
        "requests": stats.requests,
        "completion_tokens": stats.completion_tokens,
        "units": stats.units,
        "skipped": stats.skipped,
        "not_started": stats.not_started,  # units a budget did not start
        "probes": stats.probes,
        # The same, for a later `harness plan --from`: the profile a run of the column measures.
        "profile": None
        if stats.profile is None
        else {
            "mode": stats.profile.mode,
            "seed_reproduces": stats.profile.seed_reproduces,
            "greedy_reproduces": stats.profile.greedy_reproduces,
        },
        # When: a recorded reference is dated by its run (harness.reporting.reference).
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        # Which harness measured it: an export names the version its evidence came from.
        "harness": __version__,
    }
    with (out / RUN_LOG).open("a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")


def read_run_log(out: Path) -> dict[str, dict[str, int]]:
    """Requests and completion tokens per column, summed over the folder's runs."""
    totals: dict[str, dict[str, int]] = {}
    path = out / RUN_LOG
    if not path.exists():
        return totals
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        mine = totals.setdefault(entry["provider"], {"requests": 0, "completion_tokens": 0})
        mine["requests"] += int(entry.get("requests", 0))
        mine["completion_tokens"] += int(entry.get("completion_tokens", 0))
    return totals


def column_dates(out: Path) -> dict[str, str]:
    """When each column of the folder last ran (its last run-log line with a date)."""
    dates: dict[str, str] = {}
    path = out / RUN_LOG
    if not path.exists():
        return dates
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("date"):
            dates[str(entry["provider"])] = str(entry["date"])
    return dates


def column_runs(out: Path) -> dict[str, dict[str, str]]:
    """Each column's last run in the folder: its date, mode and the harness version that ran it
    ("" where an older run log did not say)."""
    runs: dict[str, dict[str, str]] = {}
    path = out / RUN_LOG
    if not path.exists():
        return runs
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        runs[str(entry["provider"])] = {key: str(entry.get(key) or "") for key in ("date", "mode", "harness")}
    return runs


def measured_profiles(out: Path) -> dict[str, tuple[Profile, str]]:
    """The profile each column's last run in the folder measured, with that run's date (a
    column whose runs measured none, or an older run log that did not say, is absent; a line
    that is not a run's is skipped). Seeded only where the seed was seen to reproduce: a run
    whose seeded requests failed, or that ``probe_mode`` forced to seeded probes, measured
    nothing a cheaper plan may rest on."""
    found: dict[str, tuple[Profile, str]] = {}
    path = out / RUN_LOG
    if not path.exists():
        return found
    for line in read_text_file(path, "run log").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        measured = entry.get("profile") if isinstance(entry, dict) else None
        if not isinstance(measured, dict) or measured.get("mode") not in ("seeded", "seed-free"):
            continue
        if measured["mode"] == "seeded" and measured.get("seed_reproduces") is not True:
            continue
        if not isinstance(entry.get("provider"), str):
            continue
        seed = measured.get("seed_reproduces")
        date = str(entry.get("date") or "")
        profile = Profile(
            measured["mode"],
            seed if isinstance(seed, bool) else None,
            measured.get("greedy_reproduces") is True,
            f"measured by the run of {date or 'an undated run'}",
        )
        found[entry["provider"]] = (profile, date)
    return found
