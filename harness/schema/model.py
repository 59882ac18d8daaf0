"""The parameter surface as the rest of the harness sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Placement = Literal["standard", "extension", "client"]


@dataclass(frozen=True)
class Parameter:
    """One documented request parameter: its JSON Schema plus the harness annotations."""

    name: str
    schema: dict[str, Any]
    placement: Placement
    provenance_kind: str
    provenance_source: str

    @property
    def types(self) -> tuple[str, ...]:
        declared = self.schema.get("type")
        if declared is None:
            found: list[str] = []
            for branch in self.schema.get("anyOf", []):
                branch_type = branch.get("type")
                found.extend([branch_type] if isinstance(branch_type, str) else branch_type or [])
            return tuple(dict.fromkeys(found))
        return (declared,) if isinstance(declared, str) else tuple(declared)

    @property
    def has_default(self) -> bool:
        return "default" in self.schema

    @property
    def default(self) -> Any:
        return self.schema.get("default")

    @property
    def nullable(self) -> bool:
        return "null" in self.types

    @property
    def sent(self) -> bool:
        """Client settings (timeouts, concurrency) never reach the wire."""
        return self.placement != "client"


@dataclass(frozen=True)
class Surface:
    """A documented request surface: one schema file in ``schemas/``."""

    name: str
    title: str
    path: Path
    schema: dict[str, Any]
    endpoint: str
    unknown_keys: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    embeddings: dict[str, Parameter] = field(default_factory=dict)
    # The statuses the documentation gives for an invalid request: only these are REJECTED.
    refusal_statuses: frozenset[int] = frozenset({400, 422})

    def dependencies(self, param: str) -> dict[str, Any]:
        """Keys (and their required values) that ``param`` needs, from ``dependentSchemas``."""
        dep = self.schema.get("dependentSchemas", {}).get(param)
        if not dep:
            return {}
        props = dep.get("properties", {})
        return {key: self._needed_value(key, props.get(key, {})) for key in dep.get("required", [])}

    def _needed_value(self, key: str, constraint: dict[str, Any]) -> Any:
        """What to send for a needed key: the dependency's const, else the key's first example."""
        if "const" in constraint:
            return constraint["const"]
        examples = self.schema.get("properties", {}).get(key, {}).get("examples")
        return examples[0] if examples else True


def type_tags(schema: dict[str, Any]) -> list[Any]:
    """The values of an object's ``type`` tag: its enum (``{type: {enum: [...]}}``), or the
    constant of each form of a tagged union (``oneOf: [{type: {const: "text"}}, ...]``)."""
    tags = schema.get("properties", {}).get("type", {}).get("enum")
    if tags:
        return list(tags)
    forms = schema.get("oneOf") or schema.get("anyOf") or []
    return [f["properties"]["type"]["const"] for f in forms if "const" in f.get("properties", {}).get("type", {})]
