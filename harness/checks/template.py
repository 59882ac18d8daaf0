"""Template parameters (check ``template``): ``reasoning_effort``, ``chat_template_kwargs``
(``enable_thinking`` in it) and ``thinking`` act on the prompt the chat template renders, so
each is judged by ``usage.prompt_tokens`` against the same request without it
(``judges.template``), as the tools check judges tool definitions. Only documented values
are sent; the control is the context check's shortest prompt, one request for both."""

from __future__ import annotations

import asyncio
from typing import Any, Final

from harness.checks.cost import sends
from harness.checks.findings import Finding
from harness.checks.judges.shapes import Contrast
from harness.checks.judges.template import judge_template_param
from harness.checks.plans.common import documents, short_prompt_body
from harness.checks.registry import CheckContext, probe_each, probes_check

# The values to send, the first the surface documents: a value that changes what a template
# reading it renders (thinking switched on, a low effort: servers pass enable_thinking=false by default).
CANDIDATES: Final[dict[str, tuple[Any, ...]]] = {
    "reasoning_effort": ("low", "high"),
    "chat_template_kwargs": ({"enable_thinking": True},),
    "thinking": ({"type": "disabled"}, {"type": "enabled", "budget_tokens": 1024}, False),
}

TEMPLATE = probes_check(__name__, "template", "template parameters change the prompt the model sees")


def _value(ctx: CheckContext, param: str) -> Any:
    return next((v for v in CANDIDATES[param] if documents(ctx, param, v)), None)


def _params(ctx: CheckContext) -> list[str]:
    return [p for p in CANDIDATES if _value(ctx, p) is not None]


@probe_each(
    TEMPLATE,
    "prompt",
    _params,
    cost=lambda ctx, param, _p: sends(
        ctx.context_tokens, short_prompt_body(ctx), short_prompt_body(ctx, **{param: _value(ctx, param)})
    ),
)
async def template_probe(ctx: CheckContext, param: str) -> Finding:
    value = _value(ctx, param)
    control, probe = await asyncio.gather(
        ctx.send(short_prompt_body(ctx)), ctx.send(short_prompt_body(ctx, **{param: value}))
    )
    judgement = judge_template_param(Contrast(probe=probe, control=control), param, ctx.template_reads)
    return Finding(judgement, [control, probe], value)
