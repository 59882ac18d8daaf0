"""Structural cases: nested structure valid and broken, dependencies both ways, stable ids, a
budget; judged against a provider that enforces the structure, one that accepts anything,
and one that crashes on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.errors import SchemaError
from harness.generation.structure import _generated, build_structure
from harness.results import Verdict
from harness.schema import Surface, load_catalogue
from harness.schema.validator import surface_validator
from tests.synthetic import Behaviour
from tests.unit.test_checks import run_checks


def _by_label(cases: list[Any]) -> dict[str, Any]:
    return {f"{c.param}:{c.label}": c for c in cases}


def test_ids_are_stable_across_generations(catalogue: dict[str, Surface]) -> None:
    first = [c.id for c in build_structure(catalogue["openai"], "m")]
    _generated.cache_clear()  # hypothesis-jsonschema generates the valid forms again
    assert [c.id for c in build_structure(catalogue["openai"], "m")] == first
    assert len(first) == len(set(first)) > 50


def test_broken_structure_is_documented_invalid(catalogue: dict[str, Surface]) -> None:
    cases = _by_label(build_structure(catalogue["openai"], "m"))
    expected = {
        "tools:structure-example.0-null": "reject",  # tools: [null]
        "tools:structure-example.0-string": "reject",  # tools: ["x"]
        "tools:structure-example.0.type-missing": "reject",
        "tools:structure-example.0.function.name-missing": "reject",
        "tools:structure-example.0.function.description-wrong-type": "reject",
        "messages:structure-example.0.role-missing": "reject",
        "messages:structure-example.0.role-wrong-type": "reject",
        "tool_choice:structure-function.function.name-wrong-type": "reject",
        "response_format:structure-json_schema.json_schema.name-missing": "reject",
        "response_format:structure-json_schema.json_schema-wrong-type": "reject",
        "tools:structure-example-valid": "accept",
        "response_format:structure-json_schema-valid": "accept",
        "tool_choice:structure-allowed_tools-valid": "accept",
    }
    assert {label: cases[label].expect for label in expected} == expected
    # Each expectation is what the surface says of the whole request, nothing else.
    validator = surface_validator(catalogue["openai"].schema)
    for case in cases.values():
        assert (case.expect == "accept") == validator.is_valid(case.body), case.label
    assert cases["tools:structure-example.0-null"].value == [None]


def test_dependencies_both_ways(catalogue: dict[str, Surface]) -> None:
    cases = _by_label(build_structure(catalogue["openai"], "m"))
    without = cases["tool_choice:structure-required-without-tools"]
    assert "tools" not in without.body and without.value == "required" and without.expect == "reject"
    empty = cases["tool_choice:structure-required-tools-empty"]
    assert empty.body["tools"] == [] and empty.expect == "reject"
    named = cases["tool_choice:structure-reference-names-a-tool"]
    assert named.body["tool_choice"]["function"]["name"] == named.body["tools"][0]["function"]["name"]
    assert named.expect == "accept"
    absent = cases["tool_choice:structure-reference-names-none"]
    assert absent.expect == "reject" and "names none of /tools/*/function/name" in absent.reason
    assert not any(c.param == "top_logprobs" for c in cases.values())  # scalar: the matrix has it both ways


def test_the_budget_keeps_every_parameter(catalogue: dict[str, Surface]) -> None:
    cases = build_structure(catalogue["openai"], "m", budget=30)
    assert len(cases) == 30
    assert {"tools", "tool_choice", "messages", "response_format"} <= {c.param for c in cases}
    assert build_structure(catalogue["openai"], "m", budget=0) == []
    # A surface that documents no nested structure has no structural case; llama.cpp's
    # documents response_format's tag only.
    assert build_structure(catalogue["openrouter"], "m") == []
    assert {c.param for c in build_structure(catalogue["llamacpp"], "m")} == {"response_format"}


def test_the_meta_schema_checks_nested_structure(schemas_copy: Path) -> None:
    path = schemas_copy / "openai.json"
    data = json.loads(path.read_text())
    data["properties"]["tools"]["items"]["oneOf"][0]["required"] = "type"  # not a list
    path.write_text(json.dumps(data))
    with pytest.raises(SchemaError, match="tools"):
        load_catalogue(schemas_copy)


@pytest.mark.parametrize(
    ("behaviour", "broken", "valid"),
    [
        ("enforces", Verdict.REJECTED, Verdict.ACCEPTED),
        ("accepts anything", Verdict.LENIENT, Verdict.ACCEPTED),
        ("crashes", Verdict.SERVER_ERROR, Verdict.ACCEPTED),
    ],
)
def test_structure_verdicts(
    tmp_path: Path, catalogue: dict[str, Surface], behaviour: str, broken: Verdict, valid: Verdict
) -> None:
    surface = catalogue["openai"]
    b = Behaviour(
        validates=surface.schema if behaviour == "enforces" else None,
        server_error_for={"tools"} if behaviour == "crashes" else set(),
    )
    records = run_checks(tmp_path, surface, b, ["structure"], ["tools"])
    by_label = {r.label: r for r in records}
    assert by_label["structure-example.0-null"].verdict is broken
    assert by_label["structure-example.0.function.name-missing"].verdict is broken
    if behaviour != "crashes":  # (a server that crashes on every tools request fails valid ones too)
        assert by_label["structure-example-valid"].verdict is valid
    # The finding carries the structure that triggers it and a reproducer.
    null_item = by_label["structure-example.0-null"]
    assert null_item.value == [None] and "curl" in null_item.evidence["reproducer"]


def test_the_forms_of_a_tagged_union_are_still_probed(catalogue: dict[str, Surface]) -> None:
    """response_format is a oneOf of forms now: the effect check still finds each form's tag."""
    from harness.checks import CheckContext, load_families
    from harness.engine import DedupingSender

    for name in ("openai", "llamacpp"):
        ctx = CheckContext("p", catalogue[name], "m", [], DedupingSender(None))
        units = {unit.id for unit in load_families()["effect"].units(ctx)}
        assert {"effect.response_format.effect-json_object", "effect.response_format.effect-json_schema"} <= units, name
