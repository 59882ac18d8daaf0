"""A finding: what one probe concluded, with the exchanges that show it. Probes return
findings; the engine turns each into the ``Record`` reports render (``engine.build_record``,
the one place a record is built)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from harness.checks.judges.outcome import Judgement
from harness.transport import Exchange


@dataclass(frozen=True)
class Finding:
    judgement: Judgement
    exchanges: Sequence[Exchange] = ()  # shown as evidence (the last one is the reproducer)
    value: Any = None  # the value probed
    mode: str = ""  # how it was proven: "seeded", "greedy", "statistical"
    spent: Sequence[Exchange] | None = None  # counted as the verdict's cost (default: ``exchanges``)
    statistics: Mapping[str, Any] | None = None  # a statistical probe's samples and tests
    notes: Mapping[str, Any] = field(default_factory=dict)  # more evidence (e.g. an error envelope's grade)
    # What the finding is about. A probe's own declaration fills these (``registry.probe``);
    # only findings that no single probe declares (matrix cases, response groups) set them.
    check: str = ""
    param: str = ""
    label: str = ""
    case_id: str = ""  # default: "check.param.label"
    expect: str = ""  # a matrix case's documented expectation

    @property
    def id(self) -> str:
        return self.case_id or case_id(self.check, self.param, self.label)

    def about(self, check: str, param: str, label: str) -> Finding:
        """This finding as the answer of the probe (check, param, label), unless it says otherwise."""
        if self.check:
            return self
        return replace(self, check=check, param=param, label=label)


def case_id(check: str, param: str, label: str) -> str:
    return f"{check}.{param}{'.' + label if label else ''}"
