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
    """``json.loads``, faster: what orjson refuses, or might read differently, goes to json.
    (Also how results.jsonl is read back: long lines full of digits cost the test little.)"""
    if not long_digits(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)  # json's value, or json's JSONDecodeError (msg, pos)


def dumps_line(data: Any) -> bytes:
    """One JSON line (UTF-8, newline-terminated); what is not JSON is written as ``str``.
    orjson writes NaN as null; an integer beyond 64 bits (a probe's out-of-range value can be
    one) falls back to json, which writes it exactly."""
    try:
        return orjson.dumps(data, default=str, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return (json.dumps(data, ensure_ascii=False, default=str) + "\n").encode()
