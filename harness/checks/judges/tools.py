"""Judges of tool calling: what ``tools`` and ``tool_choice`` ask for must be what the answer
holds. A call counts only with a known name and arguments that parse and validate against
that tool's parameters; every verdict compares with the same request under another
``tool_choice`` (or none), so an answer the server gives anyway proves nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from harness.checks.judges.effects import choice
from harness.checks.judges.outcome import Judgement, finish_reason, probe_failure, quote, text_of, unusable
from harness.checks.judges.shapes import Contrast, StreamPair, guarded_by
from harness.results import Verdict
from harness.transport import Exchange


@dataclass(frozen=True)
class Call:
    name: str
    arguments: Any  # the JSON text, as sent (a string when the server follows OpenAI)

    def __str__(self) -> str:
        return f"{self.name}({_short(self.arguments)})"


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _streamed_calls(exchange: Exchange) -> list[Call]:
    """Reassemble streamed tool-call deltas as OpenAI's SDK does: by ``index``, every string
    field concatenated across deltas."""
    parts: dict[int, dict[str, str]] = {}
    for index, piece in _call_deltas(exchange):
        function = piece.get("function")
        if not isinstance(function, dict):
            continue
        call = parts.setdefault(index, {"name": "", "arguments": ""})
        for key in ("name", "arguments"):
            if isinstance(function.get(key), str):
                call[key] += function[key]
    return [Call(call["name"], call["arguments"]) for _, call in sorted(parts.items())]


def _call_deltas(exchange: Exchange) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each tool-call fragment of the first choice's stream, with the call it belongs to (its
    ``index``, else its place in the delta)."""
    for chunk in exchange.chunks:
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        for streamed in choices if isinstance(choices, list) else []:
            delta = streamed.get("delta") if isinstance(streamed, dict) and streamed.get("index", 0) == 0 else None
            deltas = delta.get("tool_calls") if isinstance(delta, dict) else None
            for position, piece in enumerate(deltas if isinstance(deltas, list) else []):
                if isinstance(piece, dict):
                    index = piece.get("index", position)
                    yield (index if isinstance(index, int) else position), piece


def tool_calls(exchange: Exchange) -> list[Call]:
    """The calls of the first choice: the message's ``tool_calls``, or the stream's deltas."""
    if exchange.chunks:
        return _streamed_calls(exchange)
    message = choice(exchange).get("message")
    raw = message.get("tool_calls") if isinstance(message, dict) else None
    calls = []
    for item in raw if isinstance(raw, list) else []:
        function = item.get("function") if isinstance(item, dict) else None
        if isinstance(function, dict):
            calls.append(Call(str(function.get("name")), function.get("arguments")))
    return calls


def call_problem(call: Call, parameters: Mapping[str, dict[str, Any]]) -> str | None:
    """Why a client could not run this call, or None: an unknown function, arguments that are
    not a JSON string (OpenAI sends them as text), or arguments its parameters refuse."""
    if call.name not in parameters:
        return f"a call to {call.name!r}, which is not among the tools"
    if not isinstance(call.arguments, str):
        return f"{call.name}'s arguments are {type(call.arguments).__name__}, not a JSON string"
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        return f"{call.name}'s arguments are not JSON: {quote(call.arguments)}"
    errors = sorted(Draft202012Validator(parameters[call.name]).iter_errors(arguments), key=str)
    if errors:
        return f"{call}: its arguments do not validate against its parameters ({errors[0].message})"
    return None


def _failed(exchanges: Sequence[Exchange]) -> Judgement | None:
    """The guard of every tools judge: probe_failure, and an answer with neither text nor a
    call (a control that says nothing could refute nothing, and a probe that says nothing
    shows no effect)."""
    failed = probe_failure(exchanges)
    if failed:
        return failed
    if any(not text_of(e) and not tool_calls(e) for e in exchanges):
        return Judgement(Verdict.INCONCLUSIVE, "an answer with neither text nor a tool call: nothing to compare")
    return None


tools_guarded = guarded_by(_failed)


