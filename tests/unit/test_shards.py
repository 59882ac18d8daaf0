"""Shards (``--shard K/N``) and their merge (``harness report --merge``): the shards of a run,
merged, are the run (records, cells, the gate's exit code), over replay of the shipped
cassettes; a missing, repeated or different shard is one line (exit 2) and nothing written;
a regression in one shard fails the merged gate."""

from __future__ import annotations

import json
import random
import re
import shlex
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import build_parser, main
from harness.reporting.merge import without_timings
from harness.reporting.shards import SHARD_FILE, Shard
from harness.results import Record, Verdict, read_results
from harness.runs.shards import Share, assign, whole_column_checks
from harness.schema import surface_named
from tests.conftest import ROOT
from tests.synthetic import Behaviour, SyntheticProvider, served
from tests.unit.test_routes import ROUTER

SHARDS = 3


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "x/3", "3", "1/3/3", "-1/3", "", "1/1001"])
def test_a_bad_shard_is_one_line_exit_2(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["conformance", f"--shard={text}", "--out", "/nonexistent/never"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--shard" in err and "K/N" in err


def test_shard_parses_and_prints_back() -> None:
    assert Shard.parse(" 2/3 ") == Shard(2, 3)
    assert str(Shard(1, 1)) == "1/1"


WEIGHTS = {"a": 370, "b": 326, "c": 150, "d": 146, "e": 378, "f": 1, "g": 1, "h": 368, "i": 368}


def _placed(shares: dict[int, list[Share]]) -> dict[str, list[tuple[int, Share]]]:
    """Where each column went: (shard, its share) for each of its parts."""
    placed: dict[str, list[tuple[int, Share]]] = {}
    for index, held in shares.items():
        for share in held:
            placed.setdefault(share.column, []).append((index, share))
    return placed


def _loads(shares: dict[int, list[Share]], weights: dict[str, int]) -> list[int]:
    return [sum(len(range(s.part - 1, weights[s.column], s.parts)) for s in held) for held in shares.values()]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 12])
def test_every_column_is_in_exactly_one_shard_and_the_shards_are_balanced(count: int) -> None:
    shares = assign(WEIGHTS, count)
    assert set(shares) == set(range(1, count + 1))
    placed = _placed(shares)
    assert set(placed) == set(WEIGHTS) and all(len(where) == 1 for where in placed.values())
    assert all(share.units is None for where in placed.values() for _, share in where)  # nothing splittable
    loads = _loads(shares, WEIGHTS)
    # Greedy, heaviest first: no shard is heavier than the lightest by more than one column.
    assert max(loads) - min(loads) <= max(WEIGHTS.values())
    # The same assignment whatever the order the columns come in (each CI job computes it alone).
    assert assign(dict(reversed(list(WEIGHTS.items()))), count) == shares


def test_columns_graded_together_share_a_shard() -> None:
    placed = _placed(assign(WEIGHTS, 3, together=[("a", "e"), ("e", "h")], splittable=set(WEIGHTS)))
    assert len({where for column in "aeh" for where, _ in placed[column]}) == 1
    alone = _placed(assign(WEIGHTS, 3))
    assert len({where for column in "aeh" for where, _ in alone[column]}) > 1  # the grouping moved them


