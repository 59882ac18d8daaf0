"""``jsoncodec.loads`` (how results.jsonl is read back): the values and errors of
``json.loads``, its test for long integers by translation sending exactly those texts to json."""

from __future__ import annotations

import json

import pytest

from harness.jsoncodec import loads

TEXTS = [
    '{"a": [1, 2.5, "x", null, true, -0.0, 1E5, "\\u00e9"]}',
    '{"big": 123456789012345678901234567890, "negative": -9223372036854775809}',
    '{"edge": 1234567890123456789, "just_short": 123456789012345678}',
    '{"nan": NaN, "inf": -Infinity}',
    "[1e400, 0.1234567890123456789]",
    '"\\ud800"',
    '{"text": "é ✓ \\n", "digits in a string": "12345678901234567890"}',
]


@pytest.mark.parametrize("text", TEXTS)
def test_loads_gives_what_json_gives(text: str) -> None:
    assert repr(loads(text)) == repr(json.loads(text))


def test_loads_errors_are_jsons() -> None:
    for text in ['{"a": 1,}', "", '{"a": 1} trailing']:
        with pytest.raises(json.JSONDecodeError) as ours:
            loads(text)
        with pytest.raises(json.JSONDecodeError) as theirs:
            json.loads(text)
        assert (ours.value.msg, ours.value.pos) == (theirs.value.msg, theirs.value.pos)


@pytest.mark.parametrize("run", [18, 19, 40])
def test_only_a_run_of_19_digits_goes_to_json(run: int, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    real = json.loads

    def spy(text: str) -> object:
        sent.append(text)
        return real(text)

    monkeypatch.setattr(json, "loads", spy)  # the module jsoncodec falls back to
    text = f'{{"n": {"9" * run}, "f": 0.5}}'
    assert loads(text) == real(text)
    assert sent == ([text] if run >= 19 else [])
