"""What a judge is given, and the guard every judge shares.

A judge that reads several exchanges takes one frozen dataclass for its probe's shape, with
a named field per role (``Pair(base=..., probe=...)``): two exchanges of one type passed by
position could be swapped and still type-check, silently turning a control into a probe.
The shapes shared by several families are here; a family's own shapes live beside its judge
(``sampling.Baseline``, ``forms.Twins``, ``tools.Forced`` ...). Fields are keyword-only.

Every shape lists, with ``exchanges()``, what the shared guard checks, in the order it checks
them: ``probe_failure`` (the first exchange that did not succeed decides, see
``outcome.probe_failure``). ``@guarded`` runs it once, before the judge's body, so no judge
repeats it; ``@guarded_by(guard)`` runs another guard that extends it (``tools``). A judge
whose guard must read something first (a shared baseline, the plain embeddings request, a
refusal that is itself the verdict) does that explicitly and then calls a guarded body.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from harness.checks.judges.outcome import Judgement, probe_failure
from harness.transport import Exchange


class Shape(Protocol):
    def exchanges(self) -> Sequence[Exchange]:
        """What the shared guard checks, in the order it checks them."""
        ...


S = TypeVar("S", bound=Shape)
P = ParamSpec("P")
Guard = Callable[[Sequence[Exchange]], Judgement | None]


def guarded_by(
    guard: Guard,
) -> Callable[[Callable[Concatenate[S, P], Judgement]], Callable[Concatenate[S, P], Judgement]]:
    """A judge taking a shape first, run only where ``guard`` finds nothing wrong with the
    shape's exchanges (``shape.exchanges()``); otherwise the guard's verdict is the judge's."""

    def decorate(judge: Callable[Concatenate[S, P], Judgement]) -> Callable[Concatenate[S, P], Judgement]:
        @functools.wraps(judge)
        def run(shape: S, /, *args: P.args, **kwargs: P.kwargs) -> Judgement:
            return guard(shape.exchanges()) or judge(shape, *args, **kwargs)

        return run

    return decorate


def guarded(judge: Callable[Concatenate[S, P], Judgement]) -> Callable[Concatenate[S, P], Judgement]:
    """The shared guard (``probe_failure`` over ``shape.exchanges()``) before the judge."""
    return guarded_by(probe_failure)(judge)


@dataclass(frozen=True, kw_only=True)
class Pair:
    """The base request (the same request without the value, or another form of it) and the
    probe (with the value). The guard reads the base first."""

    base: Exchange
    probe: Exchange

    def exchanges(self) -> list[Exchange]:
        return [self.base, self.probe]


@dataclass(frozen=True, kw_only=True)
class Contrast:
    """A probe and the control that could refute it (the same request without the value, or
    under another value). The guard reads the probe first."""

    probe: Exchange
    control: Exchange

    def exchanges(self) -> list[Exchange]:
        return [self.probe, self.control]


@dataclass(frozen=True, kw_only=True)
class StreamPair:
    """The same request answered in one body (``plain``) and as a stream (``streamed``)."""

    plain: Exchange
    streamed: Exchange

    def exchanges(self) -> list[Exchange]:
        return [self.plain, self.streamed]
