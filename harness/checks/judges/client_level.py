"""The client level: what the reference client reads. Each recorded body is read by the official
``openai`` Python SDK itself (its SSE decoder, its stream iteration, its response types), from
the recorded status, headers and bytes, through an ``httpx2.MockTransport``: the SDK builds its
request and the transport answers it with the recording, so nothing is ever sent.

A body is usable when the SDK reads it without raising and what clients then read has the
types they rely on: each choice has a message (a delta when streamed) whose role is the
assistant's, content is a string or null, and every tool call has an id, ``type: "function"``,
a string name and string arguments (reassembled by ``index`` when streamed; whether the
arguments parse and validate is the tools check's question). An error body is usable when the
SDK's error carries the body's message. The response schemas (``responses/*.schema.json``)
document this level; they are not its judge.

The SDK is imported when it first reads a body: importing it builds every API type, which a
process that judges no body (a plan, a report, a replay whose judgements are kept) does not need.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx2

from harness.transport import Exchange

if TYPE_CHECKING:
    import openai

_ROLES = frozenset({"developer", "system", "user", "assistant", "tool"})  # ChoiceDelta.role's literal
_BASE = "http://recorded.invalid/v1"


@dataclass(frozen=True)
class ClientRead:
    """What the SDK made of one body."""

    raised: str = ""  # what the SDK raised reading it ("" when it read it)
    problems: tuple[str, ...] = ()  # what clients read that lacks the types they rely on
    chunks: int = 0  # chunks the SDK's stream iteration yielded

    @property
    def usable(self) -> bool:
        return not self.raised and not self.problems

    @property
    def reason(self) -> str:
        return f"the SDK raises {self.raised}" if self.raised else "; ".join(self.problems)


class _Recording(threading.local):
    status: int = 200
    content_type: str = ""
    body: bytes = b""


_RECORDING = _Recording()


def _answer(request: httpx2.Request) -> httpx2.Response:
    """The recorded answer, whatever the SDK asked: it reads, it never reaches a network."""
    headers = {"content-type": _RECORDING.content_type} if _RECORDING.content_type else {}
    return httpx2.Response(_RECORDING.status, headers=headers, content=_RECORDING.body)


@functools.cache
def _client() -> openai.OpenAI:
    import openai  # imported when it first reads a body (see the module docstring)

    transport = httpx2.MockTransport(_answer)
    return openai.OpenAI(
        api_key="recorded",
        base_url=_BASE,
        max_retries=0,
        http_client=httpx2.Client(transport=transport, base_url=_BASE),
    )


def read_chat(exchange: Exchange) -> ClientRead:
    """A chat-completions exchange as the SDK reads it (a stream when the request streamed)."""
    import openai  # imported when it first reads a body (see the module docstring)
    from openai.types.chat import ChatCompletion

    streamed = isinstance(exchange.body, dict) and exchange.body.get("stream") is True
    media = exchange.content_type.split(";")[0].strip()
    if exchange.ok and not streamed and media.endswith("json") and isinstance(exchange.json, dict):
        # What create() does with a JSON 2xx, without building a request for it (a seventh of
        # the cost, on most bodies of a run): response.json(), already parsed here by the same
        # JSON rules, then the SDK's own construction of its ChatCompletion from the dict.
        return ClientRead(problems=tuple(_completion_problems(ChatCompletion.construct(**exchange.json))))
    _RECORDING.status = exchange.status or 0
    _RECORDING.content_type = exchange.content_type
    _RECORDING.body = _body(exchange)
    client = _client()
    try:
        if streamed:
            chunks = list(client.chat.completions.create(model="recorded", messages=[], stream=True))
            return ClientRead(problems=tuple(_stream_problems(chunks)), chunks=len(chunks))
        completion = client.chat.completions.create(model="recorded", messages=[])
    except openai.APIStatusError as err:
        if exchange.ok:
            return ClientRead(raised=f"{type(err).__name__}: {err.message}"[:300])
        return ClientRead(problems=tuple(_error_problems(err)))
    except Exception as err:  # whatever the SDK raises is the finding
        return ClientRead(raised=f"{type(err).__name__}: {err}"[:300])
    return ClientRead(problems=tuple(_completion_problems(completion)))


def _body(exchange: Exchange) -> bytes:
    """The recorded bytes; an exchange built by hand without them (a unit test's) is written out
    from what it holds: its chunks as SSE frames, or its JSON."""
    if exchange.text or (not exchange.chunks and exchange.json is None):
        return exchange.raw
    if exchange.chunks:
        frames = [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in exchange.chunks]
        return b"".join(frames) + (b"data: [DONE]\n\n" if exchange.stream_done else b"")
    return json.dumps(exchange.json).encode()


def _error_problems(err: openai.APIStatusError) -> list[str]:
    """An error status: the SDK always raises; a client reads the body's message from it."""
    body = err.body
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str) and message:
        return []
    return [f"the SDK's error carries no message from the body (clients see only {err.message!r})"]


