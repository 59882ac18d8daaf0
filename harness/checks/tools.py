"""Tool-calling probes: two small tools, greedy decoding, and for each ``tool_choice`` value
the same request without it (or under another value) as the control. Sends only what the
surface documents; ``harness.checks.judges.tools`` decides."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final

from harness.checks.cost import Ceiling, fresh, sends
from harness.checks.findings import Finding
from harness.checks.judges.profile import Profile
from harness.checks.judges.ranges import judge_case
from harness.checks.judges.shapes import Contrast, StreamPair
from harness.checks.judges.tools import (
    Forced,
    KeyOrder,
    against_well_formed,
    judge_call_ids,
    judge_called,
    judge_forced_function,
    judge_key_order,
    judge_none,
    judge_parallel,
    judge_required,
    judge_streamed_calls,
    judge_tool_shape,
    judge_tools_reach_prompt,
)
from harness.checks.plans.common import documents, probe_body
from harness.checks.registry import CheckContext, probe, probes_check
from harness.generation.matrix import MatrixBuilder, base_body

# Short arguments (an enum, a one-digit integer) so that a call fits in the probe's tokens
# even where a grammar lets a tiny model pad JSON with whitespace. "strict": OpenAI promises
# arguments that follow the schema only under it.
PARAMETERS: Final[dict[str, dict[str, Any]]] = {
    "set_colour": {
        "type": "object",
        "properties": {"colour": {"type": "string", "enum": ["red", "green", "blue"]}},
        "required": ["colour"],
        "additionalProperties": False,
    },
    "set_size": {
        "type": "object",
        "properties": {"size": {"type": "integer", "minimum": 1, "maximum": 9}},
        "required": ["size"],
        "additionalProperties": False,
    },
}
TOOLS: Final = [
    {
        "type": "function",
        "function": {"name": name, "description": f"{name.replace('_', ' ')}", "parameters": schema, "strict": True},
    }
    for name, schema in PARAMETERS.items()
]
TOOL_TOKENS: Final = 120

TOOLS_CHECK = probes_check(__name__, "tools", "tool calling does what tools and tool_choice ask")


def forcing(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def _body(ctx: CheckContext, **params: Any) -> dict[str, Any]:
    return probe_body(ctx, temperature=0.0, max_tokens=TOOL_TOKENS, **params)


async def _control(ctx: CheckContext) -> Any:
    """The tools without tool_choice: what every tool_choice value is compared with."""
    return await ctx.send(_body(ctx, tools=TOOLS))


def _tools_documented(ctx: CheckContext) -> bool:
    return documents(ctx, "tools", TOOLS)


def _named(ctx: CheckContext) -> bool:
    return _tools_documented(ctx) and documents(ctx, "tool_choice", forcing(next(iter(PARAMETERS))))


def _documents_choice(value: str) -> Callable[[CheckContext], bool]:
    return lambda ctx: _tools_documented(ctx) and documents(ctx, "tool_choice", value)


def _calls_in_parallel(ctx: CheckContext) -> bool:
    calls = _named(ctx) or _documents_choice("required")(ctx)
    return calls and documents(ctx, "parallel_tool_calls", False)


def _cost(*bodies: Callable[[CheckContext], dict[str, Any]]) -> Callable[[CheckContext, Profile], Ceiling]:
    def cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
        return sends(ctx.context_tokens, *(b(ctx) for b in bodies))

    return cost


def _with(**params: Any) -> Callable[[CheckContext], dict[str, Any]]:
    return lambda ctx: _body(ctx, **params)


@probe(TOOLS_CHECK, "tools", "prompt", when=_tools_documented, cost=_cost(_with(tools=TOOLS), _with()))
async def tools_probe(ctx: CheckContext) -> Finding:
    with_tools, without = await asyncio.gather(_control(ctx), ctx.send(_body(ctx)))
    judgement = judge_tools_reach_prompt(Contrast(probe=with_tools, control=without))
    return Finding(judgement, [without, with_tools], TOOLS)


@probe(
    TOOLS_CHECK,
    "tool_choice",
    "function",
    when=_named,
    cost=_cost(_with(tools=TOOLS), *(_with(tools=TOOLS, tool_choice=forcing(name)) for name in PARAMETERS)),
)
async def forced_probe(ctx: CheckContext) -> Finding:
    names = list(PARAMETERS)
    control, *answers = await asyncio.gather(
        _control(ctx), *(ctx.send(_body(ctx, tools=TOOLS, tool_choice=forcing(name))) for name in names)
    )
    forced = Forced(forced=dict(zip(names, answers, strict=True)), control=control)
    judgement = judge_forced_function(forced, PARAMETERS, TOOL_TOKENS)
    return Finding(judgement, [control, *answers], forcing(names[0]))


@probe(
    TOOLS_CHECK,
    "tool_choice",
    "required",
    when=_documents_choice("required"),
    cost=_cost(_with(tools=TOOLS), _with(tools=TOOLS, tool_choice="required")),
)
async def required_probe(ctx: CheckContext) -> Finding:
    control, required = await asyncio.gather(_control(ctx), ctx.send(_body(ctx, tools=TOOLS, tool_choice="required")))
    judgement = judge_required(Contrast(probe=required, control=control), PARAMETERS, TOOL_TOKENS)
    return Finding(judgement, [control, required], "required")


@probe(
    TOOLS_CHECK,
    "tool_choice",
    "none",
    when=_documents_choice("none"),
    cost=_cost(_with(tools=TOOLS), _with(tools=TOOLS, tool_choice="none")),
)
async def none_probe(ctx: CheckContext) -> Finding:
    control, none = await asyncio.gather(_control(ctx), ctx.send(_body(ctx, tools=TOOLS, tool_choice="none")))
    judgement = judge_none(Contrast(probe=none, control=control))
    return Finding(judgement, [control, none], "none")


def _call_forcing(ctx: CheckContext) -> Any:
    """The documented tool_choice that must produce a call: "required", else a named function."""
    if documents(ctx, "tool_choice", "required"):
        return "required"
    return forcing(next(iter(PARAMETERS)))


def _parallel_cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
    choice = _call_forcing(ctx)
    bodies = (_body(ctx, tools=TOOLS, tool_choice=choice, parallel_tool_calls=flag) for flag in (False, True))
    return sends(ctx.context_tokens, *bodies)


@probe(TOOLS_CHECK, "parallel_tool_calls", "effect", when=_calls_in_parallel, cost=_parallel_cost)
async def parallel_probe(ctx: CheckContext) -> Finding:
    choice = _call_forcing(ctx)
    single, multiple = await asyncio.gather(
        *(ctx.send(_body(ctx, tools=TOOLS, tool_choice=choice, parallel_tool_calls=flag)) for flag in (False, True))
    )
    judgement = judge_parallel(Contrast(probe=single, control=multiple))
    return Finding(judgement, [multiple, single], False)


@probe(
    TOOLS_CHECK,
    "stream",
    "tool-calls",
    when=lambda ctx: _named(ctx) and documents(ctx, "stream", True),
    cost=_cost(
        _with(tools=TOOLS, tool_choice=forcing(next(iter(PARAMETERS)))),
        _with(tools=TOOLS, tool_choice=forcing(next(iter(PARAMETERS))), stream=True),
    ),
)
async def streamed_calls_probe(ctx: CheckContext) -> Finding:
    choice = forcing(next(iter(PARAMETERS)))
    plain, streamed = await asyncio.gather(
        ctx.send(_body(ctx, tools=TOOLS, tool_choice=choice)),
        ctx.send(_body(ctx, tools=TOOLS, tool_choice=choice, stream=True)),
    )
    judgement = judge_streamed_calls(StreamPair(plain=plain, streamed=streamed), PARAMETERS)
    return Finding(judgement, [plain, streamed], True)


# --- robustness: shapes users send that the probes above do not (issue 31) ---------------
# Each must be accepted with a reply a client can use, or refused with a validation error;
# never a 500. Judged as a range case against its documented expectation. Only in a whole run.

NO_PARAMETERS: Final = {"type": "function", "function": {"name": "ping", "description": "ping the server"}}
NON_ASCII: Final = {
    "type": "function",
    "function": {
        "name": "set_size",
        "description": "set the Größe",
        "parameters": {
            "type": "object",
            "properties": {"größe": {"type": "integer", "minimum": 1, "maximum": 9}},
            "required": ["größe"],
            "additionalProperties": False,
        },
    },
}
WITH_ID: Final = {
    "type": "function",
    "function": {
        "name": "set_colour",
        "description": "set colour",
        "parameters": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://example.com/schemas/set_colour.json",
            **PARAMETERS["set_colour"],
        },
    },
}
# Two properties whose sorted order is not the declared one: a gateway that sorts them shows.
ORDER: Final = ("zulu", "alpha")


def _ordered(order: tuple[str, ...]) -> dict[str, Any]:
    digit = {"type": "integer", "minimum": 1, "maximum": 9}
    parameters = {
        "type": "object",
        "properties": dict.fromkeys(order, digit),
        "required": list(order),
        "additionalProperties": False,
    }
    return {"type": "function", "function": {"name": "set_point", "parameters": parameters, "strict": True}}


CALL_ID: Final = "call_harness_1"
SHAPE_TOKENS: Final = 16


def _history(arguments: Any = '{"colour": "red"}', tool_call_id: Any = CALL_ID) -> list[dict[str, Any]]:
    """A conversation after one call to set_colour and its result; ``arguments`` or the tool
    message's ``tool_call_id`` left out where given as None."""
    function: dict[str, Any] = {"name": "set_colour"}
    if arguments is not None:
        function["arguments"] = arguments
    result: dict[str, Any] = {"role": "tool", "content": "done"}
    if tool_call_id is not None:
        result["tool_call_id"] = tool_call_id
    call = {"id": CALL_ID, "type": "function", "function": function}
    return [
        {"role": "user", "content": "Set the colour to red."},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        result,
    ]