def _described(calls: list[Call]) -> str:
    return ", ".join(str(c) for c in calls) if calls else "no call"


def _no_call(exchange: Exchange, control: Exchange, what: str, max_tokens: int) -> Judgement:
    """A request that had to call and did not: IGNORED where nothing changed or it ended of
    itself; INCONCLUSIVE where it was cut short while doing something else."""
    text, finish = text_of(exchange), finish_reason(exchange)
    if text == text_of(control):
        return Judgement(
            Verdict.IGNORED,
            f"{what}: no call; the reply {quote(text)} is the same as without tool_choice",
            "the same request without tool_choice",
        )
    if finish == "length":
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"{what}: no call within max_tokens={max_tokens} (cut short, finish_reason length); the reply "
            f"{quote(text)} differs from the one without tool_choice, so a call may have been on its way",
        )
    return Judgement(
        Verdict.IGNORED,
        f"{what}: the reply ended (finish_reason {finish!r}) without a call: {quote(text)}",
        "the same request without tool_choice",
    )


@tools_guarded
def judge_tools_reach_prompt(contrast: Contrast) -> Judgement:
    """Tool definitions (``contrast.probe``) must reach the model: more prompt tokens than the
    same request without them (``contrast.control``)."""
    with_tools, without = contrast.probe, contrast.control
    usages = [e.json.get("usage") if isinstance(e.json, dict) else None for e in (with_tools, without)]
    counts = [u.get("prompt_tokens") if isinstance(u, dict) else None for u in usages]
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
        return Judgement(Verdict.INCONCLUSIVE, "no usage.prompt_tokens to compare: cannot see what reached the model")
    grown, plain = counts
    assert isinstance(grown, int) and isinstance(plain, int)
    if grown > plain:
        return Judgement(
            Verdict.HONOURED,
            f"the tool definitions reach the prompt: {plain} -> {grown} prompt tokens",
            "the same request without tools",
        )
    return Judgement(
        Verdict.IGNORED,
        f"the same {plain} prompt tokens with or without tools: the definitions never reach the model",
        "the same request without tools",
    )


@dataclass(frozen=True, kw_only=True)
class Forced:
    """``forced``: per tool name, the answer with ``tool_choice`` naming it; ``control``: the
    same request without tool_choice."""

    forced: Mapping[str, Exchange]
    control: Exchange

    def exchanges(self) -> list[Exchange]:
        return [*self.forced.values(), self.control]


@tools_guarded
def judge_forced_function(probe: Forced, parameters: Mapping[str, dict[str, Any]], max_tokens: int) -> Judgement:
    """``tool_choice`` naming a function, once per tool: each answer must be calls to exactly
    the named function with valid arguments. Two names each obeyed is the parameter's doing."""
    control = probe.control
    seen = []
    for name, exchange in probe.forced.items():
        calls = tool_calls(exchange)
        what = f"tool_choice forcing {name}"
        if not calls:
            return _no_call(exchange, control, what, max_tokens)
        wrong = [c for c in calls if c.name != name]
        if wrong:
            return Judgement(Verdict.IGNORED, f"{what}, but the answer calls {_described(wrong)}")
        problem = next((p for c in calls if (p := call_problem(c, parameters))), None)
        if problem:
            return Judgement(Verdict.IGNORED, f"{what}: {problem}")
        seen.append(f"{name} -> {_described(calls)}")
    return Judgement(
        Verdict.HONOURED,
        "each forced function was called, with valid arguments: " + "; ".join(seen),
        f"without tool_choice: {_described(tool_calls(control))}; forcing the other tool calls the other",
    )