@pytest.mark.parametrize(
    ("weights", "count", "parts"),
    [
        ({"big": 370}, 3, 3),
        ({"big": 370, "doc": 1}, 3, 3),
        ({"big": 900, "x": 150, "y": 146}, 3, 3),
        ({"big": 2}, 3, 2),
    ],
)
def test_a_big_column_is_cut_into_parts_in_other_shards(weights: dict[str, int], count: int, parts: int) -> None:
    shares = assign(weights, count, splittable={"big"})
    where = _placed(shares)["big"]
    assert sorted(share.units or (1, 1) for _, share in where) == [(part, parts) for part in range(1, parts + 1)]
    assert len({index for index, _ in where}) == parts  # each part in another shard
    # The parts' units are the column's, each once.
    units = [u for _, share in where for u in range(share.part - 1, weights["big"], share.parts)]
    assert sorted(units) == list(range(weights["big"]))
    # Greedy, heaviest first: no shard heavier than the lightest by more than its heaviest piece.
    loads = _loads(shares, weights)
    pieces = [-(-weights["big"] // parts), *(w for c, w in weights.items() if c != "big")]
    assert max(loads) - min(loads) <= max(pieces)
    # Not splittable (a replay, a graded column): whole, in one shard.
    assert [share.units for _, share in _placed(assign(weights, count))["big"]] == [None]


def _records(folder: Path) -> list[str]:
    return sorted(json.dumps(without_timings(r), sort_keys=True) for r in read_results(folder / "results.jsonl"))


def _cells(folder: Path) -> list[object]:
    cells = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return sorted((json.dumps(c, sort_keys=True) for c in cells), key=str)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    """The default conformance run (replay, offline) once whole and once in three shards."""
    root = tmp_path_factory.mktemp("shards")
    runs = {"whole": (root / "whole", main(["conformance", "--out", str(root / "whole")]))}
    for index in range(1, SHARDS + 1):
        folder = root / f"shard-{index}"
        runs[f"{index}"] = (folder, main(["conformance", "--shard", f"{index}/{SHARDS}", "--out", str(folder)]))
    return runs


def _shards(replayed: dict[str, tuple[Path, int]]) -> list[str]:
    return [str(replayed[f"{index}"][0]) for index in range(1, SHARDS + 1)]


def test_three_shards_merged_are_the_one_run(
    replayed: dict[str, tuple[Path, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole, whole_code = replayed["whole"]
    columns = [json.loads((replayed[f"{i}"][0] / SHARD_FILE).read_text())["columns"] for i in range(1, SHARDS + 1)]
    assert all(columns), "each shard holds some of the columns"
    assert sorted(c for share in columns for c in share) == sorted(
        {r.provider for r in read_results(whole / "results.jsonl")}
    )
    merged = tmp_path / "merged"
    code = main(["report", "--merge", *_shards(replayed), "--out", str(merged)])
    assert "gate baseline" in capsys.readouterr().out
    assert code == whole_code == 0
    assert _records(merged) == _records(whole)
    assert _cells(merged) == _cells(whole)
    assert (merged / "report.html").is_file() and (merged / "junit.xml").is_file()
    # What was sent, per column, is the one run's too.
    sent = [json.loads(line) for line in (merged / "runs.jsonl").read_text().splitlines()]
    whole_sent = [json.loads(line) for line in (whole / "runs.jsonl").read_text().splitlines()]
    assert sorted((s["provider"], s["requests"], s["units"]) for s in sent) == sorted(
        (s["provider"], s["requests"], s["units"]) for s in whole_sent
    )


def test_a_graded_pair_shares_a_shard_and_its_grading_merges_to_the_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pair = ["--reference", "llamacpp-local=vllm-local"]
    whole_code = main(["conformance", *pair, "--out", str(tmp_path / "whole")])
    shards = [tmp_path / f"shard-{index}" for index in range(1, SHARDS + 1)]
    for index, folder in enumerate(shards, 1):
        main(["conformance", *pair, "--shard", f"{index}/{SHARDS}", "--out", str(folder)])
    graded = [folder for folder in shards if (folder / "grading.json").exists()]
    assert len(graded) == 1
    columns = json.loads((graded[0] / SHARD_FILE).read_text())["columns"]
    (pairing,) = json.loads((graded[0] / "grading.json").read_text())
    assert {pairing["candidate"], pairing["reference"]} <= set(columns)
    merged = tmp_path / "merged"
    capsys.readouterr()
    assert main(["report", "--merge", *map(str, shards), "--out", str(merged)]) == whole_code
    assert f"graded {pairing['candidate']} vs {pairing['reference']}" in capsys.readouterr().out
    # (Each pair is dated by the minute its run made it: not what is compared.)
    grading = [{**g, "date": ""} for g in json.loads((merged / "grading-summary.json").read_text())]
    whole = [{**g, "date": ""} for g in json.loads((tmp_path / "whole" / "grading-summary.json").read_text())]
    assert grading == whole and grading[0]["cells"]
    assert _cells(merged) == _cells(tmp_path / "whole")


def test_a_missing_shard_is_named_and_nothing_is_written(
    replayed: dict[str, tuple[Path, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _, third = _shards(replayed)
    out = tmp_path / "merged"
    assert main(["report", "--merge", first, third, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "shard 2/3 missing" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_unit_in_two_folders_is_kept_once_if_the_same_and_refused_if_not(
    replayed: dict[str, tuple[Path, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = _shards(replayed)
    again = tmp_path / "again"
    assert main(["report", "--merge", *shards, shards[0], "--out", str(again)]) == 0
    assert _records(again) == _records(replayed["whole"][0])
    # What the repeated shard sent is counted once.
    sent = [len((Path(folder) / "runs.jsonl").read_text().splitlines()) for folder in shards]
    assert len((again / "runs.jsonl").read_text().splitlines()) == sum(sent)
    changed = tmp_path / "changed"
    shutil.copytree(shards[0], changed)
    records = read_results(changed / "results.jsonl")
    records[0].detail += " (another run)"
    (changed / "results.jsonl").write_text("".join(json.dumps(r.to_json()) + "\n" for r in records))
    out = tmp_path / "merged"
    capsys.readouterr()
    assert main(["report", "--merge", *shards, str(changed), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"unit {records[0].unit_id or records[0].case_id}" in err
    assert not out.exists()


def test_shards_of_different_splits_are_refused(
    replayed: dict[str, tuple[Path, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other"
    shutil.copytree(_shards(replayed)[1], other)
    note = json.loads((other / SHARD_FILE).read_text())
    (other / SHARD_FILE).write_text(json.dumps({**note, "shard": "2/2"}))
    assert main(["report", "--merge", *_shards(replayed), str(other), "--out", str(tmp_path / "m")]) == 2
    assert "different splits" in capsys.readouterr().err


def test_shards_of_different_runs_are_refused(
    replayed: dict[str, tuple[Path, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Shard 1/3 of a run of one provider beside shards 2/3 and 3/3 of the default run: the
    merge would pass with five columns silently empty; it is refused, nothing written."""
    other = tmp_path / "other"
    assert main(["conformance", "--provider", "llamacpp-local", "--shard", "1/3", "--out", str(other)]) in (0, 1)
    _, second, third = _shards(replayed)
    capsys.readouterr()
    out = tmp_path / "merged"
    assert main(["report", "--merge", str(other), second, third, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "shards of different runs" in err
    assert not out.exists()


def test_a_folder_holding_two_runs_is_refused_by_the_merge_and_by_conformance(
    replayed: dict[str, tuple[Path, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = _shards(replayed)
    twice = tmp_path / "twice"
    shutil.copytree(shards[0], twice)
    results = twice / "results.jsonl"
    before = results.read_text()
    results.write_text(before + before)  # what a second run into the folder appended
    out = tmp_path / "merged"
    assert main(["report", "--merge", str(twice), *shards[1:], "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "twice" in err and not out.exists()
    # The second run is refused before it starts: nothing is added to the first.
    results.write_text(before)
    assert main(["conformance", "--provider", "llamacpp-local", "--out", str(twice)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds a run already" in err
    assert results.read_text() == before


def test_a_route_column_is_never_cut_into_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two route columns, three shards, live: each column heavier than a shard's fair part, yet
    whole in one shard (its `route` check counts every reply of the column, which no part sees)."""
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    upstreams = {"deepinfra": "DeepInfra", "together": "Together"}
    with served(SyntheticProvider(Behaviour(upstreams=upstreams))) as router:
        (tmp_path / "providers.toml").write_text(ROUTER.format(url=router.base_url))
        argv = ["conformance", "--live", "--provider", "router", "--gate", "none", "--shard", "1/3"]
        assert main([*argv, "--out", str(tmp_path / "one")]) == 0
    note = json.loads((tmp_path / "one" / SHARD_FILE).read_text())
    assert note["split"] == {} and len(note["columns"]) == 1 and note["columns"][0].startswith("router+")
    records = read_results(tmp_path / "one" / "results.jsonl")
    assert [r for r in records if r.check == "route"], "the route check ran on the whole column"


def _regressed(record: Record) -> Record:
    record.verdict = Verdict.IGNORED
    record.detail = "the provider stopped honouring it"
    return record


def test_a_regression_in_one_shard_fails_the_merged_gate(
    replayed: dict[str, tuple[Path, int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One shard's provider regresses (a conforming cell now IGNORED): that shard's gate fails,
    and so does the merge's, naming the cell; the other shards pass."""
    shards = _shards(replayed)
    failing = tmp_path / "failing"
    shutil.copytree(shards[2], failing)
    records = read_results(failing / "results.jsonl")
    index = next(i for i, r in enumerate(records) if r.verdict is Verdict.HONOURED and r.check == "effect")
    records[index] = _regressed(records[index])
    (failing / "results.jsonl").write_text("".join(json.dumps(r.to_json()) + "\n" for r in records))
    code = main(["report", "--merge", shards[0], shards[1], str(failing), "--out", str(tmp_path / "merged")])
    out = capsys.readouterr().out
    assert code == 1
    assert f"regression: {records[index].provider}" in out
    assert main(["report", "--merge", *shards, "--out", str(tmp_path / "clean")]) == 0


def test_report_takes_a_folder_or_merge_not_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path), "--merge", str(tmp_path)]) == 2
    assert main(["report"]) == 2
    assert main(["report", "--merge", str(tmp_path / "nothing")]) == 2
    # A gate asked of one folder is refused, not ignored (the folder's reports would be re-rendered
    # and exit 0 whatever its verdicts).
    (tmp_path / "results.jsonl").write_text("", encoding="utf-8")
    assert main(["report", str(tmp_path), "--gate", "strict"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and "not both" in err[0] and "no results.jsonl" in err[2]
    assert "--gate goes with --merge" in err[3]


def _commands(job: dict[str, Any], **matrix: object) -> list[list[str]]:
    """The harness command lines of a job's steps, ``${{ matrix.x }}`` filled in, without the
    shell around them."""
    lines = []
    for step in job["steps"]:
        for line in str(step.get("run", "")).splitlines():
            command = line.split("||")[0].strip()
            for name, value in matrix.items():
                command = command.replace("${{ matrix." + name + " }}", str(value))
            if command.startswith("harness "):
                lines.append(shlex.split(command)[1:])
    return lines


def test_init_writes_a_ci_matrix_of_shards_and_a_merge_our_cli_parses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path)]) == 0
    workflow = yaml.safe_load((tmp_path / ".github/workflows/provider-compat.yml").read_text())
    shard_job, merge_job = workflow["jobs"]["shard"], workflow["jobs"]["merge"]
    matrix = shard_job["strategy"]["matrix"]["shard"]
    assert matrix == list(range(1, len(matrix) + 1)) and len(matrix) > 1
    parser = build_parser()
    uploaded = set()
    for index in matrix:
        (argv,) = _commands(shard_job, shard=index)
        args = parser.parse_args(argv)  # a flag we do not have would exit 2 here
        assert args.func.__name__ == "cmd_conformance" and args.live
        assert args.shard == Shard(index, len(matrix))
        upload = next(s for s in shard_job["steps"] if "upload-artifact" in s.get("uses", ""))
        assert upload["with"]["path"] == str(args.out)
        uploaded.add(upload["with"]["name"].replace("${{ matrix.shard }}", str(index)))
    assert merge_job["needs"] == "shard" and merge_job["if"] == "always()"
    download = next(s for s in merge_job["steps"] if "download-artifact" in s.get("uses", ""))
    (argv,) = _commands(merge_job)
    args = parser.parse_args(argv)
    assert args.func.__name__ == "cmd_report" and args.gate == "strict"
    # download-artifact puts each artifact in a folder of its name under its path.
    assert {str(Path(folder).relative_to(download["with"]["path"])) for folder in args.merge} == uploaded
    assert any(
        s.get("with", {}).get("path") == str(args.out) for s in merge_job["steps"] if "upload" in s.get("uses", "")
    )


# --- one column's units split over shards, live, against the synthetic provider ----------------

SYNTHETIC = """[providers.syn]
base_url = "{url}"
model = "m"
schema = "openai"
max_parallel_requests = 2
"""


class RequestNoise:
    """The synthetic provider's sampling noise for unseeded requests drawn from the request and
    how many times it was asked, not from the order requests arrive in: the same answers
    whichever shard asks, as a cassette's would be (a provider with no such noise could not
    show that a split keeps records whole)."""

    def __init__(self, provider: SyntheticProvider) -> None:
        self.provider = provider
        self.asked: Counter[str] = Counter()

    def random(self) -> float:
        body = json.dumps(self.provider.bodies[-1], sort_keys=True)
        self.asked[body] += 1
        return random.Random(f"{body}#{self.asked[body]}").random()


def _live(root: Path, behaviour: Behaviour, argv: list[str], out: Path) -> int:
    """``argv`` (``harness run`` live by default) against the synthetic provider, served anew."""
    provider = SyntheticProvider(behaviour)
    provider.unseeded_rng = RequestNoise(provider)  # type: ignore[assignment]
    with served(provider) as running:
        (root / "providers.toml").write_text(SYNTHETIC.format(url=running.base_url))
        command = argv if argv[0] == "conformance" else ["run", "--provider", "syn", "--mode", "live", *argv]
        return main([*command, "--out", str(out)])


def _portable(folder: Path, leave_out: frozenset[str] = frozenset()) -> list[str]:
    """The records, timings and the served port (a new one per launch) aside."""
    kept = [r for r in read_results(folder / "results.jsonl") if r.check not in leave_out]
    lines = (json.dumps(without_timings(r), sort_keys=True) for r in kept)
    return sorted(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line) for line in lines)


@pytest.mark.parametrize(("ignores", "code"), [(set(), 0), ({"presence_penalty"}, 1)], ids=["behaves", "ignores"])
def test_a_column_split_by_units_merges_to_the_one_run(
    ignores: set[str], code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A provider that validates requests as documented (exit 0 under strict), and one that
    also drops presence_penalty (exit 1): the shards of its column merged are its one run."""
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    behaviour = Behaviour(validates=surface_named("openai").schema, ignore=ignores)
    gate = ["--gate", "strict", "--params", "temperature,top_p,presence_penalty,seed,stop,n"]
    whole_code = _live(tmp_path, behaviour, gate, tmp_path / "whole")
    assert whole_code == code
    shards = [tmp_path / f"shard-{index}" for index in range(1, SHARDS + 1)]
    for index, folder in enumerate(shards, 1):
        _live(tmp_path, behaviour, [*gate, "--shard", f"{index}/{SHARDS}"], folder)
    capsys.readouterr()
    merged = tmp_path / "merged"
    assert main(["report", "--merge", *map(str, shards), "--out", str(merged), "--gate", "strict"]) == code
    said = capsys.readouterr().out
    left_out = frozenset(whole_column_checks())
    assert left_out == {"response-schema", "response-letter", "gateway", "route"}
    assert "syn: its units were split over shards, so response-schema, response-letter, gateway, route" in said
    whole = _portable(tmp_path / "whole", left_out)
    assert len(whole) > 50 and _portable(merged) == whole
    # Every unit ran in one shard: the shards' records are disjoint.
    units = [{(r.unit_id or r.case_id) for r in read_results(f / "results.jsonl")} for f in shards]
    assert all(units) and sum(map(len, units)) == len(set().union(*units))
    if code:
        assert "syn: presence_penalty [effect] is IGNORED" in said


def test_a_column_is_split_by_units_only_live(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--provider", "llamacpp-local", "--shard", "1/3", "--out", "/nonexistent/never"]
    assert main(["run", "--mode", "replay", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "live only" in err and "harness conformance --shard" in err
    with pytest.raises(SystemExit) as exited:  # a cassette is recorded whole: record has no --shard
        main(["record", *argv])
    assert exited.value.code == 2 and "unrecognized arguments: --shard" in capsys.readouterr().err


def test_conformance_cuts_one_big_column_into_parts_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One column and three shards: live, each shard runs a part of its units (in replay it
    would be whole in one shard); merged, the one run, its whole-column checks aside."""
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    behaviour = Behaviour(validates=surface_named("openai").schema, ignore={"presence_penalty"})
    argv = ["conformance", "--live", "--provider", "syn", "--gate", "strict"]
    whole_code = _live(tmp_path, behaviour, argv, tmp_path / "whole")
    shards = [tmp_path / f"shard-{index}" for index in range(1, SHARDS + 1)]
    for index, folder in enumerate(shards, 1):
        _live(tmp_path, behaviour, [*argv, "--shard", f"{index}/{SHARDS}"], folder)
        note = json.loads((folder / SHARD_FILE).read_text())
        assert note["split"] == {"syn": [index, SHARDS]} and "response-schema" in note["left_out"]
    capsys.readouterr()
    merged = tmp_path / "merged"
    assert main(["report", "--merge", *map(str, shards), "--out", str(merged), "--gate", "strict"]) == whole_code == 1
    assert "syn: presence_penalty [effect] is IGNORED" in capsys.readouterr().out
    assert _portable(merged) == _portable(tmp_path / "whole", frozenset(whole_column_checks()))
