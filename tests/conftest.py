"""Shared fixtures: the project root, the catalogue, and a scratch copy of schemas/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.schema import Surface, load_catalogue

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def catalogue() -> dict[str, Surface]:
    return load_catalogue(ROOT / "schemas")


@pytest.fixture
def schemas_copy(tmp_path: Path) -> Path:
    """A writable copy of schemas/ to break on purpose."""
    target = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", target)
    return target