@tools_guarded
def judge_required(contrast: Contrast, parameters: Mapping[str, dict[str, Any]], max_tokens: int) -> Judgement:
    """``tool_choice: "required"`` (``contrast.probe``) must produce a valid call, where the same
    request without it (``contrast.control``) does not (a model that calls anyway proves nothing
    about the value)."""
    required, control = contrast.probe, contrast.control
    calls = tool_calls(required)
    if not calls:
        return _no_call(required, control, 'tool_choice "required"', max_tokens)
    problem = next((p for c in calls if (p := call_problem(c, parameters))), None)
    if problem:
        return Judgement(Verdict.IGNORED, f'tool_choice "required": {problem}')
    if tool_calls(control):
        return Judgement(
            Verdict.INCONCLUSIVE,
            f'tool_choice "required" gave {_described(calls)}, but so does the same request without it: '
            "the call is not the value's doing",
        )
    return Judgement(
        Verdict.HONOURED,
        f'tool_choice "required" gave {_described(calls)}',
        "the same request without tool_choice makes no call",
    )


@tools_guarded
def judge_none(contrast: Contrast) -> Judgement:
    """``tool_choice: "none"`` (``contrast.probe``) must suppress a call the same request makes
    without it (``contrast.control``); where the model makes none anyway, there was nothing to
    suppress."""
    none, auto = contrast.probe, contrast.control
    suppressed, made = tool_calls(none), tool_calls(auto)
    if suppressed:
        return Judgement(Verdict.IGNORED, f'tool_choice "none", yet the answer calls {_described(suppressed)}')
    if not made:
        return Judgement(
            Verdict.INCONCLUSIVE,
            'no call with or without tool_choice "none": this model calls no tool unforced, so there was '
            "nothing for it to suppress",
        )
    return Judgement(
        Verdict.HONOURED,
        f'tool_choice "none" gave text {quote(text_of(none))} and no call',
        f"the same request without tool_choice calls {_described(made)}",
    )


@tools_guarded
def judge_parallel(contrast: Contrast) -> Judgement:
    """``parallel_tool_calls: false`` (``contrast.probe``) must leave at most one call where
    ``true`` (``contrast.control``) makes several."""
    single, multiple = contrast.probe, contrast.control
    one, many = tool_calls(single), tool_calls(multiple)
    if len(one) > 1:
        return Judgement(Verdict.IGNORED, f"parallel_tool_calls=false, yet {len(one)} calls: {_described(one)}")
    if not one:
        return Judgement(Verdict.INCONCLUSIVE, "parallel_tool_calls=false: no call at all, nothing to count")
    if len(many) < 2:
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"with parallel_tool_calls=true the answer holds {len(many)} call(s): nothing for false to limit",
        )
    return Judgement(
        Verdict.HONOURED,
        f"parallel_tool_calls=false: one call ({_described(one)})",
        f"the same request with true makes {len(many)} calls",
    )


def _comparable(call: Call) -> tuple[str, Any]:
    try:
        return call.name, json.loads(call.arguments) if isinstance(call.arguments, str) else call.arguments
    except ValueError:
        return call.name, call.arguments


@tools_guarded
def judge_streamed_calls(pair: StreamPair, parameters: Mapping[str, dict[str, Any]]) -> Judgement:
    """The deltas of a streamed tool call must reassemble to the call of the same request
    unstreamed (greedy, so both must be the same answer). A reassembled name that is no tool's
    is a stream a client cannot use (a server that repeats the name in every delta)."""
    plain, streamed = pair.plain, pair.streamed
    expected = tool_calls(plain)
    if not expected:
        return Judgement(
            Verdict.INCONCLUSIVE, "the request made no call unstreamed: no call to compare the deltas with"
        )
    if not streamed.chunks:
        return Judgement(Verdict.IGNORED, "stream=true with tools was answered with one JSON body, not events")
    got = tool_calls(streamed)
    if not got:
        return Judgement(
            Verdict.IGNORED,
            f"the streamed deltas carry no tool call (text {quote(streamed.content())}) where the same request "
            f"unstreamed calls {_described(expected)}",
        )
    unknown = [c.name for c in got if c.name not in parameters]
    if unknown:
        return Judgement(
            Verdict.SERVER_ERROR,
            f"reassembled as OpenAI's SDK does (string fields concatenated), the streamed call is named "
            f"{quote(unknown[0])}: no tool has that name (unstreamed: {_described(expected)})",
        )
    if [_comparable(c) for c in got] == [_comparable(c) for c in expected]:
        return Judgement(
            Verdict.HONOURED,
            f"{len(streamed.chunks)} chunks; the tool-call deltas reassemble to {_described(got)}",
            "the same request unstreamed gives the same call",
        )
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"the deltas reassemble to {_described(got)}, the same request unstreamed calls {_described(expected)}",
    )


