"""The check registry: checks by name, and the probes that make up each check.

A check receives a ``CheckContext`` and returns ``Unit``s: independent pieces of work, each
with a stable id, that the engine runs concurrently and records as soon as each finishes (so
``--resume`` can skip finished ones). Most checks are a set of probes: each declared once with
``@probe`` (its check, parameter, label and when it applies), which gives its one id, the id of
its unit and of its record alike. Matrix-driven checks (ranges, structure) declare their units
with ``@check``.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from harness.checks.context import CheckContext, RunShared, Sender
from harness.checks.cost import Ceiling
from harness.checks.findings import Finding, case_id
from harness.checks.judges.profile import Profile

__all__ = [
    "CHECKS",
    "Ceiling",
    "Check",
    "CheckContext",
    "Probe",
    "RunShared",
    "Sender",
    "Unit",
    "check",
    "probe",
    "probe_each",
    "unit_of",
]


UnitCost = Callable[[Profile], Ceiling]


@dataclass
class Unit:
    """One piece of work: ``run`` sends what it needs and returns its findings; ``cost`` the
    most it can send under a provider profile (``checks.cost``; None: not declared)."""

    id: str
    param: str
    run: Callable[[], Awaitable[list[Finding]]]
    cost: UnitCost | None = None


@dataclass
class Check:
    name: str
    family: str
    description: str
    units: Callable[[CheckContext], list[Unit]]
    enabled: bool = field(default=True)
    after_others: bool = False  # runs once every other unit has finished (a column split leaves it out)
    # Sends nothing and judges every exchange of the column (response schemas, routes): runs
    # last of all, once the units that run after the others have finished too.
    reads_all: bool = False

    def __post_init__(self) -> None:
        # What judges every exchange runs after the others too: no split of a column runs it.
        self.after_others = self.after_others or self.reads_all

    @property
    def phase(self) -> int:
        """When its units run: 0 first, 1 after the others, 2 after every unit that sends."""
        return 2 if self.reads_all else 1 if self.after_others else 0


CHECKS: dict[str, Check] = {}


def unit_of(
    unit_id: str,
    check_name: str,
    param: str,
    label: str,
    make: Callable[[], Awaitable[Finding]],
    cost: UnitCost | None = None,
) -> Unit:
    """A unit outside the registry (a Data Designer config's own probes) whose finding is about
    (check, param, label); ``cost``: its ceiling, as a probe declares one."""

    async def run() -> list[Finding]:
        return [(await make()).about(check_name, param, label)]

    return Unit(unit_id, param, run, cost)


# Families are modules of harness.checks; each registers its checks on import. A run plans
# them in this order, whatever imported them first (the order the CLI's runs have had: the
# shipped reports and their records were made in it).
FAMILIES = (
    "determinism",
    "embeddings",
    "passthrough",
    "ranges",
    "structure",
    "defaults",
    "effects",
    "equivalence",
    "tools",
    "tool_agreement",
    "streams",
    "response_schemas",
    "model",
    "overflow",
    "template",
    "gateway",
    "route",
)

UnitsFactory = Callable[[CheckContext], list[Unit]]


def check(
    name: str, description: str, after_others: bool = False, reads_all: bool = False
) -> Callable[[UnitsFactory], UnitsFactory]:
    """Register a check whose units a function builds (one per matrix case, say)."""

    def register(fn: UnitsFactory) -> UnitsFactory:
        if name in CHECKS:
            raise ValueError(f"check {name!r} registered twice")
        family = fn.__module__.rsplit(".", 1)[-1]
        CHECKS[name] = Check(name, family, description, fn, after_others=after_others, reads_all=reads_all)
        return fn

    return register


ProbeRun = Callable[[CheckContext, str], Awaitable[Finding]]
Applies = Callable[[CheckContext, str], bool]
# The most a probe can send for one parameter under a profile (``checks.cost``), declared next to it.
ProbeCost = Callable[[CheckContext, str, Profile], Ceiling]
FixedCost = Callable[[CheckContext, Profile], Ceiling]


@dataclass(frozen=True)
class Probe:
    """One probe: the check it belongs to, the parameter it is about, its label, when it
    applies, and the function that sends and judges."""

    check: str
    label: str
    params: Callable[[CheckContext], Iterable[str]]  # the parameters it probes on a surface
    applies: Applies
    run: ProbeRun
    cost: ProbeCost | None = None

    def units(self, ctx: CheckContext) -> list[Unit]:
        return [
            Unit(case_id(self.check, param, self.label), param, self._bound(ctx, param), self._cost(ctx, param))
            for param in self.params(ctx)
            if ctx.wants(param) and self.applies(ctx, param)
        ]

    def _cost(self, ctx: CheckContext, param: str) -> UnitCost | None:
        declared = self.cost
        if declared is None:
            return None
        return lambda profile: declared(ctx, param, profile)

    def _bound(self, ctx: CheckContext, param: str) -> Callable[[], Awaitable[list[Finding]]]:
        async def run() -> list[Finding]:
            return [(await self.run(ctx, param)).about(self.check, param, self.label)]

        return run


PROBES: dict[str, list[Probe]] = {}


def probes_check(module: str, name: str, description: str, after_others: bool = False) -> str:
    """Register the check ``name`` of the family ``module``, made of the probes declared for
    it with ``@probe``; returns its name."""

    def units(ctx: CheckContext) -> list[Unit]:
        found = [unit for declared in PROBES.get(name, []) for unit in declared.units(ctx)]
        ids = [unit.id for unit in found]
        if len(set(ids)) != len(ids):
            raise ValueError(f"check {name!r}: two probes share an id ({sorted(i for i in ids if ids.count(i) > 1)})")
        return found

    units.__module__ = module
    check(name, description, after_others)(units)
    return name


def _always(_ctx: CheckContext, _param: str) -> bool:
    return True


def _register(declared: Probe) -> None:
    PROBES.setdefault(declared.check, []).append(declared)


FixedProbe = TypeVar("FixedProbe", bound=Callable[..., Awaitable[Finding]])
EachProbe = TypeVar("EachProbe", bound=ProbeRun)


def probe(
    check_name: str,
    param: str,
    label: str,
    when: Callable[[CheckContext], bool] | None = None,
    cost: FixedCost | None = None,
) -> Callable[[FixedProbe], FixedProbe]:
    """Declare a probe of one parameter: ``async def f(ctx) -> Finding``. Its id, the id of
    its unit and of its record, is ``check.param.label``; ``cost(ctx, profile)`` the most it
    can send (``checks.cost``)."""

    def register(fn: FixedProbe) -> FixedProbe:
        async def run(ctx: CheckContext, _param: str) -> Finding:
            found: Finding = await fn(ctx)
            return found

        _register(
            Probe(
                check_name,
                label,
                lambda _ctx: (param,),
                (lambda ctx, _p: when(ctx)) if when else _always,
                run,
                (lambda ctx, _p, profile: cost(ctx, profile)) if cost else None,
            )
        )
        return fn

    return register


def probe_each(
    check_name: str,
    label: str,
    params: Callable[[CheckContext], Iterable[str]],
    when: Applies | None = None,
    cost: ProbeCost | None = None,
) -> Callable[[EachProbe], EachProbe]:
    """Declare one probe per parameter ``params`` names on a surface: ``async def f(ctx,
    param) -> Finding``; each parameter's id is ``check.param.label``; ``cost(ctx, param,
    profile)`` the most it can send (``checks.cost``)."""

    def register(fn: EachProbe) -> EachProbe:
        _register(Probe(check_name, label, params, when or _always, fn, cost))
        return fn

    return register


def load_families() -> dict[str, Check]:
    """Every check, in the order of ``FAMILIES`` (a family's own in the order it declares them)."""
    for family in FAMILIES:
        importlib.import_module(f"harness.checks.{family}")
    rank = {family: i for i, family in enumerate(FAMILIES)}
    return dict(sorted(CHECKS.items(), key=lambda item: rank.get(item[1].family, len(FAMILIES))))
