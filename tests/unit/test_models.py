"""Several models per provider entry: each model a column (records, cassettes, baselines, the
gate), ``--model`` choosing among them, and the entries of one model keeping every column
name they had. A synthetic provider serving two models over real HTTP, one of which ignores
a parameter."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ConfigError
from harness.providers import entry_of, file_stem, load_providers
from harness.results import Verdict, read_results
from harness.runs.targets import conformance_targets, targets_of
from tests.synthetic import Behaviour, SyntheticProvider, served

ROOT = Path(__file__).resolve().parents[2]
PARAMS = "temperature,top_p"
# Two models, the second of which drops temperature; both enforce the documented ranges.
TWO = Behaviour(
    models=frozenset({"org/small:free", "org/large"}),
    ranges={"temperature": (0.0, 2.0), "top_p": (0.0, 1.0)},
    model_ignores={"org/large": {"temperature"}},
)
ENTRY = """[providers.multi]
base_url = "{url}"
models = ["org/small:free", "org/large"]
schema = "openai"
max_parallel_requests = 2
"""


def _project(folder: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    if not (folder / "schemas").exists():
        (folder / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(folder))
    (folder / "providers.toml").write_text(text)
    return folder


def _write(folder: Path, monkeypatch: pytest.MonkeyPatch, table: str) -> Path:
    return _project(folder, monkeypatch, f'[providers.p]\nbase_url = "http://x/v1"\nschema = "openai"\n{table}\n')


def test_every_shipped_column_keeps_its_name_cassettes_and_baselines() -> None:
    """No shipped cassette or baseline moves: each shipped entry's columns are named, and
    filed, as before models and routes."""
    providers = load_providers(ROOT / "providers.toml")
    columns = [t for provider in providers.values() for t in targets_of(provider)]
    for target in columns:
        own = target.surface.name == target.provider.schema_name
        assert target.column == (target.provider.name if own else f"{target.provider.name}@{target.surface.name}")
        assert target.cassette_folder == target.provider.name
        assert entry_of(target.column) == target.provider.name
    for path in [*(ROOT / "baselines").glob("*.json"), *(ROOT / "cassettes").iterdir()]:
        name = path.name.removesuffix(".json")
        assert file_stem(name) == name  # found where it was


def test_model_columns_are_named_by_model_and_filed_safely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, monkeypatch, 'models = ["org/small:free", "org/large"]\nalso_held_to = ["openrouter"]')
    (provider,) = load_providers().values()
    columns = [t.column for t in targets_of(provider)]
    assert columns == ["p:org/small:free", "p:org/large", "p:org/small:free@openrouter", "p:org/large@openrouter"]
    folders = {t.cassette_folder for t in targets_of(provider)}
    assert folders == {"p%3Aorg%2Fsmall%3Afree", "p%3Aorg%2Flarge"}  # one path segment each
    assert {entry_of(c) for c in columns} == {"p"}
    # `model` beside `models`: its columns keep the entry's plain names.
    _write(tmp_path, monkeypatch, 'model = "org/large"\nmodels = ["org/small:free", "org/large"]')
    (provider,) = load_providers().values()
    assert [t.column for t in targets_of(provider)] == ["p", "p:org/small:free"]
    # One model in `models` is a one-model entry.
    _write(tmp_path, monkeypatch, 'models = ["org/large"]')
    (provider,) = load_providers().values()
    assert [(t.column, t.model_name) for t in targets_of(provider)] == [("p", "org/large")]
    # Routes and models together: a column per route and model.
    _write(tmp_path, monkeypatch, 'models = ["a", "b"]\nroutes = ["deepinfra", "together"]')
    (provider,) = load_providers().values()
    assert [t.column for t in targets_of(provider)] == [
        "p+deepinfra:a",
        "p+together:a",
        "p+deepinfra:b",
        "p+together:b",
    ]


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ("", "providers.p: Value error, needs a model"),
        ('model = "c"\nmodels = ["a", "b"]', "model 'c' is not one of models"),
        ('models = ["a", "a"]', "models: each name once"),
        ('model = "a"\nroutes = ["deep:infra"]', "route 'deep:infra': cannot contain + : @"),
        ('models = ["a", "b"]\nupstream = "q"', "a gateway (upstream = ...) serves one model on one route"),
    ],
)
def test_a_wrong_models_or_routes_entry_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, says: str
) -> None:
    _write(tmp_path, monkeypatch, table)
    with pytest.raises(ConfigError, match=None) as err:
        load_providers()
    assert says in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["a:b", "a+b", "a@b"])
def test_a_provider_name_cannot_hold_a_column_separator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    _project(tmp_path, monkeypatch, f'[providers."{name}"]\nbase_url = "http://x/v1"\nmodel = "m"\nschema = "openai"\n')
    with pytest.raises(ConfigError, match="cannot contain"):
        load_providers()


def test_two_columns_of_one_name_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, monkeypatch, 'models = ["a", "a@openrouter"]\nalso_held_to = ["openrouter"]')
    providers = load_providers()
    with pytest.raises(ConfigError, match="two columns are both named 'p:a@openrouter'"):
        conformance_targets(providers, list(providers.values()), [])


def test_two_models_are_two_columns_recorded_replayed_baselined_and_gated_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = SyntheticProvider(TWO)
    with served(provider) as server:
        _project(tmp_path, monkeypatch, ENTRY.format(url=server.base_url))
        record = ["record", "--provider", "multi", "--params", PARAMS, "--checks", "range,effect", "--gate", "none"]
        assert main([*record, "--out", str(tmp_path / "recorded")]) == 0
    sent_models = {body.get("model") for body in provider.bodies}
    assert sent_models == {"org/small:free", "org/large"}
    # A cassette per model, in a folder of its own (the model's / and : encoded).
    small = tmp_path / "cassettes" / "multi%3Aorg%2Fsmall%3Afree" / "openai.json"
    large = tmp_path / "cassettes" / "multi%3Aorg%2Flarge" / "openai.json"
    assert small.is_file() and large.is_file()
    assert '"org/large"' not in small.read_text() and '"org/small:free"' not in large.read_text()

    # Replayed offline (the server is gone): each column from its own cassette.
    out = tmp_path / "replayed"
    assert main(["run", "--provider", "multi", "--params", PARAMS, "--checks", "range,effect", "--gate", "none",
                 "--out", str(out)]) == 0  # fmt: skip
    records = read_results(out / "results.jsonl")
    assert {r.provider for r in records} == {"multi:org/small:free", "multi:org/large"}
    assert not [r for r in records if r.verdict is Verdict.NOT_RECORDED]

    def verdict(column: str) -> set[Verdict]:
        return {r.verdict for r in records if r.provider == column and r.param == "temperature" and r.check == "effect"}

    assert verdict("multi:org/small:free") == {Verdict.HONOURED}
    assert verdict("multi:org/large") == {Verdict.IGNORED}

    # The strict gate, per column: the model that drops temperature fails, the other passes.
    capsys.readouterr()
    replay = ["run", "--provider", "multi", "--params", PARAMS, "--checks", "range,effect", "--gate", "strict"]
    assert main([*replay, "--model", "org/small:free", "--out", str(tmp_path / "small")]) == 0
    assert {r.provider for r in read_results(tmp_path / "small" / "results.jsonl")} == {"multi:org/small:free"}
    assert main([*replay, "--model", "org/large", "--out", str(tmp_path / "large")]) == 1
    assert "multi:org/large: temperature [effect] is IGNORED" in capsys.readouterr().out

    # Baselines per column; the baseline gate then passes both, and the conformance report
    # lists the columns --model left out as documented only.
    assert main(["baseline", "update", "--from", str(out)]) == 0
    for column in ("multi%3Aorg%2Fsmall%3Afree", "multi%3Aorg%2Flarge"):
        assert (tmp_path / "baselines" / f"{column}.json").is_file()
    assert main([*replay[:-1], "baseline", "--out", str(tmp_path / "gated")]) == 0
    conformance = ["conformance", "--provider", "multi", "--model", "org/large", "--out", str(tmp_path / "conf")]
    main(conformance)
    by_column = {r.provider: r for r in read_results(tmp_path / "conf" / "results.jsonl")}
    assert by_column["multi:org/small:free"].verdict is Verdict.NOT_RUN
    assert "--model" in by_column["multi:org/small:free"].detail


def test_an_unknown_model_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(tmp_path, monkeypatch, ENTRY.format(url="http://127.0.0.1:9/v1"))
    for argv in (
        ["run", "--provider", "multi", "--model", "org/medium"],
        ["record", "--provider", "multi", "--model", "org/medium"],
        ["conformance", "--provider", "multi", "--model", "org/medium"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "--model 'org/medium'" in err and "org/large" in err and len(err.strip().splitlines()) == 1
    # A reference grades an entry's plain column; a model named in the column is refused, not
    # silently graded against nothing.
    (tmp_path / "providers.toml").write_text(
        ENTRY.format(url="http://127.0.0.1:9/v1")
        + '[providers.ref]\nbase_url = "http://x/v1"\nmodel = "m"\nschema = "openai"\n'
    )
    assert main(["run", "--provider", "multi", "--model", "org/large", "--reference", "ref"]) == 2
    assert "a reference grades the column" in capsys.readouterr().err
