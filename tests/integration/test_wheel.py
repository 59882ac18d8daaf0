"""The tool a team installs: a wheel built from this repository, installed in a clean virtual
environment (its dependencies from the package index) and run from an empty folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from harness import DISTRIBUTION, __version__
from harness.schema import load_catalogue
from tests.conftest import ROOT

# Builds a wheel and installs it with its dependencies from the package index: a minute or two.
pytestmark = pytest.mark.wheel


def _env() -> dict[str, str]:
    """This environment without PYTHONPATH (a checkout on it would stand in for the installed
    package) and without any provider's key (nothing here talks to a provider)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.endswith("_API_KEY")}


def _run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)], dist)
    (built,) = dist.glob("provider_compat_harness-*.whl")
    return built


def _venv(folder: Path) -> Path:
    """A new virtual environment (no system site-packages: nothing of ours leaks in); its bin/."""
    venv.create(folder, with_pip=True)
    return folder / "bin"


def test_a_wheel_installed_elsewhere_has_the_catalogue_and_init(wheel: Path, tmp_path: Path) -> None:
    # The catalogue is the repository's top-level schemas/, every file of it, inside the package.
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.removeprefix("harness/_schemas/") for n in names if n.startswith("harness/_schemas/")}
    in_repo = {p.relative_to(ROOT / "schemas").as_posix() for p in (ROOT / "schemas").rglob("*.json")}
    assert shipped == in_repo and {"openai.json", "meta/annotations.schema.json"} <= shipped
    assert not [n for n in names if n.startswith("schemas/")]  # nothing at the top of site-packages
    bin_dir = _venv(tmp_path / "venv")
    _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)], tmp_path)
    empty = tmp_path / "team-repo"
    empty.mkdir()
    harness = str(bin_dir / "harness")
    assert _run([harness, "--version"], empty).strip() == f"harness {__version__} ({DISTRIBUTION})"
    # The installed tool reads the catalogue from inside itself, not from this checkout.
    code = "from harness.paths import BUILTIN_SCHEMAS; print(BUILTIN_SCHEMAS)"
    where = Path(_run([str(bin_dir / "python"), "-c", code], empty).strip())
    assert where.parts[-3:] == ("site-packages", "harness", "_schemas") and where.is_relative_to(tmp_path.resolve())
    listed = _run([harness, "schemas", "--check"], empty)
    assert listed.strip() == f"{len(load_catalogue())} surfaces valid: {', '.join(sorted(load_catalogue()))}"
    _run([harness, "init"], empty)
    providers = (empty / "providers.toml").read_text()
    assert "[providers.openrouter]" in providers and 'api_key_env = "OPENROUTER_API_KEY"' in providers
    assert "harness conformance --live" in (empty / ".github/workflows/provider-compat.yml").read_text()
    # Every key unset: the gate runs, decides nothing, and says so (exit 1), from the catalogue inside.
    done = subprocess.run(
        [harness, "conformance", "--out", "out"], cwd=empty, env=_env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and "NOT_RUN" in done.stdout, done.stdout[-1000:] + done.stderr[-1000:]


# A team's environment: its own versions of common packages, older than the lock's, each within
# pyproject.toml's ranges (pytest too: the plugin runs in the team's pytest, not ours).
THEIRS = {
    "httpx": "0.27.2",
    "hypothesis": "6.112.0",
    "jinja2": "3.1.4",
    "numpy": "1.26.4",
    "pydantic": "2.7.4",
    "pytest": "8.3.5",
    "pyyaml": "6.0.1",
    "rich": "13.7.1",
}


def test_the_wheel_installs_beside_a_teams_own_versions(wheel: Path, tmp_path: Path) -> None:
    """Installed without the lock into an environment that already holds other versions of the
    common packages, with the team's pins as constraints: the wheel's ranges admit them (nothing
    of theirs moves), and the command and the pytest plugin work on them."""
    bin_dir = _venv(tmp_path / "venv")
    python = str(bin_dir / "python")
    pins = tmp_path / "their-pins.txt"
    pins.write_text("".join(f"{name}=={version}\n" for name, version in THEIRS.items()))
    _run([python, "-m", "pip", "install", "--quiet", "-r", str(pins)], tmp_path)
    _run([python, "-m", "pip", "install", "--quiet", "-c", str(pins), str(wheel)], tmp_path)
    listed = json.loads(_run([python, "-m", "pip", "list", "--format", "json"], tmp_path))
    versions = {p["name"].lower(): p["version"] for p in listed}
    assert {name: versions[name] for name in THEIRS} == THEIRS
    team = tmp_path / "team-repo"
    team.mkdir()
    harness = str(bin_dir / "harness")
    assert _run([harness, "--version"], team).strip() == f"harness {__version__} ({DISTRIBUTION})"
    _run([harness, "init"], team)
    (team / "test_theirs.py").write_text("def test_theirs():\n    assert 1 + 1 == 2\n")
    # pytest loads the plugin from the wheel's entry point: its options, and its items beside the
    # team's own test (no key set: every conformance item skips, saying which key to set).
    assert "--harness-provider" in _run([python, "-m", "pytest", "--help"], team)
    pytest_args = ["-p", "no:cacheprovider", "-rs", "--harness-provider", "openrouter", "--harness-mode", "live"]
    out = _run([python, "-m", "pytest", *pytest_args], team)
    assert re.search(r"^1 passed, [1-9]\d* skipped", out.splitlines()[-1].strip("= ")), out[-2000:]
    assert "not run: set OPENROUTER_API_KEY" in out
    assert (next((team / "reports").glob("*-pytest")) / "report.html").is_file()
