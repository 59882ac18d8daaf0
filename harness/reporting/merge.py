"""Run folders merged into one (``harness report --merge``): the records (``results.jsonl``),
what was sent (``runs.jsonl``), the pairs to grade (``grading.json``) and a recorded
reference's records (``reference.jsonl``), so that the reports and the gate of the merged
folder are those of one run. Everything is read and checked before anything is written: a
unit in two folders with other records, shards of different splits or a shard missing is
one line (exit 2) and no folder."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, read_text_file
from harness.reporting.reference import GRADING_FILE, REFERENCE_RECORDS, Pairing, read_pairings, write_pairings
from harness.reporting.runlog import RUN_LOG
from harness.reporting.shards import ShardNote, read_shard_note
from harness.results import Record, ResultsWriter, read_results

RESULTS = "results.jsonl"
# What changes from one sending of the same request to the next, and is no part of a verdict.
TIMING_KEYS = frozenset({"elapsed_ms", "waited_s"})


def without_timings(record: Record) -> dict[str, Any]:
    """The record as JSON, its exchanges' timings left out: two runs of a unit that found the
    same are equal in this form."""
    data = record.to_json()
    evidence = dict(data["evidence"])
    if isinstance(evidence.get("exchanges"), list):
        evidence["exchanges"] = [
            {k: v for k, v in e.items() if k not in TIMING_KEYS} if isinstance(e, dict) else e
            for e in evidence["exchanges"]
        ]
    data["evidence"] = evidence
    return data


@dataclass(frozen=True)
class RunFolder:
    """One run folder's files, read."""

    path: Path
    records: list[Record]
    run_log: list[str]
    pairings: list[Pairing]
    reference: list[Record]
    note: ShardNote | None


def read_folder(path: Path) -> RunFolder:
    if not (path / RESULTS).is_file():
        raise ConfigError(f"--merge {path}: no {RESULTS} there (a run folder of run, conformance or a shard)")
    log = path / RUN_LOG
    lines = read_text_file(log, "run log").splitlines() if log.exists() else []
    return RunFolder(
        path,
        read_results(path / RESULTS),
        [line for line in lines if line.strip()],
        read_pairings(path),
        read_results(path / REFERENCE_RECORDS),
        read_shard_note(path),
    )


def check_shards(folders: list[RunFolder]) -> set[Path]:
    """Sharded folders are all of one split (the same N) and together hold every shard; the
    folders repeating a shard given before (their records must be the same, their run log is
    not counted twice)."""
    notes = [(f.path, f.note) for f in folders if f.note is not None]
    if not notes:
        return set()
    splits = sorted({note.shard.count for _, note in notes})
    if len(splits) > 1:
        given = ", ".join(f"{note.shard} ({path})" for path, note in notes)
        raise ConfigError(f"--merge: shards of different splits: {given}")
    count = splits[0]
    held = {note.shard.index for _, note in notes}
    missing = [f"{index}/{count}" for index in range(1, count + 1) if index not in held]
    if missing:
        given = ", ".join(sorted({str(note.shard) for _, note in notes}))
        raise ConfigError(f"--merge: shard {', '.join(missing)} missing (given: {given})")
    wholes = {note.run_columns for _, note in notes if note.run_columns}
    if len(wholes) > 1:
        given = "; ".join(f"{note.shard} ({path}): {len(note.run_columns)} columns" for path, note in notes)
        raise ConfigError(f"--merge: shards of different runs (their runs hold other columns: {given})")
    if wholes:
        lost = sorted(set(next(iter(wholes))) - {c for _, note in notes for c in note.columns})
        if lost:
            raise ConfigError(f"--merge: column {', '.join(lost)} of the run is in no shard given")
    first: dict[tuple[int, tuple[str, ...]], Path] = {}
    for path, note in notes:
        first.setdefault((note.shard.index, note.columns), path)
    return {path for path, note in notes if first[(note.shard.index, note.columns)] != path}


