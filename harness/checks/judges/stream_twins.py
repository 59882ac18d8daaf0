"""Streamed twins: the same request streamed and not, under the same seed (or greedy), must give
the same reply, choice by choice: the text, the finish reason, the tool calls (reassembled by
index, string fields concatenated, as the SDK's stream helper does) and the log-probability
tokens. With logprobs, with ``n: 2``, with a forced tool call, with ``json_object``: each is its
own probe and cell; this is their judge. Pure: it reads the two exchanges, the frames are the
evidence."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.checks.judges.outcome import Judgement
from harness.checks.judges.shapes import StreamPair, guarded
from harness.results import Verdict
from harness.transport import Exchange


@dataclass
class Reply:
    """What one choice says, however it came."""

    content: str = ""
    finish_reason: object = None
    calls: list[tuple[object, object]] = field(default_factory=list)  # (name, arguments), by index
    tokens: list[object] = field(default_factory=list)  # logprobs.content[].token


def replies(exchange: Exchange) -> dict[int, Reply]:
    """Each choice's reply, by index: reassembled from the deltas when streamed."""
    if exchange.chunks:
        return _streamed(exchange.chunks)
    body = exchange.json if isinstance(exchange.json, dict) else {}
    found: dict[int, Reply] = {}
    for position, choice in enumerate(_list(body.get("choices"))):
        if not isinstance(choice, dict):
            continue
        message = _dict(choice.get("message"))
        content = message.get("content")
        calls = [
            (_dict(c.get("function")).get("name"), _dict(c.get("function")).get("arguments"))
            for c in _list(message.get("tool_calls"))
            if isinstance(c, dict)
        ]
        index = choice.get("index", position)
        found[index if isinstance(index, int) else position] = Reply(
            content if isinstance(content, str) else "",
            choice.get("finish_reason"),
            calls,
            _tokens(choice.get("logprobs")),
        )
    return found


def _streamed(chunks: list[Any]) -> dict[int, Reply]:
    found: dict[int, Reply] = {}
    calls: dict[int, dict[int, dict[str, Any]]] = {}
    for chunk in chunks:
        for choice in _list(_dict(chunk).get("choices")):
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            index = index if isinstance(index, int) else 0
            reply = found.setdefault(index, Reply())
            delta = _dict(choice.get("delta"))
            if isinstance(delta.get("content"), str):
                reply.content += delta["content"]
            if choice.get("finish_reason") is not None:
                reply.finish_reason = choice["finish_reason"]
            reply.tokens += _tokens(choice.get("logprobs"))
            for fragment in _list(delta.get("tool_calls")):
                position = _dict(fragment).get("index", 0)
                call = calls.setdefault(index, {}).setdefault(position if isinstance(position, int) else 0, {})
                for key, value in _dict(_dict(fragment).get("function")).items():
                    if isinstance(value, str) and isinstance(call.get(key), str):
                        call[key] += value
                    elif value is not None:
                        call[key] = value
    for index, by_position in calls.items():
        found[index].calls = [(c.get("name"), c.get("arguments")) for _, c in sorted(by_position.items())]
    return found


def _tokens(logprobs: object) -> list[object]:
    return [item.get("token") for item in _list(_dict(logprobs).get("content")) if isinstance(item, dict)]


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


Feature = Literal["logprobs", "n", "tool_call", "json_object"]


def _json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def shows(plain: dict[int, Reply], feature: Feature) -> bool:
    """Does the non-streamed reply show the feature at all (log-probability tokens, two
    choices, a tool call, a JSON object)? If not, equal twins say nothing about it."""
    if feature == "logprobs":
        return any(reply.tokens for reply in plain.values())
    if feature == "n":
        return len(plain) >= 2
    if feature == "tool_call":
        return any(reply.calls for reply in plain.values())
    return any(_json_object(reply.content) for reply in plain.values())


_SHOWN: dict[Feature, str] = {
    "logprobs": "log-probability tokens",
    "n": "second choice",
    "tool_call": "tool call",
    "json_object": "JSON object",
}


@guarded
def judge_stream_twins(pair: StreamPair, what: str, reproduces: bool, feature: Feature | None = None) -> Judgement:
    """``what``: the probe's feature ("logprobs", "n=2", "a forced tool call", "json_object");
    ``reproduces``: the provider's profile says the request reproduces (seeded or greedy), so a
    difference is the stream's doing; ``feature``: what the non-streamed reply must show for
    equal twins to be evidence about it (the control: a reply without it would make any
    stream of the same text "equal")."""
    plain, streamed = replies(pair.plain), replies(pair.streamed)
    if not pair.streamed.chunks:
        return Judgement(Verdict.IGNORED, f"stream=true with {what} was answered with one JSON body, not events")
    if not plain:
        return Judgement(Verdict.INCONCLUSIVE, f"the non-streamed reply with {what} has no choice to compare")
    if feature is not None and not shows(plain, feature):
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"the non-streamed reply with {what} does not show it (no {_SHOWN[feature]} in it), so equal "
            "twins would say nothing about it in a stream",
        )
    differences = _differences(plain, streamed)
    if not differences:
        return Judgement(
            Verdict.HONOURED,
            f"with {what}, {len(pair.streamed.chunks)} chunks reassemble to the non-streamed reply "
            f"({len(plain)} choices: text, finish reason, tool calls and logprob tokens equal)",
            "the same request unstreamed gives the same reply",
        )
    said = f"with {what}, the stream differs from the non-streamed reply: {differences[0]}"
    if not reproduces:
        return Judgement(Verdict.INCONCLUSIVE, f"{said}; the request does not reproduce, so it may be sampling")
    # Each frame is usable on its own: what fails is the parameter's effect under stream=true
    # (a choice, its tokens or its text lost or changed), so IGNORED, not a broken body.
    return Judgement(Verdict.IGNORED, f"{said} (the request reproduces unstreamed)")


def _differences(plain: dict[int, Reply], streamed: dict[int, Reply]) -> list[str]:
    if sorted(plain) != sorted(streamed):
        return [f"choices {sorted(streamed)} streamed, {sorted(plain)} unstreamed"]
    found = []
    for index in sorted(plain):
        one, other = plain[index], streamed[index]
        for name in ("content", "finish_reason", "calls", "tokens"):
            if getattr(one, name) != getattr(other, name):
                found.append(
                    f"choices[{index}].{name}: streamed {getattr(other, name)!r:.80}, "
                    f"unstreamed {getattr(one, name)!r:.80}"
                )
    return found
