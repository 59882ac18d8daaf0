"""Tool-calling probes: two small tools, greedy decoding, and for each ``tool_choice`` value
the same request without it (or under another value) as the control. Sends only what the
surface documents; ``harness.checks.judges.tools`` decides."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from harness.checks.judges.tools import (
    judge_forced_function,
    judge_none,
    judge_parallel,
    judge_required,
    judge_streamed_calls,
    judge_tools_reach_prompt,
)
from harness.checks.probing import documents, probe_body, record
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record

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


def forcing(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def _body(ctx: CheckContext, **params: Any) -> dict[str, Any]:
    return probe_body(ctx, temperature=0.0, max_tokens=TOOL_TOKENS, **params)


async def _control(ctx: CheckContext) -> Any:
    """The tools without tool_choice: what every tool_choice value is compared with."""
    return await ctx.send(_body(ctx, tools=TOOLS))


async def tools_probe(ctx: CheckContext) -> list[Record]:
    with_tools, without = await asyncio.gather(_control(ctx), ctx.send(_body(ctx)))
    judgement = judge_tools_reach_prompt(with_tools, without, ctx.provider)
    return [record(ctx, "tools", "tools", judgement, [without, with_tools], "prompt", TOOLS)]


async def forced_probe(ctx: CheckContext) -> list[Record]:
    names = list(PARAMETERS)
    control, *answers = await asyncio.gather(
        _control(ctx), *(ctx.send(_body(ctx, tools=TOOLS, tool_choice=forcing(name))) for name in names)
    )
    judgement = judge_forced_function(
        dict(zip(names, answers, strict=True)), control, PARAMETERS, TOOL_TOKENS, ctx.provider
    )
    return [record(ctx, "tools", "tool_choice", judgement, [control, *answers], "function", forcing(names[0]))]


async def required_probe(ctx: CheckContext) -> list[Record]:
    control, required = await asyncio.gather(_control(ctx), ctx.send(_body(ctx, tools=TOOLS, tool_choice="required")))
    judgement = judge_required(required, control, PARAMETERS, TOOL_TOKENS, ctx.provider)
    return [record(ctx, "tools", "tool_choice", judgement, [control, required], "required", "required")]


async def none_probe(ctx: CheckContext) -> list[Record]:
    control, none = await asyncio.gather(_control(ctx), ctx.send(_body(ctx, tools=TOOLS, tool_choice="none")))
    judgement = judge_none(none, control, ctx.provider)
    return [record(ctx, "tools", "tool_choice", judgement, [control, none], "none", "none")]


def _call_forcing(ctx: CheckContext) -> Any:
    """The documented tool_choice that must produce a call: "required", else a named function."""
    if documents(ctx, "tool_choice", "required"):
        return "required"
    return forcing(next(iter(PARAMETERS)))


async def parallel_probe(ctx: CheckContext) -> list[Record]:
    choice = _call_forcing(ctx)
    single, multiple = await asyncio.gather(
        *(ctx.send(_body(ctx, tools=TOOLS, tool_choice=choice, parallel_tool_calls=flag)) for flag in (False, True))
    )
    judgement = judge_parallel(single, multiple, ctx.provider)
    return [record(ctx, "tools", "parallel_tool_calls", judgement, [multiple, single], "effect", False)]


async def streamed_calls_probe(ctx: CheckContext) -> list[Record]:
    choice = forcing(next(iter(PARAMETERS)))
    plain, streamed = await asyncio.gather(
        ctx.send(_body(ctx, tools=TOOLS, tool_choice=choice)),
        ctx.send(_body(ctx, tools=TOOLS, tool_choice=choice, stream=True)),
    )
    judgement = judge_streamed_calls(plain, streamed, PARAMETERS, ctx.provider)
    return [record(ctx, "tools", "stream", judgement, [plain, streamed], "tool-calls", True)]


@check("tools", "tool calling does what tools and tool_choice ask")
def tool_calling(ctx: CheckContext) -> list[Unit]:
    if not documents(ctx, "tools", TOOLS):
        return []
    probes: list[tuple[str, str, Callable[[], Awaitable[list[Record]]]]] = [
        ("tools.prompt", "tools", lambda: tools_probe(ctx))
    ]
    named = documents(ctx, "tool_choice", forcing(next(iter(PARAMETERS))))
    if named:
        probes.append(("tools.tool_choice.function", "tool_choice", lambda: forced_probe(ctx)))
    if documents(ctx, "tool_choice", "required"):
        probes.append(("tools.tool_choice.required", "tool_choice", lambda: required_probe(ctx)))
    if documents(ctx, "tool_choice", "none"):
        probes.append(("tools.tool_choice.none", "tool_choice", lambda: none_probe(ctx)))
    calls = named or documents(ctx, "tool_choice", "required")
    if calls and documents(ctx, "parallel_tool_calls", False):
        probes.append(("tools.parallel_tool_calls", "parallel_tool_calls", lambda: parallel_probe(ctx)))
    if named and documents(ctx, "stream", True):
        probes.append(("tools.stream", "stream", lambda: streamed_calls_probe(ctx)))
    return [Unit(uid, param, run) for uid, param, run in probes if ctx.wants(param)]
