"""Secrets never leave: a provider that echoes everything it receives (the fault server's
``echo``: the request line, every header and the body, in its content, in a response header and
in an error message) is recorded, run live, replayed and reported, and none of the key, a
``${ENV}`` header value or a ``${ENV}`` in the base URL's path is anywhere in the output tree,
the cassettes or what the commands print."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from harness.cli import main
from tests.fault_server import FaultServer, fault_server
from tests.integration.conftest import write_providers

# Names that do not look like credentials: only the provider entry says they are secrets.
SECRETS = {
    "CANARY_CREDENTIAL": "sk-canary-key-0123456789",
    "CANARY_TEAM": "team-canary-header-4242",
    "CANARY_TENANT": "tenant-canary-path-7777",
}


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with fault_server() as running:
        yield running


def _leaks(root: Path, printed: str) -> list[str]:
    found = []
    for value in SECRETS.values():
        for form in {value, quote(value)}:
            hits = subprocess.run(["grep", "-rl", "--", form, str(root)], capture_output=True, text=True, check=False)
            found += hits.stdout.split()
            if form in printed:
                found.append(f"printed: {form}")
    return found


def test_an_echoing_provider_leaves_no_secret_anywhere(
    server: FaultServer, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    base = server.url("echo").rsplit("/v1", 1)[0]
    write_providers(
        project,
        f"""
        [providers.echo]
        base_url = "{base}/${{CANARY_TENANT}}/v1"
        model = "echo-model"
        api_key_env = "CANARY_CREDENTIAL"
        schema = "openai"
        max_parallel_requests = 2
        timeout = 10
        headers = {{ "X-Team" = "${{CANARY_TEAM}}" }}
        """,
    )
    params = ["--params", "temperature,n", "--checks", "range,effect"]
    codes = [
        main(["record", "--provider", "echo", *params, "--out", str(project / "recorded")]),
        main(["run", "--provider", "echo", "--mode", "live", *params, "--out", str(project / "live")]),
        main(["run", "--provider", "echo", "--mode", "replay", *params, "--out", str(project / "replayed")]),
        main(["conformance", "--provider", "echo", "--out", str(project / "conformance")]),
        main(["report", str(project / "live")]),
        main(["conformance", "--provider", "echo", "--live", "--out", str(project / "conformance-live")]),
    ]
    printed = capsys.readouterr()
    assert 2 not in codes, printed.err  # every command ran
    cassette = project / "cassettes/echo/openai.json"
    assert cassette.is_file() and "x-echo" in cassette.read_text()  # the echoes were recorded
    assert "REDACTED" in (project / "live/results.jsonl").read_text()  # and scrubbed, not absent
    assert (project / "live/report.html").is_file() and (project / "conformance-live/junit.xml").is_file()
    assert _leaks(project, printed.out + printed.err) == []
