"""The check registry: a name -> function map filled by the ``@check`` decorator.

A check receives a ``CheckContext`` (the provider, its surface and matrix, and ``send``) and
returns ``Unit``s: independent pieces of work, each with a stable id, that the engine runs
concurrently and writes as soon as each finishes (so ``--resume`` can skip finished ones).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.generation import Case
from harness.generation.structure import STRUCTURE_BUDGET
from harness.results import Record
from harness.schema import Surface
from harness.transport import Exchange


class Sender(Protocol):
    async def __call__(self, body: dict[str, Any], path: str = ..., fresh: bool = ...) -> Exchange: ...

    def observe(self, observer: Callable[[Exchange], None]) -> None: ...


@dataclass
class CheckContext:
    provider: str
    surface: Surface
    model: str
    cases: list[Case]
    send: Sender
    api_key_env: str = ""
    base_url: str = ""
    params: list[str] | None = None  # --params: restrict probes to these
    memo: dict[str, Any] = field(default_factory=dict)  # results shared by units (baselines)
    send_seed: bool = True  # False: no request carries `seed` (providers.toml send_seed = false)
    probe_mode: str = "auto"  # "auto", "seeded" or "seed-free" (see judges.profile)
    structure_budget: int = STRUCTURE_BUDGET  # at most this many structural cases (requests)

    def wants(self, param: str) -> bool:
        return self.params is None or param in self.params


@dataclass
class Unit:
    """One piece of work: ``run`` sends what it needs and returns its records."""

    id: str
    param: str
    run: Callable[[], Awaitable[list[Record]]]


@dataclass
class Check:
    name: str
    family: str
    description: str
    units: Callable[[CheckContext], list[Unit]]
    enabled: bool = field(default=True)
    after_others: bool = False  # runs once every other unit has finished (sees all exchanges)


CHECKS: dict[str, Check] = {}

# Families are modules of harness.checks; each registers its checks on import.
FAMILIES = (
    "ranges",
    "structure",
    "defaults",
    "determinism",
    "passthrough",
    "effects",
    "equivalence",
    "tools",
    "embeddings",
    "response_schemas",
)

UnitsFactory = Callable[[CheckContext], list[Unit]]


def check(name: str, description: str, after_others: bool = False) -> Callable[[UnitsFactory], UnitsFactory]:
    def register(fn: UnitsFactory) -> UnitsFactory:
        if name in CHECKS:
            raise ValueError(f"check {name!r} registered twice")
        CHECKS[name] = Check(name, fn.__module__.rsplit(".", 1)[-1], description, fn, after_others=after_others)
        return fn

    return register


def load_families() -> dict[str, Check]:
    for family in FAMILIES:
        importlib.import_module(f"harness.checks.{family}")
    return CHECKS
