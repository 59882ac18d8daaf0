"""Bearer tokens are scrubbed whatever their letter case, with no secret known, by the text
and the bytes scrubbers alike (records and cassettes go to disk through the second)."""

from __future__ import annotations

import pytest

from harness.redaction import REDACTED, scrub_bytes, scrub_text

TOKEN = "abcdefgh12345678"


@pytest.mark.parametrize("word", ["Bearer", "bearer", "BEARER", "BeArEr", "bEARER"])
def test_a_bearer_token_in_any_case_is_scrubbed(word: str) -> None:
    line = f'{{"echo": "Authorization: {word} {TOKEN}"}}\n'
    assert scrub_text(line, []) == line.replace(TOKEN, REDACTED)
    assert scrub_bytes(line.encode(), []) == line.replace(TOKEN, REDACTED).encode()


def test_a_line_without_one_is_returned_as_it_is() -> None:
    line = b'{"content": "bear with me"}\n'
    assert scrub_bytes(line, []) is line
