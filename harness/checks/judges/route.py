"""Whether a router served a pinned column from the pinned upstream: over the whole run (the
``route`` check's tally) and for one probe's exchanges (``engine.build_record``: a probe that
read a reply from another upstream says nothing about the pinned one, whatever it found)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.checks.judges.outcome import Judgement
from harness.results import DECIDED, Verdict
from harness.transport import Exchange, Outcome
from harness.transport.routes import pinned_to, same_upstream, served_by

ROUTE_CHECK = "route"  # the check whose record counts a run's off-route replies


@dataclass
class RouteTally:
    """Every reply to a request pinned to ``route``, counted as it completes (O(1) memory):
    how many, which upstream each named, and one example of each kind."""

    route: str
    pinned: int = 0
    unnamed: int = 0  # pinned replies naming no upstream
    served: Counter[str] = field(default_factory=Counter)  # by the upstream a pinned reply names
    off_example: Exchange | None = None
    on_example: Exchange | None = None

    def add(self, exchange: Exchange) -> None:
        if pinned_to(exchange.body) != self.route or exchange.outcome is not Outcome.RESPONSE:
            return  # a probe of OpenRouter's own `provider` parameter routes itself; no reply to read
        self.pinned += 1
        name = served_by(exchange)
        if name is None:
            self.unnamed += 1
            return
        self.served[name] += 1
        if same_upstream(self.route, name):
            self.on_example = self.on_example or exchange
        else:
            self.off_example = self.off_example or exchange

    @property
    def off_route(self) -> Counter[str]:
        return Counter({name: n for name, n in self.served.items() if not same_upstream(self.route, name)})


def _listed(counts: Counter[str]) -> str:
    return ", ".join(f"{name} ({n})" for name, n in counts.most_common())


def judge_route(tally: RouteTally) -> Judgement:
    """IGNORED when any pinned reply came from another upstream (the pin with
    ``allow_fallbacks: false`` was not kept); HONOURED when every reply naming its upstream
    names the pinned one; INCONCLUSIVE when none names one, or nothing was pinned."""
    pin = f"pinned to {tally.route!r} (allow_fallbacks false)"
    if not tally.pinned:
        return Judgement(Verdict.INCONCLUSIVE, f"no request {pin} got a reply to read (none sent, or none recorded)")
    named = sum(tally.served.values())
    if not named:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"none of {tally.pinned} replies {pin} names the upstream that served it (no `provider` field)",
        )
    unnamed = f"; {tally.unnamed} more name none" if tally.unnamed else ""
    off = tally.off_route
    if off:
        return Judgement(
            Verdict.IGNORED,
            f"{pin}: {sum(off.values())} of {named} replies served by another upstream: {_listed(off)}{unnamed}; "
            "the probes that read them are INCONCLUSIVE",
            "each reply names the upstream that served it",
        )
    return Judgement(
        Verdict.HONOURED,
        f"all {named} replies {pin} served by {_listed(tally.served)}{unnamed}",
        "each reply names the upstream that served it: one served by another would fail this",
    )


def served_counts(exchanges: Iterable[Exchange]) -> Counter[str]:
    """The upstreams the replies name, each counted once per reply."""
    return Counter(name for exchange in exchanges if (name := served_by(exchange)) is not None)


def off_route_judgement(judgement: Judgement, route: str, exchanges: Iterable[Exchange]) -> Judgement | None:
    """A probe's verdict in place of ``judgement`` when a reply it read was served by another
    upstream than ``route``: INCONCLUSIVE, since that reply is another upstream's behaviour
    (the run's ``route`` record counts them). None where every pinned reply is the route's, or
    the verdict decides nothing about the provider anyway."""
    if judgement.verdict not in DECIDED:
        return None
    pinned = [e for e in exchanges if pinned_to(e.body) == route]
    off = Counter(name for e in pinned if (name := served_by(e)) is not None and not same_upstream(route, name))
    if not off:
        return None
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"served by {_listed(off)}, pinned {route!r}: {sum(off.values())} of {len(pinned)} replies came from "
        f"another upstream, so this probe says nothing about {route!r} (it found {judgement.verdict.value}: "
        f"{judgement.detail})",
    )
