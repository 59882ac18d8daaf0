"""The lock (constraints.txt, written by `nox -s lock`) and pyproject.toml agree: every
requirement of every extra is locked at one exact version within its range, with hashes."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT


def _locked() -> dict[str, tuple[str, int]]:
    """Name -> (version, number of hashes)."""
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    entries = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})*)", text, re.M)
    return {canonicalize_name(name): (version, hashes.count("--hash=")) for name, version, hashes in entries}


def _required() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in [*project["dependencies"], *extras]]


def test_every_requirement_is_locked_within_its_range_with_hashes() -> None:
    locked = _locked()
    assert len(locked) > 100  # direct and transitive
    for requirement in _required():
        version, hashes = locked[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)
        assert hashes, requirement.name
    assert all(hashes for _, hashes in locked.values())
