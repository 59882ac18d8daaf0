"""The live check of a Data Designer config: the requests Data Designer would send (each end
of every distribution, plus seeded samples), run with the config's own concurrency and
timeout, judged by the range, passthrough, determinism and embeddings checks, restricted to
exactly the values and extra_body keys the config uses."""

from __future__ import annotations

import random
import zlib
from functools import partial
from typing import Any

from harness.checks import CheckContext
from harness.checks.determinism import determinism_probe
from harness.checks.embeddings import dimensions_probe, encoding_probe
from harness.checks.passthrough import enum_passthrough
from harness.checks.probing import EFFECTS, sampling_effect
from harness.checks.ranges import range_acceptance
from harness.checks.registry import Unit
from harness.datadesigner.config import (
    ChatCompletionInferenceParams,
    ConfigFile,
    EmbeddingInferenceParams,
    ModelConfig,
    merged_extra_body,
)
from harness.generation import OMITTED, Case
from harness.generation.matrix import MatrixBuilder
from harness.results import Record, Verdict
from harness.schema import Surface

SAMPLES = 4  # seeded draws per distribution, beside its ends
MAX_TOKENS_CAP = 32  # a config's max_tokens is sent as is once; samples are capped to stay cheap


def _values(value: Any) -> list[Any]:
    if value is None:
        return [None]
    return [value] if isinstance(value, int | float) else value.extremes()


def chat_cases(model: ModelConfig, surface: Surface, extra: dict[str, Any]) -> list[Case]:
    params = model.inference_parameters
    assert isinstance(params, ChatCompletionInferenceParams)
    builder = MatrixBuilder(surface, model.model)
    rng = random.Random(zlib.crc32(model.alias.encode()))  # a seed per alias: the same samples every run
    draws: list[tuple[str, dict[str, Any]]] = []
    ends = {"temperature": _values(params.temperature), "top_p": _values(params.top_p)}
    for name, points in ends.items():
        for i, point in enumerate(points):
            other = "top_p" if name == "temperature" else "temperature"
            draws.append((f"{name}-point{i}", {name: point, other: ends[other][0]}))
    for i in range(SAMPLES):
        sample = {}
        for name in ("temperature", "top_p"):
            value = getattr(params, name)
            sample[name] = value if value is None or isinstance(value, int | float) else value.sample(rng)
        draws.append((f"sample{i}", sample))
    cases = []
    for i, (label, sample) in enumerate(draws):
        tokens = params.max_tokens or 16
        fields: dict[str, Any] = {"max_tokens": tokens if i == 0 else min(tokens, MAX_TOKENS_CAP)}
        fields.update({k: round(v, 6) for k, v in sample.items() if v is not None})
        fields.update(extra)  # Data Designer merges extra_body last
        cases.append(builder.case(f"config:{model.alias}", label, OMITTED, fields))
    return cases


def units_for(ctx: CheckContext, config: ConfigFile, model: ModelConfig) -> list[tuple[str, Unit]]:
    """Every (check, unit) that judges exactly what ``model`` sends."""
    params = model.inference_parameters
    extra = merged_extra_body(model, config.providers)
    prefix = f"config.{model.alias}"
    units: list[tuple[str, Unit]] = []
    if isinstance(params, EmbeddingInferenceParams):
        if params.encoding_format == "base64":
            units.append(
                (
                    "embeddings",
                    Unit(f"{prefix}.encoding_format", "encoding_format", partial(encoding_probe, ctx)),
                )
            )
        if params.dimensions is not None:
            units.append(
                (
                    "embeddings",
                    Unit(
                        f"{prefix}.dimensions",
                        "dimensions",
                        partial(dimensions_probe, ctx, params.dimensions),
                    ),
                )
            )
        return units
    if not isinstance(params, ChatCompletionInferenceParams):
        return units  # image generation: nothing a chat endpoint can probe
    ctx.cases = chat_cases(model, ctx.surface, extra)
    units.extend(("range", unit) for unit in range_acceptance(ctx))
    for key, value in extra.items():
        param = ctx.surface.parameters.get(key)
        if key in EFFECTS:
            # Undocumented keys too: "accepted and silently dropped" is what a config author must learn.
            check = "effect" if param is not None and param.placement == "standard" else "passthrough"
            # The provider's own default cannot change anything: then prove the key another way.
            probe_value = None if param is not None and param.has_default and value == param.default else value
            units.append((check, Unit(f"{prefix}.{key}", key, partial(_effect, ctx, check, key, probe_value))))
        elif param is not None and "enum" in param.schema:
            units.append(("passthrough", Unit(f"{prefix}.{key}", key, partial(enum_passthrough, ctx, key, value))))
    if "seed" in ctx.surface.parameters:
        units.append(("determinism", Unit(f"{prefix}.determinism", "seed", partial(determinism_probe, ctx))))
    return units


async def _effect(ctx: CheckContext, check: str, key: str, value: Any) -> list[Record]:
    result = await sampling_effect(ctx, check, key, value)
    if result.verdict is not Verdict.IGNORED or value is None:
        return [result]
    # No change at the config's value: is the key dropped, or is the value the server's default?
    proof = await sampling_effect(ctx, check, key)
    if proof.verdict is not Verdict.HONOURED:
        return [result]
    return [
        Record(
            provider=result.provider,
            surface=result.surface,
            case_id=result.case_id,
            param=key,
            check=check,
            verdict=Verdict.INCONCLUSIVE,
            detail=f"{key} is honoured ({proof.detail.split(',')[0]}), but the config's {key}={value} changes nothing: "
            "it probably equals the provider's own default",
            evidence={"config_value": result.evidence, "proof": proof.evidence},
            label=result.label,
            value=value,
            requests=result.requests + proof.requests,
            completion_tokens=result.completion_tokens + proof.completion_tokens,
        )
    ]
