"""Verdicts and the one result record every report renders.

Conforming verdicts say the provider did what its documentation says; failing verdicts are
conformance failures (exit 1 under a strict gate); the rest are about the run, not the
provider, and never fail it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from harness.errors import ConfigError, read_text_file
from harness.jsoncodec import dumps_line, loads
from harness.redaction import refresh_secrets, scrub_bytes


class Verdict(StrEnum):
    HONOURED = "HONOURED"  # accepted, and its documented effect was observed
    ACCEPTED = "ACCEPTED"  # accepted as documented; acceptance is all this check judges
    REJECTED = "REJECTED"  # refused with a 4xx, as documented
    LENIENT = "LENIENT"  # accepted although documented as invalid
    OVER_STRICT = "OVER_STRICT"  # refused although documented as valid
    IGNORED = "IGNORED"  # accepted, but no effect where one must be
    SERVER_ERROR = "SERVER_ERROR"  # a 5xx (or an unusable 2xx body) for any input
    INCONCLUSIVE = "INCONCLUSIVE"  # the probe could not decide; the detail says why
    NOT_RECORDED = "NOT_RECORDED"  # replay found no interaction: record it first
    NOT_RUN = "NOT_RUN"  # not run: a key or URL is missing
    TRANSPORT_ERROR = "TRANSPORT_ERROR"  # no usable HTTP response (refused, reset, timeout)
    # What a gateway does to a parameter on its way to the upstream (check `gateway`): by the
    # body it forwarded (the recording tap) first, then by the effect, through against direct.
    PASSED = "PASSED"  # forwarded as sent (through equals direct)
    DROPPED = "DROPPED"  # not forwarded (through with the value equals direct without it)
    CLAMPED = "CLAMPED"  # forwarded at a bound (through equals direct at the bound)
    TRANSLATED = "TRANSLATED"  # forwarded as another parameter or value (named in the detail)
    ADDED = "ADDED"  # forwarded although not sent: an injected default
    REFUSED = "REFUSED"  # the gateway answers 4xx where the upstream accepts
    BROKEN = "BROKEN"  # the gateway answers 5xx or an unusable body where the upstream answers


# A gateway is held to transparency: what it forwards is what was sent. A refusal is not
# silent (the client is told, and the column's range checks judge whether the value was
# documented as valid); every silent change of the request, and a broken answer, fails.
GATEWAY_CONFORMING = frozenset({Verdict.PASSED, Verdict.REFUSED})
GATEWAY_FAILING = frozenset({Verdict.DROPPED, Verdict.CLAMPED, Verdict.TRANSLATED, Verdict.ADDED, Verdict.BROKEN})
CONFORMING = frozenset({Verdict.HONOURED, Verdict.ACCEPTED, Verdict.REJECTED}) | GATEWAY_CONFORMING
FAILING = frozenset({Verdict.LENIENT, Verdict.OVER_STRICT, Verdict.IGNORED, Verdict.SERVER_ERROR}) | GATEWAY_FAILING
# A verdict about the provider (either way); the rest are about the run.
DECIDED = CONFORMING | FAILING
# Nothing was observed: a strict gate fails on these, a baseline gate when a cell had evidence.
MISSING_EVIDENCE = frozenset({Verdict.NOT_RECORDED, Verdict.TRANSPORT_ERROR})
# The detail of a NOT_RUN record of a unit a budget did not start (``engine.Admission``): unlike
# a column not run for want of a key, missing evidence (``budget_stopped``).
BUDGET_REACHED = "budget reached"


def budget_stopped(record: Record) -> bool:
    return record.verdict is Verdict.NOT_RUN and record.detail.startswith(BUDGET_REACHED)


# Worst first: a cell that mixes verdicts shows the worst one.
SEVERITY = [
    Verdict.SERVER_ERROR,
    Verdict.BROKEN,
    Verdict.OVER_STRICT,
    Verdict.IGNORED,
    Verdict.DROPPED,
    Verdict.LENIENT,
    Verdict.TRANSLATED,
    Verdict.CLAMPED,
    Verdict.ADDED,
    Verdict.TRANSPORT_ERROR,
    Verdict.INCONCLUSIVE,
    Verdict.NOT_RECORDED,
    Verdict.NOT_RUN,
    Verdict.REFUSED,
    Verdict.REJECTED,
    Verdict.ACCEPTED,
    Verdict.PASSED,
    Verdict.HONOURED,
]


def worst(verdicts: list[Verdict]) -> Verdict:
    return min(verdicts, key=SEVERITY.index)


@dataclass
class Record:
    """One verdict of one check for one provider and parameter, with its evidence."""

    provider: str
    surface: str
    case_id: str
    param: str
    check: str
    verdict: Verdict
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    expect: str = ""
    value: Any = None
    requests: int = 0
    completion_tokens: int = 0
    unit_id: str = ""  # the engine's unit that produced it: what --resume skips

    def to_json(self) -> dict[str, Any]:
        # Shallow on purpose: dataclasses.asdict deep-copies the evidence, a third of the
        # harness's own CPU per request in a live run.
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["verdict"] = self.verdict.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["verdict"] = Verdict(known["verdict"])
        return cls(**known)


class ResultsWriter:
    """Appends one JSON line per record and flushes it: a killed run loses nothing finished."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        _drop_torn_tail(path)
        self._file: IO[bytes] = path.open("ab")
        refresh_secrets()

    def write(self, record: Record) -> None:
        # Scrubbed here, the one door to disk: every report is made from these lines.
        self._file.write(scrub_bytes(dumps_line(record.to_json())))
        self._file.flush()

    def close(self) -> None:
        self._file.close()


_TAIL_BLOCK = 1 << 16


def _drop_torn_tail(path: Path) -> None:
    """A run killed mid-write leaves a last line without its newline: cut it off before
    appending, or the next record would be glued to it and lost with it (its unit is redone).
    Only the end of the file is read: every column of a conformance run appends to one file,
    and reading it whole for each was a cost growing with the run."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb+") as file:
        end = file.seek(0, os.SEEK_END)
        file.seek(end - 1)
        if file.read(1) == b"\n":
            return
        start = end
        while start > 0:
            start = max(0, start - _TAIL_BLOCK)
            file.seek(start)
            block = file.read(min(_TAIL_BLOCK, end - start))
            newline = block.rfind(b"\n")
            if newline >= 0:
                file.truncate(start + newline + 1)
                return
            end = start
        file.truncate(0)


def read_results(path: Path) -> list[Record]:
    """Every record. A last line cut short by a kill is skipped; any other line that is not a
    record is a one-line error naming the file and the line (the file is not ours, or damaged)."""
    records: list[Record] = []
    if not path.exists():
        return records
    lines = read_text_file(path, "(not a results file)").split("\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = loads(line)
            if not isinstance(data, dict):
                raise TypeError(f"a JSON {type(data).__name__}, not an object")
            records.append(Record.from_json(data))
        except (ValueError, KeyError, TypeError) as err:
            if number == len(lines):  # no newline after it: torn by a kill
                continue
            raise ConfigError(f"{path}: line {number}: not a result record ({_reason(err)})") from err
    return records


def _reason(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"invalid JSON at column {err.colno}"
    if isinstance(err, KeyError):
        return f"no {err.args[0]!r}"
    return str(err)
