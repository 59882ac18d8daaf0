"""Judge of ``seed``: k repeats of one seeded request must agree, other seeds must change the
output, and two controls: the same request without a seed must not reproduce, and with a
longer max_tokens it must extend the seeded text. Otherwise the agreement is a cache's or a
constant's, not the seed's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.checks.judges.outcome import Judgement, quote, text_of
from harness.checks.judges.sampling import inert_change_problem
from harness.checks.judges.shapes import guarded
from harness.results import Verdict
from harness.transport import Exchange


@dataclass(frozen=True, kw_only=True)
class SeedRepeats:
    """``repeats``: one seeded request sent k times; ``other_seeds``: the same under other
    seeds; ``unseeded``: the same without a seed, sent more than once; ``longer``: the seeded
    request with a longer max_tokens."""

    repeats: Sequence[Exchange]
    other_seeds: Sequence[Exchange]
    unseeded: Sequence[Exchange]
    longer: Exchange

    def exchanges(self) -> list[Exchange]:
        return [*self.repeats, *self.other_seeds, *self.unseeded, self.longer]


@guarded
def judge_seed(probe: SeedRepeats, seed: int) -> Judgement:
    repeats, other_seeds, unseeded, longer = probe.repeats, probe.other_seeds, probe.unseeded, probe.longer
    texts = [text_of(e) for e in repeats]
    if any(t is None for t in texts):
        return Judgement(Verdict.INCONCLUSIVE, "no generated text to compare (a repeat answered without content)")
    k = len(texts)
    agreeing = sum(t == texts[0] for t in texts)
    distinct_seeds = len({texts[0], *(text_of(e) for e in other_seeds)})
    summary = (
        f"{agreeing}/{k} repeats of seed {seed} agree (pass^{k} = {int(agreeing == k)}, sent concurrently); "
        f"{distinct_seeds} distinct outputs over {1 + len(other_seeds)} seeds"
    )
    if agreeing != k:
        variants = sorted({quote(t, 30) for t in texts})
        return Judgement(Verdict.IGNORED, f"{summary}; outputs: {', '.join(variants)}")
    free = [text_of(e) for e in unseeded]
    if distinct_seeds == 1:
        if len(set(free)) > 1:
            return Judgement(
                Verdict.IGNORED,
                f"{summary}: the seed does not change what is sampled",
                f"without a seed, {len(free)} requests gave {len(set(free))} different outputs: sampling varies",
            )
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"{summary}, and requests without a seed agree too: the output does not depend on sampling here",
        )
    if len(free) > 1 and len(set(free)) == 1:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"{summary}; but {len(free)} requests without a seed agree too ({quote(free[0], 30)}): "
            "the agreement cannot be credited to the seed (a response cache, or a fixed server seed)",
        )
    inert = inert_change_problem(repeats[0], longer, "the seeded output")
    if inert:
        return inert
    return Judgement(
        Verdict.HONOURED,
        summary,
        f"{len(free)} requests without a seed gave {len(set(free))} different outputs; "
        "a longer max_tokens extends the seeded output",
    )
