"""The live check of a Data Designer config: the requests Data Designer would send (each end
of every distribution, plus seeded samples), run with the config's own concurrency and
timeout, judged by the range, passthrough, determinism and embeddings checks, restricted to
exactly the values and extra_body keys the config uses."""

from __future__ import annotations

import dataclasses
import random
import zlib
from functools import partial
from typing import Any

from harness.checks import CheckContext
from harness.checks.cost import Ceiling
from harness.checks.determinism import determinism_cost, determinism_probe
from harness.checks.embeddings import dimensions_cost, dimensions_probe, encoding_cost, encoding_probe
from harness.checks.findings import Finding
from harness.checks.judges import Judgement
from harness.checks.judges.profile import Profile
from harness.checks.passthrough import enum_passthrough, enum_passthrough_cost
from harness.checks.plans.common import EFFECTS
from harness.checks.plans.proofs import sampling_effect, sampling_effect_cost
from harness.checks.ranges import range_acceptance
from harness.checks.registry import Unit, unit_of
from harness.datadesigner.config import (
    DROPPED_KEYS,
    ConfigFile,
    extremes,
    generation_type,
    merged_extra_body,
    sample,
)
from harness.datadesigner.requests import Target, built_request, health_check
from harness.engine import build_record
from harness.generation import OMITTED, Case
from harness.generation.matrix import MatrixBuilder
from harness.results import Record, Verdict
from harness.schema import Surface
from harness.transport import Exchange, Outcome

SAMPLES = 4  # seeded draws per distribution, beside its ends
MAX_TOKENS_CAP = 32  # a config's max_tokens is sent as is once; samples are capped to stay cheap
DEFAULT_TOKENS = 16


def _values(value: Any) -> list[Any]:
    return [None] if value is None else extremes(value)


def chat_cases(config: ConfigFile, model: Any, surface: Surface) -> list[Case]:
    """Each end of every distribution and seeded draws, each request built by Data Designer's
    own facade (its messages, its extra_body merge); max_tokens is the config's on the first
    and capped after it (16 where the config sets none: it would send none)."""
    params = model.inference_parameters
    builder = MatrixBuilder(surface, model.model)
    rng = random.Random(zlib.crc32(model.alias.encode()))  # a seed per alias: the same samples every run
    draws: list[tuple[str, dict[str, Any]]] = []
    ends = {"temperature": _values(params.temperature), "top_p": _values(params.top_p)}
    for name, points in ends.items():
        for i, point in enumerate(points):
            other = "top_p" if name == "temperature" else "temperature"
            draws.append((f"{name}-point{i}", {name: point, other: ends[other][0]}))
    for i in range(SAMPLES):
        drawn: dict[str, Any] = {}
        for name in ("temperature", "top_p"):
            value = getattr(params, name)
            drawn[name] = None if value is None else sample(value, rng)
        draws.append((f"sample{i}", drawn))
    cases = []
    for i, (label, values) in enumerate(draws):
        tokens = params.max_tokens or DEFAULT_TOKENS
        call: dict[str, Any] = {"max_tokens": tokens if i == 0 else min(tokens, MAX_TOKENS_CAP)}
        call.update({k: round(v, 6) for k, v in values.items() if v is not None})
        body = built_request(config, model, **call)
        cases.append(builder.case_of(f"config:{model.alias}", label, OMITTED, body))
    return cases


def units_for(ctx: CheckContext, config: ConfigFile, model: Any) -> list[tuple[str, Unit]]:
    """Every (check, unit) that judges exactly what ``model`` sends."""
    params = model.inference_parameters
    extra = {k: v for k, v in merged_extra_body(model, config.providers).items() if k not in DROPPED_KEYS}
    prefix = f"config.{model.alias}"
    units: list[tuple[str, Unit]] = []
    # Each unit's ceiling is its probe's own (the function the registry's declaration names) at
    # the config's values: a budget admits these units as it admits a run's.
    if generation_type(model) == "embedding":
        if params.encoding_format == "base64":
            make = partial(encoding_probe, ctx)
            spent = partial(encoding_cost, ctx)
            unit = unit_of(f"{prefix}.encoding_format", "embeddings", "encoding_format", "base64", make, spent)
            units.append(("embeddings", unit))
        if params.dimensions is not None:
            sized = partial(dimensions_probe, ctx, params.dimensions)
            spent = partial(dimensions_cost, ctx, size=params.dimensions)
            units.append(
                ("embeddings", unit_of(f"{prefix}.dimensions", "embeddings", "dimensions", "effect", sized, spent))
            )
        return units
    if generation_type(model) != "chat-completion":
        return units  # image generation: nothing a chat endpoint can probe
    ctx.cases = chat_cases(config, model, ctx.surface)
    units.extend(("range", unit) for unit in range_acceptance(ctx))
    for key, value in extra.items():
        param = ctx.surface.parameters.get(key)
        if key in EFFECTS:
            # Undocumented keys too: "accepted and silently dropped" is what a config author must learn.
            check = "effect" if param is not None and param.placement == "standard" else "passthrough"
            # The provider's own default cannot change anything: then prove the key another way.
            probe_value = None if param is not None and param.has_default and value == param.default else value
            effect = partial(_effect, ctx, key, probe_value)
            spent = partial(_effect_cost, ctx, key, probe_value)
            units.append((check, unit_of(f"{prefix}.{key}", check, key, "effect", effect, spent)))
        elif param is not None and "enum" in param.schema:
            accepted = partial(enum_passthrough, ctx, key, value)
            once = partial(enum_passthrough_cost, ctx, key, value=value)
            units.append(("passthrough", unit_of(f"{prefix}.{key}", "passthrough", key, "accepted", accepted, once)))
    if "seed" in ctx.surface.parameters:
        repeated = partial(determinism_probe, ctx)
        spent = partial(determinism_cost, ctx)
        units.append(
            ("determinism", unit_of(f"{prefix}.determinism", "determinism", "seed", "repeat", repeated, spent))
        )
    return units