# --- robustness: shapes of tools and of the conversation that few clients send ------------


def _raw_calls(exchange: Exchange) -> list[dict[str, Any]]:
    """The first choice's tool calls as sent: ``id``, ``name`` and ``arguments``, each None
    where missing (a stream's deltas reassembled by index, None where no delta carried it)."""
    if exchange.chunks:
        parts: dict[int, dict[str, Any]] = {}
        for index, piece in _call_deltas(exchange):
            call = parts.setdefault(index, dict.fromkeys(("id", "name", "arguments")))
            if isinstance(piece.get("id"), str):
                call["id"] = (call["id"] or "") + piece["id"]
            function = piece.get("function")
            for key in ("name", "arguments"):
                if isinstance(function, dict) and isinstance(function.get(key), str):
                    call[key] = (call[key] or "") + function[key]
        return [call for _, call in sorted(parts.items())]
    message = choice(exchange).get("message")
    raw = message.get("tool_calls") if isinstance(message, dict) else None
    calls = []
    for raw_item in raw if isinstance(raw, list) else []:
        item = raw_item if isinstance(raw_item, dict) else {}
        found = item.get("function")
        named: dict[str, Any] = found if isinstance(found, dict) else {}
        calls.append({"id": item.get("id"), "name": named.get("name"), "arguments": named.get("arguments")})
    return calls


def broken_reply(exchange: Exchange) -> str | None:
    """Why a client cannot run the tool calls of a 2xx, or None: a call without a name or an
    id, arguments missing or not a JSON object in a string, two calls under one id."""
    calls = _raw_calls(exchange)
    for call in calls:
        name = call["name"]
        if not isinstance(name, str) or not name:
            return f"a tool call without a name ({call})"
        if not isinstance(call["id"], str) or not call["id"]:
            return f"the call to {name} has no id: its result cannot be sent back"
        arguments = call["arguments"]
        if not isinstance(arguments, str):
            return f"the call to {name} has no arguments string ({type(arguments).__name__})"
        try:
            parsed = json.loads(arguments)
        except ValueError:
            return f"the call to {name} has arguments that are not JSON: {quote(arguments)}"
        if not isinstance(parsed, dict):
            return f"the call to {name} has arguments that are not a JSON object: {quote(arguments)}"
    ids = [call["id"] for call in calls]
    if len(set(ids)) != len(ids):
        return f"{len(ids)} calls share ids {ids}: a client cannot tell their results apart"
    return None


def judge_tool_shape(judged: Judgement, exchange: Exchange) -> Judgement:
    """A shape of tools or history, judged as a range case is (``judged``: refused with a
    validation error or accepted, by its documented expectation; a 5xx is SERVER_ERROR); an
    accepted one must also be a reply a client can use."""
    if judged.verdict not in (Verdict.ACCEPTED, Verdict.LENIENT):
        return judged
    broken = broken_reply(exchange)
    if broken:
        return Judgement(Verdict.SERVER_ERROR, f"HTTP {exchange.status} with a broken reply: {broken}")
    calls = _raw_calls(exchange)
    said = (
        f"; its call{'s' if len(calls) > 1 else ''} can be run: {', '.join(str(c['name']) for c in calls)}"
        if calls
        else ""
    )
    return Judgement(judged.verdict, judged.detail + said, judged.control)


@tools_guarded
def judge_called(pair: StreamPair, name: str) -> Judgement:
    """A call forced to ``name``, unstreamed and streamed: each must be a call to it that a
    client can run (a tool without parameters still gets ``arguments``, "{}")."""
    for exchange, how in ((pair.plain, "unstreamed"), (pair.streamed, "streamed")):
        broken = broken_reply(exchange)
        if broken:
            return Judgement(Verdict.SERVER_ERROR, f"{how}: {broken}")
        names = [c["name"] for c in _raw_calls(exchange)]
        if name not in names:
            return Judgement(
                Verdict.INCONCLUSIVE, f"{how}: tool_choice forcing {name} gave {names or 'no call'}: nothing to read"
            )
    shown = _described(tool_calls(pair.streamed))
    return Judgement(
        Verdict.ACCEPTED, f"forced, {name} is called with arguments a client can run, streamed or not: {shown}"
    )


