"""`harness matrix` and usage errors: one line, exit 2."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from harness.cli import build_parser, main
from harness.errors import ConfigError
from harness.runs.options import OPTIONS


def test_matrix_table_prints_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--provider", "oruel"]) == 0
    out = capsys.readouterr().out
    assert "repetition_penalty" in out and "extension" in out
    assert out.strip().endswith("cases")
    total = int(out.strip().splitlines()[-1].split()[0])
    assert total > 100


def test_matrix_json_has_the_documented_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--provider", "openrouter", "--json", "--params", "top_a"]) == 0
    cases = json.loads(capsys.readouterr().out)
    assert {"id", "param", "value", "expect", "body"} <= set(cases[0])
    assert {c["param"] for c in cases} == {"top_a"}
    assert any(c["expect"] == "reject" and c["value"] == 1.0000000000000002 for c in cases)


def test_matrix_with_another_surface(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--provider", "llamacpp-local", "--schema", "openrouter", "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)
    assert {c["surface"] for c in cases} == {"openrouter"}
    assert all(c["body"]["model"] == "tiny-llama" for c in cases)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["matrix", "--provider", "nope"],
            "unknown provider 'nope'; known providers: deepinfra, fireworks, groq, litellm-local, llama-cpp-python",
        ),
        (["matrix", "--provider", "oruel", "--schema", "nope"], "unknown schema 'nope'; known surfaces:"),
        (["matrix", "--provider", "oruel", "--params", "warmth"], "--params: warmth not in surface 'oruel'"),
    ],
)
def test_config_errors_are_one_line_exit_2(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["matrix", "--provider", "oruel", "--colour"], "unrecognized arguments: --colour"),
        (["run", "--provider", "oruel", "--mode", "fast"], "invalid choice: 'fast'"),
    ],
)
def test_wrong_flags_are_one_line_exit_2(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["matrix"])
    assert caught.value.code == 2
    assert "the following arguments are required: --provider" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("[providers.x]\nbase_url = 1\n", "providers.x.base_url: Input should be a valid string"),
        ("[providers.x\n", "malformed TOML"),
        (
            "[providers.x]\nbase_url='http://a'\nmodel='m'\nschema='openai'\ncolour='red'\n",
            "providers.x.colour: Extra inputs are not permitted",
        ),
    ],
)
def test_malformed_providers_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], toml: str, words: str
) -> None:
    (tmp_path / "providers.toml").write_text(toml)
    (tmp_path / "schemas").symlink_to(Path(__file__).resolve().parents[2] / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    assert main(["matrix", "--provider", "x"]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    assert main(["run", "--provider", "openrouter", "--mode", "live"]) == 2
    err = capsys.readouterr().err
    assert "provider 'openrouter' needs OPENROUTER_API_KEY: set it" in err and err.count("\n") == 1


def test_unreachable_server_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "providers.toml").write_text(
        '[providers.gone]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\nschema = "openai"\n'
    )
    (tmp_path / "schemas").symlink_to(Path(__file__).resolve().parents[2] / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    assert main(["run", "--provider", "gone", "--mode", "live", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "cannot reach http://127.0.0.1:9/v1: ConnectError" in err and err.count("\n") == 1


def test_an_internal_error_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr("harness.commands.inspect.cmd_schemas", broken)
    monkeypatch.delenv("HARNESS_DEBUG", raising=False)
    assert main(["schemas", "--check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: a bug" in err


def test_init_writes_its_files_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path)]) == 0
    written = (tmp_path / "providers.toml").read_text()
    assert "[providers.nvidia-nim]" in written and 'schema = "nvidia-nim"' in written
    assert main(["init", str(tmp_path)]) == 2  # never overwrites
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err
    assert (tmp_path / "providers.toml").read_text() == written


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("harness 0.1.0 (provider-compat-harness)")


@pytest.mark.parametrize(("gate", "code"), [("strict", 1), ("baseline", 0), ("none", 0)])
def test_run_follows_the_gate_it_is_given(tmp_path: Path, gate: str, code: int) -> None:
    """llama.cpp accepts `top_k: 1.5` (documented as an integer), a LENIENT cell the committed
    baseline already has: strict fails on it, the baseline knows it, none ignores it."""
    argv = ["run", "--provider", "llamacpp-local", "--params", "top_k", "--checks", "range", "--gate", gate]
    assert main([*argv, "--out", str(tmp_path / gate)]) == code


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        (
            "run",
            "--provider --model --schema --mode --out --resume --params --checks --probe-mode --no-seed --gate -j "
            "--jobs --shard --plan --budget-requests --budget-usd --reference --reference-run --policy",
        ),
        (
            "record",
            "--provider --model --schema --out --resume --params --checks --probe-mode --no-seed --gate -j --jobs "
            "--plan --budget-requests --budget-usd --new-only",
        ),
        (
            "conformance",
            "--live --provider --model --schema --hold --reference --reference-run --policy --gate --out --shard "
            "--plan --budget-requests --budget-usd",
        ),
        ("report", "--merge --out --gate"),
        ("plan", "--provider --model --schema --hold --reference --params --checks --from --json"),
        (
            "check-config",
            "--providers --provider --schema --live --out --probe-mode --no-seed --budget-requests --budget-usd",
        ),
    ],
)
def test_each_command_renders_the_run_options_declared_once(command: str, flags: str) -> None:
    """Every flag a command had, and each run option's flag, type and help as the one table
    (harness.runs.options) declares it, wherever it is rendered."""
    actions = [a for a in _commands()[command]._actions if a.option_strings and a.dest != "help"]
    assert [s for a in actions for s in a.option_strings] == flags.split()
    for action in actions:
        spec = OPTIONS.get(action.dest)
        if spec is None or (command == "check-config" and action.dest == "provider"):
            continue  # check-config's own: its file, Data Designer's providers, where to send every alias
        assert spec.flag in action.option_strings, action.dest
        # One provider or several; without a default where the command decides (report's --gate).
        helps = (spec.described(), spec.one().described(), spec.defaulting(None).described())
        assert action.help in helps, action.dest
        assert list(action.choices or ()) == list(spec.choices)


def test_gate_defaults_per_command() -> None:
    commands = _commands()
    assert commands["run"].parse_args(["--provider", "x"]).gate == "strict"
    assert commands["conformance"].parse_args([]).gate == "baseline"
    assert commands["conformance"].parse_args(["--provider", "a", "--provider", "b"]).provider == ["a", "b"]


def test_an_ini_value_is_checked_as_the_command_line_checks_it() -> None:
    assert OPTIONS["mode"].from_ini("") == "replay" and OPTIONS["jobs"].from_ini("3") == 3
    with pytest.raises(ConfigError, match="harness_mode = 'fast': must be one of live, record, replay"):
        OPTIONS["mode"].from_ini("fast")
    with pytest.raises(ConfigError, match="harness_jobs = '0': 0 is less than 1"):
        OPTIONS["jobs"].from_ini("0")
