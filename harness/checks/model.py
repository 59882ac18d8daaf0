"""The model name: a request naming a model nobody serves must be refused, not answered by
whatever model the server loaded (``judges.model``). Only in a whole run: the probe is about
no documented parameter."""

from __future__ import annotations

import asyncio
from typing import Final

from harness.checks.cost import sends
from harness.checks.findings import Finding
from harness.checks.judges.model import judge_unknown_model
from harness.checks.judges.shapes import Pair
from harness.checks.registry import CheckContext, probe, probes_check
from harness.generation.matrix import base_body

UNKNOWN_MODEL: Final = "harness-no-such-model-7f3a"

MODEL = probes_check(__name__, "model", "a model name the provider does not serve is refused, not served anyway")


@probe(
    MODEL,
    "(model)",
    "unknown",
    when=lambda ctx: ctx.params is None,
    cost=lambda ctx, _p: sends(ctx.context_tokens, base_body(ctx.model), base_body(UNKNOWN_MODEL)),
)
async def unknown_model_probe(ctx: CheckContext) -> Finding:
    # The plain request (model, messages, max_tokens): the one every run sends already.
    plain, unknown = await asyncio.gather(ctx.send(base_body(ctx.model)), ctx.send(base_body(UNKNOWN_MODEL)))
    judgement = judge_unknown_model(Pair(base=plain, probe=unknown), UNKNOWN_MODEL, ctx.surface.refusal_statuses)
    return Finding(judgement, [plain, unknown], UNKNOWN_MODEL)
