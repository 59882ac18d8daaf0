"""Which columns a shard of a run holds (``--shard K/N``): every column in exactly one shard,
the shards balanced by the work each column plans (its number of units, counted from the
matrix and the checks, nothing sent), greedy, longest first, ties broken by name. The
assignment depends on the column list and its units only, so the N jobs of a CI matrix,
each computing it alone, agree on it.

A column is never split: its units share what the run measures once (the provider's profile,
the baselines and the arms of samples of ``RunShared``), the checks that see every exchange of
the column (response schemas) would each judge a part, and a replay serves identical requests
their recorded answers in the order recorded, which only the whole column asks in the same
order. So a shard runs whole columns; columns graded against each other go in one shard."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from harness.engine import DedupingSender, plan
from harness.reporting.shards import Shard
from harness.runs.runner import check_context
from harness.runs.targets import Target


def planned_units(target: Target, checks: list[str] | None = None) -> int:
    """How many units the column's run plans (its expected work), without sending anything."""
    return len(plan(check_context(target, DedupingSender(None)), checks))


def assign(weights: Mapping[str, int], count: int, together: Iterable[Iterable[str]] = ()) -> dict[str, int]:
    """Each column's shard (1..count): groups of columns that must share a shard (``together``,
    the others alone) placed heaviest first, each in the lightest shard so far (the lowest
    index on a tie); a group's weight is its columns', its name its first column's in order."""
    group_of: dict[str, list[str]] = {}
    for group in together:
        members = sorted({c for c in group if c in weights})
        merged = sorted({m for c in members for m in group_of.get(c, [c])})
        for column in merged:
            group_of[column] = merged
    groups = {tuple(group_of.get(column, [column])) for column in weights}
    order = sorted(groups, key=lambda g: (-sum(weights[c] for c in g), g[0]))
    loads = [0] * count
    shards: dict[str, int] = {}
    for group in order:
        lightest = min(range(count), key=lambda i: (loads[i], i))
        loads[lightest] += sum(weights[c] for c in group)
        for column in group:
            shards[column] = lightest + 1
    return shards


def shard_of(
    shard: Shard,
    targets: Sequence[Target],
    cheap: Sequence[Target] = (),
    together: Iterable[Iterable[str]] = (),
    checks: list[str] | None = None,
) -> set[str]:
    """The columns shard ``shard`` runs among ``targets`` (weighed by their units) and ``cheap``
    (columns that send nothing, such as documented-only ones: one record each)."""
    weights = {t.column: planned_units(t, checks) for t in targets}
    weights.update({t.column: 1 for t in cheap if t.column not in weights})
    return {column for column, index in assign(weights, shard.count, together).items() if index == shard.index}