def _by_unit(records: Iterable[Record], path: Path) -> dict[tuple[str, str], list[Record]]:
    """A folder's records grouped by the unit that made them (a unit may make several, never
    one record twice: that is two runs written into one folder)."""
    units: dict[tuple[str, str], list[Record]] = {}
    seen: set[tuple[str, str, str, str]] = set()
    for record in records:
        key = (record.provider, record.unit_id or record.case_id, record.check, record.case_id)
        if key in seen:
            raise ConfigError(
                f"--merge: {path} holds the record {record.case_id} [{record.check}] of column {record.provider} "
                "twice (two runs written into one folder?): merge folders of one run each"
            )
        seen.add(key)
        units.setdefault(key[:2], []).append(record)
    return units


def merge_records(sources: list[tuple[Path, list[Record]]], what: str = RESULTS) -> list[Record]:
    """Every unit's records once: a unit found in two folders is kept once if its records are
    the same (timings aside), and a usage error if not."""
    merged: dict[tuple[str, str], tuple[Path, list[Record]]] = {}
    for path, records in sources:
        for key, unit in _by_unit(records, path).items():
            seen = merged.get(key)
            if seen is None:
                merged[key] = (path, unit)
            elif [without_timings(r) for r in seen[1]] != [without_timings(r) for r in unit]:
                raise ConfigError(
                    f"--merge: unit {key[1]} of column {key[0]} is in {seen[0]} and {path} with other records "
                    f"({what}): merge the shards of one run, each once"
                )
    return [record for _, unit in merged.values() for record in unit]


def merge_pairings(folders: list[RunFolder]) -> list[Pairing]:
    pairings: dict[tuple[str, str], tuple[Path, Pairing]] = {}
    for folder in folders:
        for pairing in folder.pairings:
            key = (pairing.candidate, pairing.reference)
            seen = pairings.get(key)
            if seen is None:
                pairings[key] = (folder.path, pairing)
            elif seen[1] != pairing:
                raise ConfigError(
                    f"--merge: {pairing.candidate} is graded against {pairing.reference} in {seen[0]} and "
                    f"{folder.path} differently ({GRADING_FILE})"
                )
    return [pairing for _, pairing in pairings.values()]


def _write_records(path: Path, records: list[Record]) -> None:
    writer = ResultsWriter(path)  # the one door to disk for records (it scrubs secrets)
    try:
        for record in records:
            writer.write(record)
    finally:
        writer.close()


@dataclass(frozen=True)
class Merged:
    """The merged folder, and the columns run only to be graded against (not gated)."""

    out: Path
    not_gated: frozenset[str]
    modes: tuple[str, ...]
    left_out: dict[str, tuple[str, ...]]  # a column split by units: the checks no shard ran


def merge_folders(paths: list[Path], out: Path) -> Merged:
    """The run folders ``paths`` merged into ``out`` (new, or holding no run): checked whole
    first, then written into a temporary folder beside ``out`` and moved into place."""
    folders = [read_folder(path) for path in paths]
    if (out / RESULTS).exists():
        raise ConfigError(f"--out {out}: holds a run already ({RESULTS}); merge into a new folder")
    repeats = check_shards(folders)
    records = merge_records([(f.path, f.records) for f in folders])
    reference = merge_records([(f.path, f.reference) for f in folders], REFERENCE_RECORDS)
    pairings = merge_pairings(folders)
    run_log = list(dict.fromkeys(line for f in folders if f.path not in repeats for line in f.run_log))
    not_gated = frozenset(c for f in folders if f.note is not None for c in f.note.not_gated)
    modes = []
    for line in run_log:
        try:
            modes.append(str(json.loads(line).get("mode", "")))
        except (ValueError, AttributeError):
            continue
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.merging-", dir=out.parent))
        staging.chmod(0o755)  # a run folder as any other, not mkdtemp's private one
    except OSError as err:
        raise ConfigError(f"--out {out}: cannot write there: {err.strerror}") from err
    try:
        _write_records(staging / RESULTS, records)
        (staging / RUN_LOG).write_text("".join(line + "\n" for line in run_log), encoding="utf-8")
        if pairings:
            write_pairings(staging, pairings)
        if reference:
            _write_records(staging / REFERENCE_RECORDS, reference)
        if out.exists():
            for item in staging.iterdir():
                item.replace(out / item.name)
            staging.rmdir()
        else:
            staging.replace(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    left_out = {column: f.note.left_out for f in folders if f.note is not None for column in f.note.split}
    return Merged(out, not_gated, tuple(sorted(set(filter(None, modes)))), left_out)
