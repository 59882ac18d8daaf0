"""ARCHITECTURE.md's import rules are enforced (`nox -s lint` runs lint-imports): they hold on
this tree, and a stage that imports an entry point breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "harness", tree / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_rules_hold(tmp_path: Path) -> None:
    done = _lint(_copy(tmp_path))
    assert done.returncode == 0, done.stdout[-2000:]


def test_a_stage_importing_an_entry_point_breaks_them(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    results = tree / "harness/results.py"
    results.write_text(results.read_text() + "\nimport harness.commands.run  # noqa\n")
    done = _lint(tree)
    assert done.returncode != 0 and "BROKEN" in done.stdout, done.stdout[-2000:]
    assert "harness.results -> harness.commands.run" in done.stdout


def test_client_settings_are_built_in_one_place() -> None:
    """The CLI, the pytest plugin and check-config all build a provider's client through
    ``runs.setup.client_settings``: no other module constructs ClientSettings."""
    builders = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "harness").rglob("*.py")
        if "ClientSettings(" in path.read_text() and "transport" not in path.parts
    )
    assert builders == ["harness/runs/setup.py"]


def test_a_judge_importing_a_plan_breaks_them(tmp_path: Path) -> None:
    """Judges stay pure: one that imports a probe plan (which sends) breaks the checks contract."""
    tree = _copy(tmp_path)
    judge = tree / "harness/checks/judges/effects.py"
    judge.write_text(judge.read_text() + "\nimport harness.checks.plans.common  # noqa\n")
    done = _lint(tree)
    assert done.returncode != 0 and "Inside checks" in done.stdout and "BROKEN" in done.stdout, done.stdout[-2000:]
    assert "harness.checks.judges.effects -> harness.checks.plans.common" in done.stdout


def test_the_two_proofs_importing_each_other_breaks_them(tmp_path: Path) -> None:
    """The seeded and seed-free plans meet only in plans.proofs: a cycle between them cannot return."""
    tree = _copy(tmp_path)
    seeded = tree / "harness/checks/plans/seeded.py"
    seeded.write_text(seeded.read_text() + "\nimport harness.checks.plans.seedfree  # noqa\n")
    done = _lint(tree)
    assert done.returncode != 0 and "BROKEN" in done.stdout, done.stdout[-2000:]
    assert "harness.checks.plans.seeded -> harness.checks.plans.seedfree" in done.stdout


def _modules_containing(text: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "harness").rglob("*.py") if text in p.read_text())


def test_every_entry_point_runs_its_columns_through_one_runner() -> None:
    """`harness run`/`record`/`conformance` (through ``run_provider``), the pytest plugin and
    check-config open their columns with ``runs.runner.open_column``: nothing else in the
    package launches a provider, builds a client or a check context."""
    assert _modules_containing("open_column(") == [
        "harness/datadesigner/command.py",
        "harness/pytest_plugin.py",
        "harness/runs/runner.py",
    ]
    assert _modules_containing("run_provider(") == [
        "harness/commands/conformance.py",
        "harness/commands/run.py",
        "harness/runs/runner.py",
    ]
    for built in ("CheckContext(", "ProviderClient(", "provider_endpoints(", "cassette("):
        users = [m for m in _modules_containing(built) if "transport" not in m and "setup.py" not in m]
        assert users == ["harness/runs/runner.py"], (built, users)
