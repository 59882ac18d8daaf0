"""The tool a team installs: a wheel built from this repository, installed in a clean virtual
environment (its dependencies from the package index) and run from an empty folder."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from harness import DISTRIBUTION, __version__
from harness.schema import load_catalogue
from tests.conftest import ROOT


def _run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_wheel_installed_elsewhere_has_the_catalogue_and_init(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)], tmp_path)
    (wheel,) = dist.glob("provider_compat_harness-*.whl")
    venv.create(tmp_path / "venv", with_pip=True)  # no system site-packages: nothing of ours leaks in
    bin_dir = tmp_path / "venv/bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)], tmp_path)
    empty = tmp_path / "team-repo"
    empty.mkdir()
    harness = str(bin_dir / "harness")
    assert _run([harness, "--version"], empty).strip() == f"harness {__version__} ({DISTRIBUTION})"
    listed = _run([harness, "schemas", "--check"], empty)
    assert listed.strip() == f"{len(load_catalogue())} surfaces valid: {', '.join(sorted(load_catalogue()))}"
    _run([harness, "init"], empty)
    providers = (empty / "providers.toml").read_text()
    assert "[providers.openrouter]" in providers and 'api_key_env = "OPENROUTER_API_KEY"' in providers
    assert "harness conformance --live" in (empty / ".github/workflows/provider-compat.yml").read_text()
    # Every key unset: the gate runs, decides nothing, and says so (exit 1), from the catalogue inside.
    done = subprocess.run(
        [harness, "conformance", "--out", "out"], cwd=empty, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and "NOT_RUN" in done.stdout, done.stdout[-1000:] + done.stderr[-1000:]
