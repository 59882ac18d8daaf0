"""Which share of a run a shard runs (``--shard K/N``).

``harness conformance --shard``: every column in exactly one shard, the shards balanced by
the work each column plans (its number of units, counted from the matrix and the checks,
nothing sent), greedy, heaviest first, ties broken by name. The assignment depends on the
column list and its units only, so the N jobs of a CI matrix, each computing it alone, agree
on it. Columns graded against each other go whole into one shard. In a live run, a column
heavier than a shard's fair part (one big column, or fewer columns than shards) is cut into
parts of its units, each in another shard; ``harness run --shard`` (one column, live only)
runs part K of N of its units.

A part of a column is every N-th unit of its planned order (``engine.share``). Each shard
measures what its units need (the provider's profile, the baselines, the arms of samples of
``RunShared`` are computed by whichever unit asks first), so its verdicts stand alone. Two
things keep a column whole elsewhere:

- a replay serves identical requests their recorded answers in the order the whole column
  asked them (a determinism probe's repeats and the profile's share one seeded body), so a
  part of the units would be served other answers than the run that recorded them: columns
  are cut only live; replays and recordings shard by whole columns;
- the checks that run after the others (response schemas, the gateway differential) judge
  every exchange of the column, which no part sees: no part runs them
  (``whole_column_checks``), and the shard note lists them as left out.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from harness.checks import load_families
from harness.engine import DedupingSender, plan
from harness.reporting.shards import Shard
from harness.runs.runner import check_context
from harness.runs.targets import Target


def planned_units(target: Target, checks: list[str] | None = None) -> int:
    """How many units the column's run plans (its expected work), without sending anything."""
    return len(plan(check_context(target, DedupingSender(None)), checks))


@dataclass(frozen=True)
class Share:
    """What a shard runs of one column: all of it, or part ``part`` of ``parts`` of its units."""

    column: str
    part: int = 1
    parts: int = 1

    @property
    def units(self) -> tuple[int, int] | None:
        """The share of the column's units (``engine.share``), or None for the whole column."""
        return None if self.parts == 1 else (self.part, self.parts)


def assign(
    weights: Mapping[str, int],
    count: int,
    together: Iterable[Iterable[str]] = (),
    splittable: Collection[str] = (),
) -> dict[int, list[Share]]:
    """What each shard (1..count) runs. Groups of columns that must share a shard (``together``,
    the others alone) go whole; a column of ``splittable`` heavier than a shard's fair part
    (the total over ``count``) is cut into parts of its units, each about that fair part, in
    as many different shards. Then heaviest first (a group's weight is its columns', its name
    its first column's), each into the lightest shard so far not holding a part of the same
    column (the lowest index on a tie)."""
    group_of: dict[str, tuple[str, ...]] = {}
    for group in together:
        members = {c for c in group if c in weights}
        merged = tuple(sorted({m for c in members for m in group_of.get(c, (c,))}))
        for column in merged:
            group_of[column] = merged
    fair = sum(weights.values()) / count
    pieces: list[tuple[int, tuple[str, ...], int, int]] = []  # (weight, columns, part, parts)
    for group in sorted({group_of.get(column, (column,)) for column in weights}):
        weight = sum(weights[c] for c in group)
        parts = 1
        if len(group) == 1 and group[0] in splittable and weight > fair:
            parts = min(count, math.ceil(weight / fair), weight)
        # Part k holds every parts-th unit from the k-th: its share of the weight.
        pieces += [(len(range(part - 1, weight, parts)), group, part, parts) for part in range(1, parts + 1)]
    loads = [0] * count
    shares: dict[int, list[Share]] = {index: [] for index in range(1, count + 1)}
    for weight, group, part, parts in sorted(pieces, key=lambda p: (-p[0], p[1], p[2])):
        free = [i for i in range(count) if not any(s.column == group[0] for s in shares[i + 1])]
        lightest = min(free, key=lambda i: (loads[i], i))
        loads[lightest] += weight
        shares[lightest + 1] += [Share(column, part, parts) for column in group]
    return shares


def shard_of(
    shard: Shard,
    targets: Sequence[Target],
    cheap: Sequence[Target] = (),
    together: Iterable[Iterable[str]] = (),
    splittable: Collection[str] = (),
) -> dict[str, Share]:
    """What shard ``shard`` runs of ``targets`` (weighed by their units) and ``cheap`` (columns
    that send nothing, such as documented-only ones: one record each), by column."""
    weights = {t.column: planned_units(t) for t in targets}
    weights.update({t.column: 1 for t in cheap if t.column not in weights})
    return {s.column: s for s in assign(weights, shard.count, together, splittable)[shard.index]}


def whole_column_checks(checks: list[str] | None = None) -> list[str]:
    """Among ``checks`` (every enabled one by default), those a split of a column's units
    leaves out: they run after the others, judging every exchange of the column."""
    registry = load_families()
    names = checks or [name for name, check in registry.items() if check.enabled]
    return [name for name in names if name in registry and registry[name].after_others]
