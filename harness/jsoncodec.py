"""JSON on the hot path: orjson, about 4x faster than the standard library on this harness's
responses and records, with the standard library deciding whatever orjson refuses, so what
parses and what an error says stay as ``json`` has them (NaN, integers beyond 64 bits)."""

from __future__ import annotations

import json
from typing import Any

import orjson

# orjson reads an integer beyond 64 bits as a float; json keeps it exact. So a text with a run
# of 19 ASCII digits goes to json (a long run inside a string or a fraction too: slower, never
# wrong). The run is looked for in the UTF-8 bytes with each digit mapped to "0" and every
# other byte to " ": a C loop and a substring search, where a regular expression scanning
# every body cost more than orjson's parse of it. (A multi-byte character holds no ASCII byte.)
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = b"0" * 19


def long_digits(text: str) -> bool:
    """Does ``text`` hold a run of at least 19 ASCII digits?"""
    return _LONG_RUN in text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZEROS)


def loads(text: str) -> Any:
    """``json.loads``, faster: what orjson refuses, or might read differently, goes to json."""
    if not long_digits(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)  # json's value, or json's JSONDecodeError (msg, pos)


# The same test without a regular expression, for long texts full of digits (a record's
# evidence): every digit made "1", then one substring search in C.
_DIGITS_AS_ONES = bytes.maketrans(b"0123456789", b"1" * 10)
_LONG_RUN = b"1" * 19


def loads_long(text: str) -> Any:
    """``loads`` of a long text (a line of results.jsonl): the same values and errors, with
    the test for long integers done by translation (a regular expression over a long text full
    of digits costs more than parsing it)."""
    data = text.encode("utf-8", "surrogatepass")
    if _LONG_RUN not in data.translate(_DIGITS_AS_ONES):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def dumps_line(data: Any) -> bytes:
    """One JSON line (UTF-8, newline-terminated); what is not JSON is written as ``str``.
    orjson writes NaN as null; an integer beyond 64 bits (a probe's out-of-range value can be
    one) falls back to json, which writes it exactly."""
    try:
        return orjson.dumps(data, default=str, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return (json.dumps(data, ensure_ascii=False, default=str) + "\n").encode()
