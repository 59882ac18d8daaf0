"""The validator every expectation comes from: JSON Schema 2020-12, plus ``x-references``
(a value that must name another part of the same request, which JSON Schema cannot say: a
forced ``tool_choice`` names one of ``tools``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError


def values_at(instance: Any, pointer: str) -> list[Any]:
    """Every value at ``pointer`` (``*`` matches each item of an array); none when absent."""
    found = [instance]
    for part in pointer.strip("/").split("/"):
        step: list[Any] = []
        for value in found:
            if part == "*" and isinstance(value, list):
                step += value
            elif isinstance(value, dict) and part in value:
                step.append(value[part])
        found = step
    return found


def _references(validator: Any, rules: list[dict[str, str]], instance: Any, schema: Any) -> Iterator[ValidationError]:
    for rule in rules:
        for chosen in values_at(instance, rule["from"]):
            among = values_at(instance, rule["among"])
            if chosen not in among:
                named = ", ".join(map(repr, among)) or "none"
                yield ValidationError(
                    f"{chosen!r} at {rule['from']} names none of {rule['among']} ({named})",
                    path=rule["from"].strip("/").split("/"),
                )


SurfaceValidator = validators.extend(Draft202012Validator, {"x-references": _references})  # type: ignore[no-untyped-call]


def surface_validator(schema: dict[str, Any]) -> Any:
    return SurfaceValidator(schema)