def _completion_problems(completion: Any) -> list[str]:
    import openai  # imported when it first reads a body (see the module docstring)

    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices:
        return ["no choices (clients read choices[0].message)"]
    problems: list[str] = []
    for i, choice in enumerate(choices):
        message = getattr(choice, "message", None)
        if not isinstance(message, openai.BaseModel):
            problems.append(f"choices[{i}] has no message object")
            continue
        role = getattr(message, "role", None)
        if role != "assistant":
            problems.append(f"choices[{i}].message.role is {role!r}, not 'assistant'")
        problems += _content_problem(getattr(message, "content", None), f"choices[{i}].message.content")
        calls = getattr(message, "tool_calls", None)
        if calls is None:
            continue
        if not isinstance(calls, list):
            problems.append(f"choices[{i}].message.tool_calls is {_kind(calls)}, not a list")
            continue
        for j, call in enumerate(calls):
            function = getattr(call, "function", None)
            problems += _call_problems(
                f"choices[{i}].message.tool_calls[{j}]",
                getattr(call, "id", None),
                getattr(call, "type", None),
                getattr(function, "name", None),
                getattr(function, "arguments", None),
            )
    return problems


def _content_problem(content: object, where: str) -> list[str]:
    if content is None or isinstance(content, str):
        return []
    return [f"{where} is {_kind(content)}, not a string or null"]


def _call_problems(where: str, call_id: object, kind: object, name: object, arguments: object) -> list[str]:
    problems = []
    if not isinstance(call_id, str) or not call_id:
        problems.append(f"{where} has no id")
    if kind != "function":
        problems.append(f"{where}.type is {kind!r}, not 'function'")
    if not isinstance(name, str) or not name:
        problems.append(f"{where}.function.name is {_kind(name)}, not a string")
    if not isinstance(arguments, str):
        problems.append(f"{where}.function.arguments is {_kind(arguments)}, not a string")
    return problems


def _stream_problems(chunks: list[Any]) -> list[str]:
    """Each chunk's choices have a delta; the tool calls reassembled by index, as the SDK's
    stream helper does (string fields concatenated), have what a call must have: an id and a
    name sent once (again, the helper doubles them)."""
    import openai  # imported when it first reads a body (see the module docstring)

    problems: list[str] = []
    calls: dict[tuple[int, int], dict[str, object]] = {}
    for n, chunk in enumerate(chunks):
        choices = getattr(chunk, "choices", None)
        if not isinstance(choices, list):
            problems.append(f"chunk {n}: choices is {_kind(choices)}, not a list")
            continue
        for i, choice in enumerate(choices):
            delta = getattr(choice, "delta", None)
            if not isinstance(delta, openai.BaseModel):
                problems.append(f"chunk {n}: choices[{i}] has no delta object")
                continue
            role = getattr(delta, "role", None)
            if role is not None and role not in _ROLES:
                problems.append(f"chunk {n}: choices[{i}].delta.role is {role!r}")
            problems += _content_problem(getattr(delta, "content", None), f"chunk {n}: choices[{i}].delta.content")
            deltas = getattr(delta, "tool_calls", None)
            if deltas is None:
                continue
            if not isinstance(deltas, list):
                problems.append(f"chunk {n}: choices[{i}].delta.tool_calls is {_kind(deltas)}, not a list")
                continue
            index = getattr(choice, "index", 0)
            for fragment in deltas:
                position = getattr(fragment, "index", None)
                if not isinstance(position, int):
                    problems.append(f"chunk {n}: a tool-call delta without an integer index (clients reassemble by it)")
                    position = -1
                call = calls.setdefault((index if isinstance(index, int) else 0, position), {})
                _merge(call, fragment)
    for (choice_index, position), call in calls.items():
        for key in ("name", "id"):
            times = call.get(key + "#", 0)
            if isinstance(times, int) and times > 1:
                problems.append(
                    f"choices[{choice_index}] tool call {position}: its {key} comes in {times} fragments, and the "
                    f"SDK's stream helper concatenates them ({str(call.get(key))[:80]!r})"
                )
        problems += _call_problems(
            f"choices[{choice_index}] tool call {position}",
            call.get("id"),
            call.get("type"),
            call.get("name"),
            call.get("arguments"),
        )
    return problems


def _merge(call: dict[str, object], fragment: Any) -> None:
    """One tool-call delta into its call, as the SDK's stream helper (``accumulate_delta``) does:
    ``type`` replaced, string fields concatenated, so an id or a name sent again is doubled;
    ``fragments`` counts the fragments that carried each."""
    function = getattr(fragment, "function", None)
    given = {
        "id": getattr(fragment, "id", None),
        "type": getattr(fragment, "type", None),
        "name": getattr(function, "name", None),
        "arguments": getattr(function, "arguments", None),
    }
    for key, value in given.items():
        if value is None:
            continue
        before = call.get(key)
        if key != "type" and isinstance(value, str) and isinstance(before, str):
            call[key] = before + value
        else:
            call[key] = value
        if key in ("id", "name") and value:
            call[key + "#"] = int(str(call.get(key + "#", 0))) + 1


def _kind(value: object) -> str:
    import openai  # imported when it first reads a body (see the module docstring)

    if value is None:
        return "missing or null"
    if isinstance(value, openai.BaseModel):
        return "an object"
    return f"a {type(value).__name__}"
