"""Tool-call agreement with a reference (issue 29, K2 Vendor Verifier's method): a fixed,
versioned set of tool prompts (``data/tool-prompts.v1.json``: one tool, several tools, a tool
without parameters, an enum argument, nested arguments), each sent with ``tool_choice`` auto,
required and forced, ``REPEATS`` times without a seed so that a column's run-to-run spread can
be measured. Each answer's record keeps what it holds (``judges.tool_agreement.observe``); the
trigger F1, schema and name accuracy against the reference, and the threshold from the
reference's own spread, are computed when grading (``harness.reporting.reference``).

Not enabled by default: it runs on the columns of a graded pair (``--reference``), or when
named (``--checks tool-agreement``)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Final

from harness.checks.cost import Ceiling, fresh, sends
from harness.checks.findings import Finding
from harness.checks.judges.profile import Profile
from harness.checks.judges.tool_agreement import judge_tool_answer, observe
from harness.checks.plans.common import OMIT, documents, probe_body
from harness.checks.registry import CHECKS, CheckContext, probe, probes_check

PROMPTS_FILE: Final = "tool-prompts.v1.json"
PROMPTS: Final[dict[str, Any]] = json.loads(
    resources.files("harness.checks").joinpath("data", PROMPTS_FILE).read_text(encoding="utf-8")
)
VERSION: Final[str] = PROMPTS["version"]
CHOICES: Final = ("auto", "required", "forced")
REPEATS: Final = 3  # answers per prompt and choice: the spread is measured between them
TOOL_TOKENS: Final = 120
PARAM: Final = "tools"

TOOL_AGREEMENT = probes_check(__name__, "tool-agreement", "tool calls compared with a reference's")
CHECKS[TOOL_AGREEMENT].enabled = False  # sent for a graded pair, or when asked by name


def _tools(prompt: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": tool} for tool in prompt["tools"]]


def _choice(prompt: dict[str, Any], choice: str) -> Any:
    if choice == "forced":
        return {"type": "function", "function": {"name": prompt["forced"]}}
    return choice


def _applies(prompt: dict[str, Any], choice: str) -> Any:
    return lambda ctx: (
        documents(ctx, "tools", _tools(prompt)) and documents(ctx, "tool_choice", _choice(prompt, choice))
    )


def _declare(prompt: dict[str, Any], choice: str, repeat: int) -> None:
    label = f"{VERSION}.{prompt['id']}.{choice}.r{repeat}"
    parameters = {tool["name"]: tool["parameters"] for tool in prompt["tools"]}
    forced = prompt["forced"] if choice == "forced" else None

    def body_of(ctx: CheckContext) -> dict[str, Any]:
        return probe_body(
            ctx,
            seed=OMIT,  # unseeded: the repeats are what measures a column's own spread
            max_tokens=TOOL_TOKENS,
            messages=[{"role": "user", "content": prompt["user"]}],
            tools=_tools(prompt),
            tool_choice=_choice(prompt, choice),
        )

    def cost(ctx: CheckContext, _profile: Profile) -> Ceiling:
        # The first repeat is shared with any identical request; the others are fresh.
        body = body_of(ctx)
        return fresh(ctx.context_tokens, body, 1) if repeat else sends(ctx.context_tokens, body)

    @probe(TOOL_AGREEMENT, PARAM, label, when=_applies(prompt, choice), cost=cost)
    async def answer(ctx: CheckContext) -> Finding:
        body = body_of(ctx)
        # Each repeat is its own request (fresh), replayed in the order recorded.
        exchange = await ctx.send(body, fresh=repeat > 0)
        notes = {
            "tool_agreement": {
                "version": VERSION,
                "prompt": prompt["id"],
                "choice": choice,
                "repeat": repeat,
                **observe(exchange, parameters, forced),
            }
        }
        return Finding(judge_tool_answer(exchange, parameters, forced), [exchange], choice, notes=notes)


for _prompt in PROMPTS["prompts"]:
    for _choice_name in CHOICES:
        for _repeat in range(REPEATS):
            _declare(_prompt, _choice_name, _repeat)
