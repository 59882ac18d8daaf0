"""A replay's response-schema judgements kept between processes (``checks.judged``): a body
is judged once per machine, looked up afterwards, and never served a judgement of other bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.checks import judged as judged_module
from harness.checks.judged import JudgedBodies, exchange_key
from harness.checks.judges.client_level import read_chat
from harness.checks.judges.letter import deviations
from harness.transport import Exchange
from harness.transport.exchange import Outcome

GOOD = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "system_fingerprint": "fp",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "hi", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
# What a client cannot use: a choice whose message is a list.
BROKEN = {**GOOD, "choices": [{"index": 0, "message": ["hi"], "finish_reason": "stop"}]}


def answer(body: dict[str, object]) -> Exchange:
    text = json.dumps(body)
    return Exchange(
        "POST",
        "http://127.0.0.1/v1/chat/completions",
        {"model": "m", "messages": []},
        Outcome.RESPONSE,
        200,
        "application/json",
        json=json.loads(text),
        text=text,
    )


class Counting:
    """The real judges, counted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = self.letters = 0

        def read(exchange: Exchange):  # type: ignore[no-untyped-def]
            self.reads += 1
            return read_chat(exchange)

        def letter(exchange: Exchange, schema: str):  # type: ignore[no-untyped-def]
            self.letters += 1
            return deviations(exchange, schema)

        monkeypatch.setattr(judged_module, "read_chat", read)
        monkeypatch.setattr(judged_module, "deviations", letter)


def test_a_body_is_judged_once_and_looked_up_with_the_same_judgement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = Counting(monkeypatch)
    store = tmp_path / "judged.sqlite"
    for body in (GOOD, BROKEN):
        first = JudgedBodies(store)
        read, letter = first.client_read(answer(body)), first.deviations(answer(body), "chat-completion")
        first.save()
        again = JudgedBodies(store)
        assert again.client_read(answer(body)) == read == read_chat(answer(body))
        letter_again = again.deviations(answer(body), "chat-completion")
        assert letter_again == letter == deviations(answer(body), "chat-completion")
        again.save()
    assert (counted.reads, counted.letters) == (2, 2)  # the second process judged nothing
    assert not JudgedBodies(store).client_read(answer(BROKEN)).usable


def test_other_bytes_or_another_request_are_never_served_a_stored_judgement(tmp_path: Path) -> None:
    store = JudgedBodies(tmp_path / "judged.sqlite")
    assert store.client_read(answer(GOOD)).usable
    store.save()
    # A provider that answers the same request with a broken body next time: judged afresh.
    assert not JudgedBodies(tmp_path / "judged.sqlite").client_read(answer(BROKEN)).usable
    other_request = answer(GOOD)
    other_request.body = {"model": "m", "messages": [], "stream": False}
    keys = {exchange_key(exchange, "client") for exchange in (answer(GOOD), answer(BROKEN), other_request)}
    assert len(keys) == 3
    assert exchange_key(answer(GOOD), "client") != exchange_key(answer(GOOD), "letter:chat-completion")


def test_one_store_serving_both_judges_judges_each_exchange_by_its_own_bytes(tmp_path: Path) -> None:
    """Both levels share a store, which digests each exchange once: the next exchange, even
    with the same request, is digested again, never served the previous one's judgement."""
    store = JudgedBodies(tmp_path / "judged.sqlite")
    good, broken = answer(GOOD), answer(BROKEN)
    assert store.deviations(good, "chat-completion") == deviations(good, "chat-completion")
    assert store.client_read(good).usable
    assert store.deviations(broken, "chat-completion") == deviations(broken, "chat-completion")
    assert not store.client_read(broken).usable
    store.save()
    again = JudgedBodies(tmp_path / "judged.sqlite")
    assert not again.client_read(answer(BROKEN)).usable and again.client_read(answer(GOOD)).usable


def test_a_store_that_cannot_be_opened_changes_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    store = JudgedBodies(blocked / "judged.sqlite")  # its folder cannot be made
    assert not store.client_read(answer(BROKEN)).usable
    assert store.deviations(answer(GOOD), "chat-completion") == deviations(answer(GOOD), "chat-completion")
    store.save()
