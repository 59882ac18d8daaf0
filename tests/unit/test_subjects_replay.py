"""The shipped cassettes of the four subjects of issue 28 replay offline to their known
answers (recorded from the real servers; tests/integration/test_subjects_live.py asserts the
same on live ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.results import read_results
from harness.runs import RunOptions, run_provider
from tests.subject_known_answers import LIVE_CHECKS, LIVE_PARAMS, SUBJECTS


@pytest.mark.parametrize("provider", sorted(SUBJECTS))
def test_subject_cassettes_replay_to_the_known_answers(provider: str, tmp_path: Path) -> None:
    run_provider(RunOptions(provider, mode="replay", out=tmp_path, progress=False))
    SUBJECTS[provider](read_results(tmp_path / "results.jsonl"), True)


@pytest.mark.parametrize("provider", sorted(SUBJECTS))
def test_the_live_tests_share_of_each_cassette_replays_to_the_same_answers(provider: str, tmp_path: Path) -> None:
    """What the live test sends is in the cassette: the same answers from its part alone."""
    options = RunOptions(
        provider,
        mode="replay",
        out=tmp_path,
        params=LIVE_PARAMS[provider],
        checks=LIVE_CHECKS[provider],
        progress=False,
    )
    run_provider(options)
    SUBJECTS[provider](read_results(tmp_path / "results.jsonl"), False)
