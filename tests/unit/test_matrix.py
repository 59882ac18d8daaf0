"""Boundary values and the request matrix: exact floats at and across each end, integers,
arrays, enums, dependencies, pairwise coverage, stable ids, omitted vs null."""

from __future__ import annotations

import itertools
import math
from typing import Any

from harness.generation import OMITTED, build_matrix
from harness.generation.matrix import INTERACTING, MAX_TOKENS, case_id
from harness.generation.values import UNKNOWN_ENUM, probes_for
from harness.schema import Surface
from harness.schema.model import Parameter


def _param(schema: dict[str, Any]) -> Parameter:
    spec = {**schema, "x-placement": "standard", "x-provenance": {"kind": "documented", "source": "test"}}
    return Parameter("p", spec, "standard", "documented", "test")


def _values(schema: dict[str, Any]) -> dict[str, Any]:
    param = _param(schema)
    return {p.label: p.value for p in probes_for(param.schema, param.types)}


def test_inclusive_float_range_steps_one_ulp_outside() -> None:
    values = _values({"type": "number", "minimum": 0, "maximum": 2})
    assert values["min"] == 0 and values["max"] == 2
    assert values["max-outside"] == 2.0000000000000004 == math.nextafter(2.0, math.inf)
    assert values["min-outside"] < 0 and values["min-outside"] == math.nextafter(0.0, -math.inf)
    assert values["wrong-type"] == "0.5" and values["null"] is None


def test_exclusive_float_range_probes_the_end_and_one_ulp_inside() -> None:
    values = _values({"type": "number", "exclusiveMinimum": 0.0, "maximum": 1.0})
    assert values["xmin-end"] == 0.0
    assert values["xmin-inside"] == math.nextafter(0.0, math.inf) > 0
    assert "min" not in values


def test_integer_range_steps_by_one() -> None:
    values = _values({"type": "integer", "minimum": 0, "maximum": 200})
    assert (values["min"], values["min-outside"], values["max"], values["max-outside"]) == (0, -1, 200, 201)
    assert values["fraction"] == 1.5


def test_array_and_item_length_limits() -> None:
    values = _values(
        {
            "type": ["string", "array"],
            "maxItems": 4,
            "maxLength": 256,
            "items": {"type": "string", "maxLength": 256},
        }
    )
    assert len(values["max-items"]) == 4 and len(values["max-items-outside"]) == 5
    assert len(values["item-max-length"][0]) == 256 and len(values["item-max-length-outside"][0]) == 257
    assert len(values["max-length"]) == 256 and len(values["max-length-outside"]) == 257


def test_enum_members_and_an_unknown_one() -> None:
    values = _values({"type": "string", "enum": ["standard", "turbo"]})
    assert values["enum-standard"] == "standard" and values["enum-turbo"] == "turbo"
    assert values["enum-unknown"] == UNKNOWN_ENUM


def test_expectations_follow_the_schema(catalogue: dict[str, Surface]) -> None:
    cases = {c.id.rsplit(".", 1)[0]: c for c in build_matrix(catalogue["oruel"], "m")}
    assert cases["temperature.max"].expect == "accept"
    assert cases["temperature.max-outside"].expect == "reject"
    assert cases["repetition_penalty.min"].value == 0.1
    assert cases["repetition_penalty.min-outside"].expect == "reject"
    assert cases["tier.enum-unknown"].expect == "reject"
    assert cases["tools.max-items-outside"].expect == "reject" and len(cases["tools.max-items"].value) == 128
    assert cases["stop.item-max-length-outside"].expect == "reject"
    assert cases["temperature.null"].expect == "unspecified"


def test_dependency_both_ways(catalogue: dict[str, Surface]) -> None:
    cases = [c for c in build_matrix(catalogue["openai"], "m") if c.param == "top_logprobs"]
    without = [c for c in cases if c.label == "without-logprobs"]
    assert len(without) == 1 and without[0].expect == "reject" and "logprobs" not in without[0].body
    typical = next(c for c in cases if c.label == "typical")
    assert typical.body["logprobs"] is True and typical.expect == "accept"
    assert next(c for c in cases if c.label == "max-outside").expect == "reject"