HISTORIES: Final = {
    "(history: arguments truncated)": _history(arguments='{"colour": "re'),
    "(history: arguments an object)": _history(arguments={"colour": "red"}),
    "(history: arguments missing)": _history(arguments=None),
    "(history: tool message without tool_call_id)": _history(tool_call_id=None),
}


def _whole_run(ctx: CheckContext) -> bool:
    return ctx.params is None and _tools_documented(ctx)


async def _shape(ctx: CheckContext, param: str, body: dict[str, Any]) -> Finding:
    """One shape, sent as is and judged against the surface's documented expectation."""
    exchange = await ctx.send(body)
    plain = await ctx.send(base_body(ctx.model)) if exchange.client_error else None
    expect, reason = MatrixBuilder(ctx.surface, ctx.model).expectation(body, "shape")
    judged, quality = judge_case(
        param, expect, reason, exchange, refusal_statuses=ctx.surface.refusal_statuses, plain=plain
    )
    return Finding(
        judge_tool_shape(judged, exchange),
        [*([plain] if plain else []), exchange],
        spent=[exchange],
        notes={"error_envelope": quality} if quality else {},
        expect=expect,
    )


def _shape_cost(*bodies: Callable[[CheckContext], dict[str, Any]]) -> Callable[[CheckContext, Profile], Ceiling]:
    """A shape's requests and the plain one (sent after a refusal, once per run)."""
    return _cost(*bodies, lambda ctx: base_body(ctx.model))


