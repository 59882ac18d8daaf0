"""A provider's limits hold whatever the command line says: ``-j`` never puts more requests in
flight than providers.toml's ``max_parallel_requests``, and is a whole number of at least 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from tests.fault_server import FaultServer, fault_server
from tests.integration.conftest import write_providers


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with fault_server() as running:
        yield running


def _provider(project: Path, server: FaultServer) -> None:
    write_providers(
        project,
        f"""
        [providers.slow]
        base_url = "{server.url("slow")}"
        model = "m"
        schema = "openai"
        max_parallel_requests = 2
        timeout = 10
        """,
    )


def test_jobs_above_the_providers_limit_are_held_to_it(
    server: FaultServer, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _provider(project, server)
    code = main(
        ["run", "--provider", "slow", "--mode", "live", "-j", "64", "--checks", "range", "--out", str(project / "o")]
    )
    err = capsys.readouterr().err
    assert code in (0, 1), err
    assert server.hits["slow"] > 20
    assert server.peak_in_flight == 2, server.peak_in_flight
    assert "-j 64 is above max_parallel_requests = 2" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_jobs_must_be_at_least_one(value: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--provider", "slow", "-j", value])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1
    assert err[0].startswith("harness run: error: argument -j/--jobs:"), err
