"""Shared fixtures: the project root, the catalogue, and a scratch copy of schemas/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.schema import Surface, load_catalogue

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"  # what the catalogue was written from (copied from the shared reference)


@pytest.fixture(scope="session")
def catalogue() -> dict[str, Surface]:
    return load_catalogue(ROOT / "schemas")


@pytest.fixture
def schemas_copy(tmp_path: Path) -> Path:
    """A writable copy of schemas/ to break on purpose."""
    target = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", target)
    return target


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped cassettes, providers and baselines in a scratch folder, with no keys set."""
    for name in ("cassettes", "baselines"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "providers.toml", tmp_path / "providers.toml")
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    monkeypatch.delenv("ORUEL_API_KEY", raising=False)
    return tmp_path
