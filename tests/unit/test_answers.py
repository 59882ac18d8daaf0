"""scipy's answers kept between processes (``checks.answers``): a replay asks the store first,
gets the computed answer bit for bit, computes what the store lacks, never answers one question
with another's answer, and runs unchanged where the store cannot be used."""

from __future__ import annotations

import importlib.metadata
import math
import random
from pathlib import Path
from typing import Any, cast

import pytest

from harness.checks import answers as answers_module
from harness.checks.answers import KeptAnswers, question_key
from harness.checks.judges import statistics
from harness.checks.judges.statistics import compare, compare_rates, computed, futile


def arms(seed: int, shift: float = 0.0) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    return [rng.gauss(1.2, 0.3) for _ in range(16)], [rng.gauss(1.2 + shift, 0.3) for _ in range(16)]


def no_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any question that reaches scipy now fails the test."""

    def refuse() -> None:
        raise AssertionError("scipy was asked although the answer was kept")

    monkeypatch.setattr(statistics, "_stats", refuse)
    statistics.design_power.cache_clear()


def test_a_second_process_gets_every_answer_from_the_store_bit_for_bit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = arms(1, shift=0.2)
    first = KeptAnswers(tmp_path / "answers.sqlite")
    expected = (compare(a, b, recall=first), compare_rates(7, 8, 1, 8, first), futile(a, b, first))
    first.close()
    assert expected == (compare(a, b), compare_rates(7, 8, 1, 8), futile(a, b))  # the store changes nothing
    no_scipy(monkeypatch)
    second = KeptAnswers(tmp_path / "answers.sqlite")
    assert (compare(a, b, recall=second), compare_rates(7, 8, 1, 8, second), futile(a, b, second)) == expected
    second.close()


def test_a_question_not_asked_before_is_computed_and_kept(tmp_path: Path) -> None:
    store = KeptAnswers(tmp_path / "answers.sqlite")
    asked: list[int] = []

    def compute() -> float:
        asked.append(1)
        return 0.25

    assert store("welch", ([1.0, 2.0], [3.0, 4.0], "less"), compute) == 0.25
    assert store("welch", ([1.0, 2.0], [3.0, 4.0], "less"), compute) == 0.25
    assert len(asked) == 1
    # Another argument, however close, is another question.
    assert store("welch", ([1.0, 2.0000000000000004], [3.0, 4.0], "less"), lambda: 0.5) == 0.5
    assert store("welch", ([1.0, 2.0], [3.0, 4.0], "greater"), lambda: 0.75) == 0.75
    assert store("mannwhitneyu", ([1.0, 2.0], [3.0, 4.0], "less"), lambda: 0.125) == 0.125


@pytest.mark.parametrize("value", [0.1 + 0.2, 1e-300, 5e-324, -0.0, math.inf, 0.9999999999999999])
def test_an_answer_is_kept_exactly(tmp_path: Path, value: float) -> None:
    KeptAnswers(tmp_path / "answers.sqlite")("q", (1,), lambda: value)
    found = KeptAnswers(tmp_path / "answers.sqlite")("q", (1,), lambda: 0.0)
    assert found == value and math.copysign(1, found) == math.copysign(1, value)


def test_nan_is_kept_as_nan(tmp_path: Path) -> None:
    KeptAnswers(tmp_path / "answers.sqlite")("q", (1,), lambda: math.nan)
    assert math.isnan(KeptAnswers(tmp_path / "answers.sqlite")("q", (1,), lambda: 0.0))


def test_other_code_or_another_scipy_is_another_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = question_key("welch", ([1.0], [2.0], "less"))
    answers_module.code_digest.cache_clear()
    real_version = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata,
        "version",
        lambda name: "0.0-other" if name == "scipy" else real_version(name),
    )
    try:
        assert question_key("welch", ([1.0], [2.0], "less")) != before
    finally:
        monkeypatch.undo()
        answers_module.code_digest.cache_clear()
    assert question_key("welch", ([1.0], [2.0], "less")) == before


def test_an_unusable_store_only_costs_the_computation(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = KeptAnswers(blocker / "answers.sqlite")  # its folder cannot be made
    assert store("q", (1,), lambda: 0.5) == 0.5
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    assert KeptAnswers(garbage)("q", (1,), lambda: 0.5) == 0.5


def test_a_replay_context_keeps_answers_and_a_live_one_computes() -> None:
    from harness.checks.context import CheckContext, Sender
    from harness.schema import surface_named

    async def send(body: dict[str, Any]) -> Any:
        raise AssertionError("nothing is sent")

    def context(replaying: bool) -> CheckContext:
        surface = surface_named("openai")
        return CheckContext("p", surface, "m", [], cast(Sender, send), replaying=replaying)

    assert context(False).recall is computed
    replay = context(True)
    assert isinstance(replay.recall, KeptAnswers)
    assert replay.recall is replay.recall  # one store per context
