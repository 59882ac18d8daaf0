"""Know the provider: does a seeded request reproduce, does greedy decoding reproduce, and so
which way each sampling probe must go.

- seeded: the same seed gives the same text, so a value is judged against the same request
  without it, one output each (the cheapest proof).
- seed-free: the seed does not reproduce (best-effort seeds, several upstreams, batching) or
  is never sent. Where greedy decoding reproduces, penalties and greedy-equivalent values are
  judged on greedy outputs (still one output each); everything that needs sampling is judged
  on samples, with a statistical test (``judges.statistics``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from harness.checks.judges.outcome import quote, text_of
from harness.transport import Exchange

ProbeMode = Literal["auto", "seeded", "seed-free"]
PROBE_MODES: tuple[ProbeMode, ...] = ("auto", "seeded", "seed-free")


@dataclass(frozen=True)
class Profile:
    mode: Literal["seeded", "seed-free"]
    seed_reproduces: bool | None  # None: not measured (never sent, or no usable answer)
    greedy_reproduces: bool
    reason: str

    @property
    def seed_free(self) -> bool:
        return self.mode == "seed-free"

    def describe(self) -> str:
        seed = {None: "not measured", True: "reproduces", False: "does not reproduce"}[self.seed_reproduces]
        greedy = "reproduces" if self.greedy_reproduces else "does not reproduce"
        return f"{self.mode} probes ({self.reason}; seed {seed}, greedy decoding {greedy})"


def _reproduces(exchanges: Sequence[Exchange]) -> bool:
    texts = [text_of(e) if e.ok else None for e in exchanges]
    return len(texts) > 1 and texts[0] is not None and all(t == texts[0] for t in texts)


def _texts(exchanges: Sequence[Exchange]) -> str:
    return ", ".join(quote(text_of(e)) if e.ok else f"HTTP {e.status}" for e in exchanges)


def decide_profile(seeded: Sequence[Exchange], greedy: Sequence[Exchange], forced: ProbeMode) -> Profile:
    """``seeded``: one seeded request sent several times (empty: the seed is never sent);
    ``greedy``: one temperature-0 request without a seed, sent several times."""
    seed = _reproduces(seeded) if seeded else None
    greedy_same = _reproduces(greedy)
    if forced != "auto":
        return Profile(forced, seed, greedy_same, "forced by probe_mode")
    if seed is None:
        return Profile("seed-free", seed, greedy_same, "providers.toml says never to send seed")
    if not all(e.ok for e in seeded):
        # Nothing measured: the seeded probes run as ever and report these failures themselves.
        return Profile("seeded", None, greedy_same, f"the seeded requests failed ({_texts(seeded)})")
    if seed:
        return Profile("seeded", seed, greedy_same, f"{len(seeded)} sends of one seeded request agree")
    return Profile(
        "seed-free", seed, greedy_same, f"{len(seeded)} sends of one seeded request disagree ({_texts(seeded)})"
    )