def _effect_cost(ctx: CheckContext, key: str, value: Any, profile: Profile) -> Ceiling:
    """``_effect``'s: the config's value probed, and where it changes nothing, the probe's own."""
    cost = sampling_effect_cost(ctx, key, profile, value)
    return cost if value is None else cost + sampling_effect_cost(ctx, key, profile)


async def _effect(ctx: CheckContext, key: str, value: Any) -> Finding:
    result = await sampling_effect(ctx, key, value)
    if result.judgement.verdict is not Verdict.IGNORED or value is None:
        return result
    # No change at the config's value: is the key dropped, or is the value the server's default?
    proof = await sampling_effect(ctx, key)
    if proof.judgement.verdict is not Verdict.HONOURED:
        return result
    judgement = Judgement(
        Verdict.INCONCLUSIVE,
        f"{key} is honoured ({proof.judgement.detail.split(',')[0]}), but the config's {key}={value} changes "
        "nothing: it probably equals the provider's own default",
    )
    spent = [*(result.exchanges if result.spent is None else result.spent)]
    spent += proof.exchanges if proof.spent is None else proof.spent
    return Finding(judgement, [*result.exchanges, *proof.exchanges], value, spent=spent)


USABLE = "config-usable"


def health_record(config: ConfigFile, model: Any, target: Target, provider: str, surface: Surface) -> Record:
    """Can Data Designer use this provider's answers for ``model``? Its own health check
    decides (run even where the config sets skip_health_check: the data would fail instead)."""
    checked = dataclasses.replace(
        config,
        models=[
            m.model_copy(update={"skip_health_check": False}) if m.alias == model.alias else m for m in config.models
        ],
    )
    result = health_check(checked, next(m for m in checked.models if m.alias == model.alias), target)
    lost = [e for e in result.exchanges if e.outcome is not Outcome.RESPONSE]
    broken = [e for e in result.exchanges if e.server_error]
    if result.passed:
        verdict, detail = Verdict.ACCEPTED, "Data Designer's own health check passes on these answers"
    elif lost or not result.exchanges:
        # Not an answer Data Designer refused: no answer at all.
        why = lost[0].error if lost else "no request reached the provider"
        verdict, detail = Verdict.TRANSPORT_ERROR, f"Data Designer's own health check got no answer: {why}"
    elif broken:
        verdict, detail = (
            Verdict.SERVER_ERROR,
            (f"Data Designer's own health check fails on HTTP {broken[0].status}: {broken[0].excerpt(160)}"),
        )
    else:
        verdict, detail = Verdict.REJECTED, f"Data Designer's own health check fails: {result.message}"
        if any(_string_embedding(e) for e in result.exchanges):
            detail += (
                " (the embedding came back as a base64 string; Data Designer keeps an embedding only if it "
                "is a JSON list, engine/models/clients/parsing.py, so every vector it reads is empty)"
            )
    finding = Finding(
        Judgement(verdict, f"[{model.alias}] {detail}"),
        result.exchanges,
        check=USABLE,
        param="(health check)",
        label=model.alias,
        case_id=f"{USABLE}.{model.alias}",
    )
    return build_record(finding, provider=provider, surface=surface, base_url=target.base_url)


def _string_embedding(exchange: Exchange) -> bool:
    data = exchange.json.get("data") if isinstance(exchange.json, dict) else None
    return isinstance(data, list) and any(isinstance(d, dict) and isinstance(d.get("embedding"), str) for d in data)
