"""max_completion_tokens, stream_options, logit_bias and the equivalent forms against a
synthetic provider that honours them and one that accepts them and drops them: the second is
IGNORED (or, where the drop makes the forms differ, IGNORED on equivalence), never HONOURED."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.results import Verdict
from harness.schema import Surface
from tests.synthetic import Behaviour
from tests.unit.test_checks import run_checks, verdicts

PARAMS = ["max_completion_tokens", "stream_options", "logit_bias", "stop", "max_tokens", "logprobs", "top_logprobs"]


def test_an_honest_provider_is_honoured(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(), ["effect", "equivalence"], PARAMS)
    shown = sorted((r.param, r.check, r.verdict.value, r.detail[:80]) for r in records)
    for param in ("max_completion_tokens", "stream_options", "logit_bias"):
        assert verdicts(records, param, "effect") == {Verdict.HONOURED}, shown
    assert verdicts(records, "stop", "equivalence") == {Verdict.HONOURED}, shown
    assert verdicts(records, "max_completion_tokens", "equivalence") == {Verdict.HONOURED}, shown


def test_content_parts_are_the_same_question(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    """The synthetic provider answers by prompt, and reads text parts as the same prompt."""
    records = run_checks(tmp_path, catalogue["openai"], Behaviour(), ["equivalence"])
    assert verdicts(records, "messages", "equivalence") == {Verdict.HONOURED}


@pytest.mark.parametrize("dropped", ["max_completion_tokens", "stream_options", "logit_bias"])
def test_a_provider_that_drops_it_is_ignored(dropped: str, tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    behaviour = Behaviour(ignore={dropped})
    records = run_checks(tmp_path, catalogue["openai"], behaviour, ["effect", "equivalence"], PARAMS)
    shown = sorted((r.param, r.check, r.verdict.value, r.detail[:80]) for r in records if r.param == dropped)
    assert verdicts(records, dropped, "effect") == {Verdict.IGNORED}, shown
    assert Verdict.HONOURED not in verdicts(records, dropped), shown