@dataclass(frozen=True, kw_only=True)
class KeyOrder:
    """The same forced call with the tool's ``properties`` in one order (``forward``) and in
    the reverse (``backward``)."""

    forward: Exchange
    backward: Exchange

    def exchanges(self) -> list[Exchange]:
        return [self.forward, self.backward]


def _argument_keys(exchange: Exchange) -> list[str] | None:
    calls = tool_calls(exchange)
    if len(calls) != 1 or not isinstance(calls[0].arguments, str):
        return None
    try:
        parsed = json.loads(calls[0].arguments)
    except ValueError:
        return None
    return list(parsed) if isinstance(parsed, dict) else None


@tools_guarded
def judge_key_order(probe: KeyOrder, order: Sequence[str]) -> Judgement:
    """Models follow a schema's key order; a gateway that sorts ``properties`` changes what
    the model sees. ``order``: the properties as ``forward`` lists them (``backward``: reversed).
    Kept, the call's argument keys follow each order; reordered, both give one order."""
    forward, backward = _argument_keys(probe.forward), _argument_keys(probe.backward)
    if not tool_calls(probe.forward) or not tool_calls(probe.backward):
        made = f"{_described(tool_calls(probe.forward))} and {_described(tool_calls(probe.backward))}"
        return Judgement(Verdict.INCONCLUSIVE, f"the forced calls were not made ({made}): no argument keys to read")
    if forward is None or backward is None or sorted(forward) != sorted(order) or sorted(backward) != sorted(order):
        return Judgement(
            Verdict.INCONCLUSIVE,
            f"the forced calls do not give every property once as a JSON object (keys {forward} and {backward}): "
            "no order to read",
        )
    reverse = list(reversed(order))
    if forward == list(order) and backward == reverse:
        return Judgement(
            Verdict.HONOURED,
            f"the properties' order reaches the model: arguments {forward} and, reversed, {backward}",
            "the same tool with its properties reversed gives the keys reversed",
        )
    if forward == backward:
        return Judgement(
            Verdict.IGNORED,
            f"the tool's properties were reordered before the model saw them: both orders give keys {forward}",
            "the same tool with its properties reversed",
        )
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"argument keys {forward} and, properties reversed, {backward}: neither kept nor one order",
    )


def judge_call_ids(exchange: Exchange) -> Judgement:
    """Parallel calls must each have their own id: a client sends each result back under its
    call's id, and two calls under one id cannot be told apart."""
    failed = probe_failure([exchange])
    if failed is not None:
        return failed
    broken = broken_reply(exchange)
    if broken:
        return Judgement(Verdict.SERVER_ERROR, f"HTTP {exchange.status} with a broken reply: {broken}")
    calls = _raw_calls(exchange)
    if len(calls) < 2:
        return Judgement(Verdict.INCONCLUSIVE, f"{len(calls)} call(s): no parallel calls whose ids could collide")
    return Judgement(
        Verdict.ACCEPTED, f"{len(calls)} parallel calls, each under its own id: {[c['id'] for c in calls]}"
    )


def against_well_formed(judged: Judgement, well_formed: Exchange) -> Judgement:
    """A history shape's verdict beside the same conversation well formed: where that is not
    answered either, the fault is the conversation, not the shape, and the detail says so."""
    if well_formed.ok and unusable(well_formed) is None:
        return Judgement(
            judged.verdict, judged.detail, judged.control or "the same conversation well formed is answered"
        )
    status = well_formed.status or well_formed.error
    return Judgement(
        judged.verdict,
        f"{judged.detail}; the same conversation well formed is answered HTTP {status} too: the fault is the "
        "conversation, not this shape",
        judged.control,
    )
