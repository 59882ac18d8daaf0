"""Values worth sending for one parameter: boundaries, just-outside values, typical values,
null, a wrong type, enum members and an unknown member, length limits and one past them.

Each value says only *why* it was chosen; whether the documentation accepts it is decided
later, by validating the whole request against the surface schema (one source of truth).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from harness.schema.model import type_tags


@dataclass(frozen=True)
class Probe:
    """A value to try, with a short label that becomes part of the case id."""

    label: str
    value: Any


UNKNOWN_ENUM = "harness-unknown-value"


def _typical_number(schema: dict[str, Any], integer: bool) -> int | float:
    # A schema's ``examples`` name a cheap, representative value (max_tokens: 16, not 65536).
    examples = schema.get("examples") or []
    if examples and isinstance(examples[0], int | float):
        example: int | float = examples[0]
        return example
    default = schema.get("default")
    if isinstance(default, int | float) and not isinstance(default, bool):
        return default
    low: int | float | None = schema.get("minimum", schema.get("exclusiveMinimum"))
    high: int | float | None = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None and high is not None:
        mid = (low + high) / 2
        return math.floor(mid) if integer else mid
    if low is not None:
        return low + 1
    if high is not None:
        return high - 1
    return 1 if integer else 0.5


def number_probes(schema: dict[str, Any], integer: bool) -> list[Probe]:
    """Ends of the range and the nearest value across each end.

    Floats step by one ulp (math.nextafter), not by 1: 2.0000000000000004 is the first value
    a server documented as [0, 2] must refuse. Integers step by 1.
    """
    probes: list[Probe] = []

    def step(x: int | float, towards: float) -> int | float:
        if integer:
            return int(x) + (1 if towards > x else -1)
        return math.nextafter(float(x), towards)

    for key, outward, name in (
        ("minimum", -math.inf, "min"),
        ("maximum", math.inf, "max"),
    ):
        if key in schema:
            end = schema[key]
            probes.append(Probe(f"{name}", end))
            probes.append(Probe(f"{name}-outside", step(end, outward)))
    for key, inward, name in (
        ("exclusiveMinimum", math.inf, "xmin"),
        ("exclusiveMaximum", -math.inf, "xmax"),
    ):
        if key in schema:
            end = schema[key]
            probes.append(Probe(f"{name}-end", end))
            probes.append(Probe(f"{name}-inside", step(end, inward)))
    probes.append(Probe("typical", _typical_number(schema, integer)))
    if integer:
        probes.append(Probe("fraction", 1.5))
    return probes


def _string_of(length: int) -> str:
    return ("harness-" * (length // 8 + 1))[:length]


def string_probes(schema: dict[str, Any]) -> list[Probe]:
    if "enum" in schema:
        members = [m for m in schema["enum"] if m is not None]
        return [Probe(f"enum-{m}", m) for m in members] + [Probe("enum-unknown", UNKNOWN_ENUM)]
    examples = schema.get("examples") or []
    typical = examples[0] if examples and isinstance(examples[0], str) else schema.get("default", "harness")
    probes = [Probe("typical", typical)]
    if "maxLength" in schema:
        probes.append(Probe("max-length", _string_of(schema["maxLength"])))
        probes.append(Probe("max-length-outside", _string_of(schema["maxLength"] + 1)))
    if schema.get("minLength", 0) > 0:
        probes.append(Probe("min-length-outside", _string_of(schema["minLength"] - 1)))
    return probes


def _item(schema: dict[str, Any], index: int) -> Any:
    items = schema.get("items", {})
    kind = items.get("type")
    if "enum" in items:
        return items["enum"][index % len(items["enum"])]
    if kind == "integer":
        return index + 1
    if kind == "number":
        return float(index + 1)
    if kind == "object":
        return _tool(index)
    return f"<stop{index}>"


def _tool(index: int) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": f"tool_{index}",
            "description": "A probe tool; the harness never expects it to be called.",
            "parameters": {"type": "object", "properties": {}},
        },
    }


def array_probes(schema: dict[str, Any]) -> list[Probe]:
    # An array of structured items has its typical value in the schema's examples (tools).
    examples = schema.get("examples")
    probes = [Probe("typical", examples[0] if examples else [_item(schema, 0)])]
    if "maxItems" in schema:
        n = schema["maxItems"]
        probes.append(Probe("max-items", [_item(schema, i) for i in range(n)]))
        probes.append(Probe("max-items-outside", [_item(schema, i) for i in range(n + 1)]))
    if schema.get("minItems", 0) > 0:
        n = schema["minItems"]
        probes.append(Probe("min-items-outside", [_item(schema, i) for i in range(n - 1)]))
    items = schema.get("items", {})
    if "maxLength" in items:
        probes.append(Probe("item-max-length", [_string_of(items["maxLength"])]))
        probes.append(Probe("item-max-length-outside", [_string_of(items["maxLength"] + 1)]))
    if items.get("minLength", 0) > 0:
        probes.append(Probe("item-empty", [""]))
    return probes


def object_probes(schema: dict[str, Any]) -> list[Probe]:
    type_enum = type_tags(schema)
    if type_enum:  # a tagged object (response_format): each tag alone, and an unknown one
        return [Probe(f"type-{t}", {"type": t}) for t in type_enum] + [Probe("type-unknown", {"type": UNKNOWN_ENUM})]
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("type") in ("number", "integer"):
        # A map of token id -> value (logit_bias): probe the value range under one key.
        return [Probe(f"entry-{p.label}", {"1": p.value}) for p in number_probes(extra, extra["type"] == "integer")]
    return [Probe("typical", {})]


def wrong_type(types: tuple[str, ...]) -> Probe | None:
    """A value of a JSON type the parameter does not declare (the first that fits)."""
    candidates: list[tuple[str, Any]] = [
        ("string", "0.5"),
        ("number", 12.5),
        ("object", {"harness": 1}),
        ("boolean", True),
    ]
    allowed = set(types)
    for json_type, value in candidates:
        if json_type not in allowed:
            return Probe("wrong-type", value)
    return None


def probes_for(schema: dict[str, Any], types: tuple[str, ...]) -> list[Probe]:
    """All probes for a parameter declared with ``types`` (a union gives the probes of each)."""
    branches = [schema]
    if "anyOf" in schema:
        branches = [{**schema, **b} for b in schema["anyOf"]]
    probes: list[Probe] = []
    for branch in branches:
        declared = branch.get("type", types)
        branch_types = (declared,) if isinstance(declared, str) else tuple(declared)
        for json_type in branch_types:
            if json_type == "number":
                probes += number_probes(branch, integer=False)
            elif json_type == "integer":
                probes += number_probes(branch, integer=True)
            elif json_type == "boolean":
                probes += [Probe("true", True), Probe("false", False)]
            elif json_type == "string":
                probes += string_probes(branch)
            elif json_type == "array":
                probes += array_probes(branch)
            elif json_type == "object":
                probes += object_probes(branch)
    if "enum" in schema and not any(p.label.startswith("enum") for p in probes):
        probes = [Probe(f"enum-{m}", m) for m in schema["enum"] if m is not None]
        probes.append(Probe("enum-unknown", UNKNOWN_ENUM if isinstance(schema["enum"][0], str) else 99))
    bad = wrong_type(types)
    if bad is not None:
        probes.append(bad)
    probes.append(Probe("null", None))
    return _distinct(probes)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _distinct(probes: list[Probe]) -> list[Probe]:
    """Probes with distinct labels, none lost: branches of a union reuse labels ("typical" for
    both the string and the array of ``stop``), and keeping only the first would leave a branch
    unprobed. A repeated label with another value gets the value's JSON type as a suffix; a
    label seen once keeps its name, since case ids (and so recorded cassettes) derive from it.
    Only exact repeats, same label and same value, are dropped."""
    unique: dict[str, Probe] = {}
    # Values compared as JSON, not with ==: 1, 1.0 and True are different requests.
    sent: dict[str, str] = {}
    for probe in probes:
        text = json.dumps(probe.value, sort_keys=True)
        label, n = probe.label, 1
        while label in sent and sent[label] != text:
            label = f"{probe.label}-{_json_type(probe.value)}" + (str(n) if n > 1 else "")
            n += 1
        if label not in sent:
            unique[label], sent[label] = Probe(label, probe.value), text
    return list(unique.values())