def _history_bodies(ctx: CheckContext, param: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shape (a history) and its well-formed control."""
    # What the model answers does not matter here: a few tokens show the reply is usable.
    body = probe_body(ctx, temperature=0.0, max_tokens=SHAPE_TOKENS, tools=TOOLS)
    return {**body, "messages": HISTORIES[param]}, {**body, "messages": _history()}


def _history_probe(param: str) -> None:
    @probe(
        TOOLS_CHECK,
        param,
        "accepted",
        when=_whole_run,
        cost=_shape_cost(lambda ctx: _history_bodies(ctx, param)[0], lambda ctx: _history_bodies(ctx, param)[1]),
    )
    async def history_probe(ctx: CheckContext) -> Finding:
        body, well_formed = _history_bodies(ctx, param)
        found, control = await asyncio.gather(_shape(ctx, param, body), ctx.send(well_formed))
        # The control comes first in the evidence: the reproducer stays the shape's own request.
        judgement = against_well_formed(found.judgement, control)
        return replace(found, judgement=judgement, exchanges=[control, *found.exchanges])


for _param in HISTORIES:
    _history_probe(_param)


def _forcing_documented(ctx: CheckContext) -> bool:
    return _whole_run(ctx) and _named(ctx)


@probe(
    TOOLS_CHECK,
    "(tool: non-ASCII property)",
    "accepted",
    when=_forcing_documented,
    cost=_shape_cost(_with(tools=[NON_ASCII], tool_choice=forcing("set_size"))),
)
async def non_ascii_probe(ctx: CheckContext) -> Finding:
    body = _body(ctx, tools=[NON_ASCII], tool_choice=forcing("set_size"))
    return await _shape(ctx, "(tool: non-ASCII property)", body)


@probe(
    TOOLS_CHECK,
    "(tool: $id in parameters)",
    "accepted",
    when=_forcing_documented,
    cost=_shape_cost(_with(tools=[WITH_ID], tool_choice=forcing("set_colour"))),
)
async def schema_id_probe(ctx: CheckContext) -> Finding:
    body = _body(ctx, tools=[WITH_ID], tool_choice=forcing("set_colour"))
    return await _shape(ctx, "(tool: $id in parameters)", body)


def _no_parameters(ctx: CheckContext) -> dict[str, Any]:
    return probe_body(ctx, temperature=0.0, max_tokens=SHAPE_TOKENS, tools=[NO_PARAMETERS], tool_choice=forcing("ping"))


@probe(
    TOOLS_CHECK,
    "(tool: no parameters)",
    "called",
    when=lambda ctx: _forcing_documented(ctx) and documents(ctx, "stream", True),
    cost=_cost(_no_parameters, lambda ctx: {**_no_parameters(ctx), "stream": True}),
)
async def no_parameters_probe(ctx: CheckContext) -> Finding:
    # A call without arguments is a few tokens; a short stream also stays within one second, so
    # its chunks' `created` cannot differ for the letter's stream-header kind to count.
    body = _no_parameters(ctx)
    plain, streamed = await asyncio.gather(ctx.send(body), ctx.send({**body, "stream": True}))
    return Finding(judge_called(StreamPair(plain=plain, streamed=streamed), "ping"), [plain, streamed])


def _key_order_cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
    # Sent in their own key order: the two are two requests, though equal as canonical JSON.
    body = _body(ctx, tools=[_ordered(ORDER)], tool_choice=forcing("set_point"))
    return fresh(ctx.context_tokens, body, 2)


@probe(TOOLS_CHECK, "(tool: key order)", "kept", when=_forcing_documented, cost=_key_order_cost)
async def key_order_probe(ctx: CheckContext) -> Finding:
    # One after the other: a cassette tells the two apart by the order they were sent only.
    forward = await ctx.send(_body(ctx, tools=[_ordered(ORDER)], tool_choice=forcing("set_point")), ordered=True)
    reverse = _body(ctx, tools=[_ordered(ORDER[::-1])], tool_choice=forcing("set_point"))
    backward = await ctx.send(reverse, ordered=True)
    judgement = judge_key_order(KeyOrder(forward=forward, backward=backward), ORDER)
    return Finding(judgement, [forward, backward], list(ORDER))


@probe(
    TOOLS_CHECK,
    "(tool: call ids)",
    "unique",
    when=lambda ctx: _whole_run(ctx) and _documents_choice("required")(ctx),
    cost=_cost(_with(tools=TOOLS, tool_choice="required")),
)
async def call_ids_probe(ctx: CheckContext) -> Finding:
    # The request of the "required" probe: no request of its own.
    exchange = await ctx.send(_body(ctx, tools=TOOLS, tool_choice="required"))
    return Finding(judge_call_ids(exchange), [exchange])
