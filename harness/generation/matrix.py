"""Build the request matrix of a surface: one ``Case`` per probe value, plus dependent
constraints both ways and pairwise combinations of the interacting sampling parameters.

A case's expectation comes from validating its request against the surface schema, so the
schema is the one source of truth for "documented as valid". Its id is derived from the
canonical request, so cassettes keep matching after any refactor of this code.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, cast

from allpairspy import AllPairs

from harness.generation import kept
from harness.generation.values import Probe, probes_for
from harness.schema.model import Parameter, Surface
from harness.schema.validator import surface_validator

Expectation = Literal["accept", "reject", "unspecified"]


class _Omitted:
    """The parameter is left out of the request: distinct from sending ``null``."""

    _instance: _Omitted | None = None

    def __new__(cls) -> _Omitted:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<omitted>"


OMITTED: Final = _Omitted()

# Cheap by default: a short prompt and a few tokens decide acceptance.
PROMPT = "Say hello."
MAX_TOKENS = 8
# The sampling parameters whose interactions matter (top_k is applied before top_p, ...).
INTERACTING = ("temperature", "top_p", "top_k", "min_p")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces: equal requests have equal text (ids, cassette matching)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def base_body(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": MAX_TOKENS,
    }


@dataclass(frozen=True)
class Case:
    """One request of the matrix and what the documentation says should happen to it."""

    id: str
    surface: str
    param: str
    label: str
    value: Any
    body: dict[str, Any]
    extension_keys: tuple[str, ...]
    # What the documentation says, computed when first asked: a run sends the request before
    # anything judges its answer, so validating (the matrix's largest cost) overlaps the wait
    # for the provider instead of delaying the first request.
    documented: Callable[[], tuple[Expectation, str]] = field(repr=False, compare=False)

    @functools.cached_property
    def _expectation(self) -> tuple[Expectation, str]:
        return self.documented()

    @property
    def expect(self) -> Expectation:
        return self._expectation[0]

    @property
    def reason(self) -> str:
        return self._expectation[1]

    @property
    def omitted(self) -> bool:
        return self.value is OMITTED

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "surface": self.surface,
            "param": self.param,
            "label": self.label,
            "value": None if self.omitted else self.value,
            "omitted": self.omitted,
            "expect": self.expect,
            "reason": self.reason,
            "extension_keys": list(self.extension_keys),
            "body": self.body,
        }


def case_id(param: str, label: str, body: dict[str, Any], encoded: str | None = None) -> str:
    """``encoded`` is ``canonical_json(body)`` when the caller already has it."""
    digest = hashlib.sha256((encoded if encoded is not None else canonical_json(body)).encode()).hexdigest()[:10]
    return f"{param}.{label}.{digest}"


_Verdicts = dict[tuple[str, bool], tuple[Expectation, str]]


@dataclass
class _Shared:
    surface: Surface
    validator: Any
    verdicts: _Verdicts
    file: Path  # where the surface's expectations are kept between processes (generation.kept)
    kept: int  # how many of them that file holds
    built: dict[tuple[Hashable, ...], list[Case]] = field(default_factory=dict)  # by what was built


# Per surface (the catalogue's own object, held here so its id stays its own): its compiled
# validator and the expectation of every request validated against it. An expectation is the
# surface's answer for a body, so every builder of the surface shares them: the "omitted" case
# of every parameter is one base request, and the columns (and rounds) held to one surface
# validate each request once; and a later process starts from those kept in the cache. The few
# surfaces used last are kept.
_SHARED: dict[int, _Shared] = {}
_SHARED_SURFACES = 16


def _shared_by(surface: Surface) -> _Shared:
    entry = _SHARED.pop(id(surface), None)
    if entry is None or entry.surface is not surface:
        file = kept.surface_file(surface.schema)
        verdicts = cast(_Verdicts, kept.load(file))
        entry = _Shared(surface, surface_validator(surface.schema), verdicts, file, len(verdicts))
    _SHARED[id(surface)] = entry  # the most recently used last
    while len(_SHARED) > _SHARED_SURFACES:
        keep_expectations(_SHARED.pop(next(iter(_SHARED))))
    return entry


def shared_build(surface: Surface, key: tuple[Hashable, ...], build: Callable[[], list[Case]]) -> list[Case]:
    """Cases built once per surface and ``key`` (what else they depend on) in a process: the
    columns held to one surface with one model name (most local ones) share their matrix and
    structural cases instead of building them again. Cases are frozen; each caller gets a list
    of its own."""
    shared = _shared_by(surface)
    found = shared.built.get(key)
    if found is None:
        found = shared.built[key] = build()
    return list(found)


def keep_expectations(entry: _Shared | None = None) -> None:
    """Write the expectations computed since they were read (of one surface, else of every
    surface in use) to the cache, for the next process: after a column has run."""
    for shared in [entry] if entry is not None else list(_SHARED.values()):
        if len(shared.verdicts) > shared.kept:
            kept.save(shared.file, dict(shared.verdicts))
            shared.kept = len(shared.verdicts)


class MatrixBuilder:
    """Turns one surface into cases for one model name."""

    def __init__(self, surface: Surface, model: str) -> None:
        self.surface = surface
        self.model = model
        shared = _shared_by(surface)
        self.validator, self._verdicts = shared.validator, shared.verdicts

    def expectation(self, body: dict[str, Any], label: str, encoded: str | None = None) -> tuple[Expectation, str]:
        key = (encoded if encoded is not None else canonical_json(body), label == "null")
        known = self._verdicts.get(key)
        if known is None:
            known = self._verdicts[key] = self._expectation(body, label)
        return known

    def _expectation(self, body: dict[str, Any], label: str) -> tuple[Expectation, str]:
        errors = sorted(self.validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if not errors:
            return "accept", "documented as valid"
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(body)"
        if label == "null":
            # Documentation that does not say "nullable" rarely says "null is an error" either.
            return "unspecified", f"null is not documented for {where}"
        return "reject", f"{where}: {first.message}"[:200]

    def case(self, param: str, label: str, value: Any, extra: dict[str, Any] | None = None) -> Case:
        body = base_body(self.model)
        body.update(extra or {})
        if value is not OMITTED:
            body[param] = value
        return self.case_of(param, label, value, body)

    def case_of(self, param: str, label: str, value: Any, body: dict[str, Any]) -> Case:
        """A case for a request built elsewhere (Data Designer's own), sent exactly as given."""
        encoded = canonical_json(body)
        extensions = tuple(
            sorted(
                k for k in body if k in self.surface.parameters and self.surface.parameters[k].placement == "extension"
            )
        )
        return Case(
            case_id(param, label, body, encoded),
            self.surface.name,
            param,
            label,
            value,
            body,
            extensions,
            functools.partial(self.expectation, body, label, encoded),
        )

    def parameter_cases(self, param: Parameter) -> list[Case]:
        needs = self.surface.dependencies(param.name)
        cases = [self.case(param.name, "omitted", OMITTED)]
        for probe in probes_for(param.schema, param.types):
            cases.append(self.case(param.name, probe.label, probe.value, needs))
        if needs:
            # The dependency itself, both ways: with its requirement met (above) and without.
            typical = next((p for p in probes_for(param.schema, param.types) if p.label == "typical"), None)
            if typical is not None:
                cases.append(self.case(param.name, "without-" + "-".join(needs), typical.value))
        return cases

    def pairwise_cases(self) -> list[Case]:
        present = [self.surface.parameters[p] for p in INTERACTING if p in self.surface.parameters]
        if len(present) < 2:
            return []
        axes: list[list[Probe]] = []
        for param in present:
            valid = [
                p
                for p in probes_for(param.schema, param.types)
                if p.label in ("min", "max", "typical", "xmin-inside", "xmax-inside")
                and self.expectation({**base_body(self.model), param.name: p.value}, p.label)[0] == "accept"
            ]
            axes.append(valid or [Probe("typical", param.default)])
        cases = []
        for combo in AllPairs(axes):
            values = {param.name: probe.value for param, probe in zip(present, combo, strict=True)}
            label = "pairwise-" + "-".join(probe.label for probe in combo)
            cases.append(self.case("+".join(p.name for p in present), label, OMITTED, values))
        return cases

    def build(self, params: list[str] | None = None) -> list[Case]:
        chosen = [p for p in self.surface.parameters.values() if p.sent and (not params or p.name in params)]
        cases = [case for param in chosen for case in self.parameter_cases(param)]
        if not params or any(p in INTERACTING for p in params):
            cases += self.pairwise_cases()
        seen: set[str] = set()
        unique = []
        for case in cases:
            if case.id not in seen:
                seen.add(case.id)
                unique.append(case)
        return unique


def build_matrix(surface: Surface, model: str, params: list[str] | None = None) -> list[Case]:
    """The matrix of ``surface`` for requests naming ``model``, in a stable order."""
    key = ("matrix", model, tuple(params) if params else None)
    return shared_build(surface, key, lambda: MatrixBuilder(surface, model).build(params))
