"""A shard of a run: ``K/N`` (``--shard``), and ``shard.json``, the run folder's note of which
shard it holds, its columns and those not gated. ``harness report --merge`` reads it to tell
a missing or repeated shard, and to gate the merged run as the one run would have been."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

SHARD_FILE = "shard.json"
# More shards than a CI fleet could run is a typo, not a split (and each shard is planned).
MAX_SHARDS = 1000


@dataclass(frozen=True, order=True)
class Shard:
    """Shard ``index`` of ``count`` (both counted from 1)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N`` with 1 <= K <= N; anything else is a ValueError saying what is wrong."""
        index, sep, count = text.strip().partition("/")
        try:
            shard = cls(int(index), int(count))
        except ValueError:
            raise ValueError(f"{text!r} is not K/N (e.g. 1/3)") from None
        if not sep or shard.count < 1 or not 1 <= shard.index <= shard.count:
            raise ValueError(f"{text!r}: K/N needs 1 <= K <= N (e.g. 1/3)")
        if shard.count > MAX_SHARDS:
            raise ValueError(f"{text!r}: K/N with N at most {MAX_SHARDS:,}")
        return shard


@dataclass(frozen=True)
class ShardNote:
    """What a sharded run folder holds: its shard, its columns, the columns run only to be
    graded against (a reference), which the gate skips, the columns of which it ran a part of
    the units (``split``: column -> part, parts), the checks no part runs (``left_out``:
    they judge the whole column), and every column the split run sends to (``run_columns``)."""

    shard: Shard
    columns: tuple[str, ...]
    not_gated: tuple[str, ...] = ()
    split: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    left_out: tuple[str, ...] = ()
    # Every column the split run sends to (empty in a note written before it was kept): shards
    # of two runs are told apart by it.
    run_columns: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "shard": str(self.shard),
            "columns": list(self.columns),
            "not_gated": list(self.not_gated),
            "split": {column: list(part) for column, part in self.split.items()},
            "left_out": list(self.left_out),
            "run_columns": list(self.run_columns),
        }


def write_shard_note(out: Path, note: ShardNote) -> None:
    (out / SHARD_FILE).write_text(json.dumps(note.to_json(), indent=1) + "\n", encoding="utf-8")


def read_shard_note(out: Path) -> ShardNote | None:
    """The folder's shard note, or None for a run that was not sharded."""
    path = out / SHARD_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ShardNote(
            Shard.parse(str(data["shard"])),
            tuple(str(c) for c in data.get("columns", [])),
            tuple(str(c) for c in data.get("not_gated", [])),
            {str(c): (int(p[0]), int(p[1])) for c, p in data.get("split", {}).items()},
            tuple(str(c) for c in data.get("left_out", [])),
            tuple(str(c) for c in data.get("run_columns", [])),
        )
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as err:
        raise ConfigError(f"{path}: not a shard note ({err})") from err
