"""A surface's expectations kept between processes (``generation.kept``): a later process gets
the expectations the validator gives without validating, a changed schema is another file, and
a missing, damaged or unwritable cache only costs the validation."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from harness.generation import build_matrix, keep_expectations, kept
from harness.generation import matrix as matrix_module
from harness.schema import Surface


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(matrix_module, "_SHARED", {})  # as a new process starts
    return tmp_path / "harness" / kept.FOLDER


def a_new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matrix_module, "_SHARED", {})


def expectations(surface: Surface) -> dict[str, tuple[str, str]]:
    return {c.id: (c.expect, c.reason) for c in build_matrix(surface, "m")}


def never_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any, body: Any, label: str) -> Any:
        raise AssertionError(f"validated {label} although its expectation was kept")

    monkeypatch.setattr(matrix_module.MatrixBuilder, "_expectation", refuse)


def test_a_later_process_reads_the_expectations_without_validating(
    catalogue: dict[str, Surface], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    surface = catalogue["oruel"]
    computed = expectations(surface)
    assert any(e == "reject" for e, _ in computed.values()) and any(e == "accept" for e, _ in computed.values())
    keep_expectations()
    assert len(list(cache.glob("*.json"))) == 1
    a_new_process(monkeypatch)
    never_validate(monkeypatch)
    assert expectations(surface) == computed


def test_another_schema_is_another_file(
    catalogue: dict[str, Surface], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    surface = catalogue["oruel"]
    expectations(surface)
    keep_expectations()
    schema = copy.deepcopy(surface.schema)
    schema["properties"]["temperature"]["maximum"] = 1.5  # the documentation changed
    changed = dataclasses.replace(surface, schema=schema)
    assert kept.surface_file(schema) != kept.surface_file(surface.schema)
    a_new_process(monkeypatch)
    validated: list[str] = []
    real = matrix_module.MatrixBuilder._expectation

    def counting(self: Any, body: Any, label: str) -> Any:
        validated.append(label)
        return real(self, body, label)

    monkeypatch.setattr(matrix_module.MatrixBuilder, "_expectation", counting)
    build_matrix(changed, "m")
    assert validated  # nothing of the other schema was reused


def test_a_damaged_or_foreign_file_is_an_empty_one(
    catalogue: dict[str, Surface], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    surface = catalogue["oruel"]
    computed = expectations(surface)
    path = kept.surface_file(surface.schema)
    for text in ["{not json", '["a list"]', '{"0{}": ["maybe", "x"], "x": 1}']:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        a_new_process(monkeypatch)
        assert expectations(surface) == computed


def test_an_unwritable_cache_costs_only_the_validation(
    catalogue: dict[str, Surface], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    a_new_process(monkeypatch)
    computed = expectations(catalogue["oruel"])
    keep_expectations()  # cannot write: no error
    a_new_process(monkeypatch)
    assert expectations(catalogue["oruel"]) == computed
