"""Which share of a run a shard runs (``--shard K/N``).

``harness conformance --shard``: whole columns, every column in exactly one shard, the shards
balanced by the work each column plans (its number of units, counted from the matrix and the
checks, nothing sent), greedy, longest first, ties broken by name. The assignment depends on
the column list and its units only, so the N jobs of a CI matrix, each computing it alone,
agree on it. Columns graded against each other go in one shard.

``harness run --shard`` (one column, live only): every N-th unit of the column's planned
order (``engine.share``). Each shard measures what its units need (the provider's profile,
the baselines, the arms of samples of ``RunShared`` are computed by whichever unit asks
first), so its verdicts stand alone. Two things keep the split out of the rest:

- a replay serves identical requests their recorded answers in the order the whole column
  asked them (a determinism probe's repeats and the profile's share one seeded body), so a
  share of the units would be served other answers than the run that recorded them: a
  column is split only live, and replays and recordings shard by whole columns;
- the checks that run after the others (response schemas, the gateway differential) judge
  every exchange of the column, which no share sees: no share runs them
  (``whole_column_checks``), and the shard note lists them as left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from harness.checks import load_families
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


def whole_column_checks(checks: list[str] | None = None) -> list[str]:
    """Among ``checks`` (every enabled one by default), those a split of a column's units
    leaves out: they run after the others, judging every exchange of the column."""
    registry = load_families()
    names = checks or [name for name, check in registry.items() if check.enabled]
    return [name for name in names if name in registry and registry[name].after_others]
