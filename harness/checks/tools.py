"""Tool-calling probes: two small tools, greedy decoding, and for each ``tool_choice`` value
the same request without it (or under another value) as the control. Sends only what the
surface documents; ``harness.checks.judges.tools`` decides."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

from harness.checks.findings import Finding
from harness.checks.judges.shapes import Contrast, StreamPair
from harness.checks.judges.tools import (
    Forced,
    judge_forced_function,
    judge_none,
    judge_parallel,
    judge_required,
    judge_streamed_calls,
    judge_tools_reach_prompt,
)
from harness.checks.plans.common import documents, probe_body
from harness.checks.registry import CheckContext, probe, probes_check

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


@probe(TOOLS_CHECK, "tools", "prompt", when=_tools_documented)
async def tools_probe(ctx: CheckContext) -> Finding:
    with_tools, without = await asyncio.gather(_control(ctx), ctx.send(_body(ctx)))
    judgement = judge_tools_reach_prompt(Contrast(probe=with_tools, control=without))
    return Finding(judgement, [without, with_tools], TOOLS)


@probe(TOOLS_CHECK, "tool_choice", "function", when=_named)
async def forced_probe(ctx: CheckContext) -> Finding:
    names = list(PARAMETERS)
    control, *answers = await asyncio.gather(
        _control(ctx), *(ctx.send(_body(ctx, tools=TOOLS, tool_choice=forcing(name))) for name in names)
    )
    forced = Forced(forced=dict(zip(names, answers, strict=True)), control=control)
    judgement = judge_forced_function(forced, PARAMETERS, TOOL_TOKENS)
    return Finding(judgement, [control, *answers], forcing(names[0]))


@probe(TOOLS_CHECK, "tool_choice", "required", when=_documents_choice("required"))
async def required_probe(ctx: CheckContext) -> Finding:
    control, required = await asyncio.gather(_control(ctx), ctx.send(_body(ctx, tools=TOOLS, tool_choice="required")))
    judgement = judge_required(Contrast(probe=required, control=control), PARAMETERS, TOOL_TOKENS)
    return Finding(judgement, [control, required], "required")


@probe(TOOLS_CHECK, "tool_choice", "none", when=_documents_choice("none"))
async def none_probe(ctx: CheckContext) -> Finding:
    control, none = await asyncio.gather(_control(ctx), ctx.send(_body(ctx, tools=TOOLS, tool_choice="none")))
    judgement = judge_none(Contrast(probe=none, control=control))
    return Finding(judgement, [control, none], "none")


def _call_forcing(ctx: CheckContext) -> Any:
    """The documented tool_choice that must produce a call: "required", else a named function."""
    if documents(ctx, "tool_choice", "required"):
        return "required"
    return forcing(next(iter(PARAMETERS)))


@probe(TOOLS_CHECK, "parallel_tool_calls", "effect", when=_calls_in_parallel)
async def parallel_probe(ctx: CheckContext) -> Finding:
    choice = _call_forcing(ctx)
    single, multiple = await asyncio.gather(
        *(ctx.send(_body(ctx, tools=TOOLS, tool_choice=choice, parallel_tool_calls=flag)) for flag in (False, True))
    )
    judgement = judge_parallel(Contrast(probe=single, control=multiple))
    return Finding(judgement, [multiple, single], False)


@probe(TOOLS_CHECK, "stream", "tool-calls", when=lambda ctx: _named(ctx) and documents(ctx, "stream", True))
async def streamed_calls_probe(ctx: CheckContext) -> Finding:
    choice = forcing(next(iter(PARAMETERS)))
    plain, streamed = await asyncio.gather(
        ctx.send(_body(ctx, tools=TOOLS, tool_choice=choice)),
        ctx.send(_body(ctx, tools=TOOLS, tool_choice=choice, stream=True)),
    )
    judgement = judge_streamed_calls(StreamPair(plain=plain, streamed=streamed), PARAMETERS)
    return Finding(judgement, [plain, streamed], True)