def test_omitted_and_null_are_different_cases(catalogue: dict[str, Surface]) -> None:
    cases = [c for c in build_matrix(catalogue["openai"], "m") if c.param == "temperature"]
    omitted = next(c for c in cases if c.label == "omitted")
    null = next(c for c in cases if c.label == "null")
    assert omitted.value is OMITTED and "temperature" not in omitted.body
    assert null.body["temperature"] is None and null.id != omitted.id
    assert null.expect == "accept"  # OpenAI documents temperature as nullable


def test_pairwise_covers_every_pair_of_valid_values(catalogue: dict[str, Surface]) -> None:
    surface = catalogue["oruel"]
    pairs = [c for c in build_matrix(surface, "m") if c.label.startswith("pairwise")]
    assert pairs and all(c.expect == "accept" for c in pairs)
    names = [p for p in INTERACTING if p in surface.parameters]
    full = 1
    for name in names:
        full *= len({repr(c.body.get(name)) for c in pairs})
    assert len(pairs) < full  # pairwise, not the full product
    for a, b in itertools.combinations(names, 2):
        seen = {(repr(c.body[a]), repr(c.body[b])) for c in pairs}
        values_a = {repr(c.body[a]) for c in pairs}
        values_b = {repr(c.body[b]) for c in pairs}
        assert seen == set(itertools.product(values_a, values_b)), (a, b)


def test_ids_are_stable_and_unique(catalogue: dict[str, Surface]) -> None:
    for surface in catalogue.values():
        first = [c.id for c in build_matrix(surface, "tiny-llama")]
        second = [c.id for c in build_matrix(surface, "tiny-llama")]
        assert first == second and len(set(first)) == len(first)
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 2}
    # Derived from the canonical request: key order does not matter, a pinned value does.
    assert case_id("temperature", "max", body) == case_id("temperature", "max", dict(reversed(body.items())))
    assert case_id("temperature", "max", body) == "temperature.max.371ffa3da2"  # pinned: ids must survive refactors


def test_requests_are_cheap_unless_max_tokens_is_under_test(catalogue: dict[str, Surface]) -> None:
    for case in build_matrix(catalogue["llamacpp"], "m"):
        if case.param != "max_tokens" and "max_tokens" not in case.param.split("+"):
            assert case.body["max_tokens"] == MAX_TOKENS
    typical = next(c for c in build_matrix(catalogue["oruel"], "m") if c.id.startswith("max_tokens.typical"))
    assert typical.value == 16


def test_client_settings_are_not_sent(catalogue: dict[str, Surface]) -> None:
    params = {c.param for c in build_matrix(catalogue["data-designer"], "m")}
    assert "max_parallel_requests" not in params and "timeout" not in params


def _accepts_arrays(surface: Surface, name: str) -> bool:
    param = surface.parameters.get(name)
    return param is not None and "array" in param.types


def test_a_union_of_string_and_array_sends_a_non_empty_array(catalogue: dict[str, Surface]) -> None:
    """Both branches of ``stop`` label their plain value "typical": neither may hide the other."""
    surfaces = [s for s in catalogue.values() if _accepts_arrays(s, "stop")]
    assert {"llamacpp", "openai", "oruel"} <= {s.name for s in surfaces}
    for surface in surfaces:
        values = [c.value for c in build_matrix(surface, "m", ["stop"])]
        assert any(isinstance(v, list) and v for v in values), surface.name


def test_a_matrix_is_built_once_per_surface_and_model_each_caller_owning_its_list(
    catalogue: dict[str, Surface],
) -> None:
    from harness.generation.structure import build_structure

    first, second = build_matrix(catalogue["openai"], "m"), build_matrix(catalogue["openai"], "m")
    assert first == second and first is not second and all(a is b for a, b in zip(first, second, strict=True))
    first.clear()  # one column's list is its own
    assert build_matrix(catalogue["openai"], "m") == second
    assert {c.body["model"] for c in build_matrix(catalogue["openai"], "other")} == {"other"}
    assert {c.param for c in build_matrix(catalogue["openai"], "m", ["seed"])} == {"seed"}
    structural = build_structure(catalogue["openai"], "m", 10)
    assert len(structural) == 10 and build_structure(catalogue["openai"], "m", 20)[:10] == structural
