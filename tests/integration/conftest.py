"""Fixtures for tests that run the harness against servers on this machine."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT


def require_local_servers(module: str) -> None:
    """Skip when a local server is not installed, except in CI, where that is a failure."""
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed: `nox -s tests` builds it (python -m harness.local.build)")
        pytest.skip(f"{module} not installed; run: python -m harness.local.build")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A scratch project folder (its own providers.toml, cassettes and reports) sharing schemas/."""
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    yield tmp_path


def write_providers(project: Path, body: str) -> None:
    (project / "providers.toml").write_text(textwrap.dedent(body))
