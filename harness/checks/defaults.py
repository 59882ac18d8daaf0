"""Documented defaults: omitting a parameter must behave like sending its documented default,
*and unlike* the values other surfaces document or engines commonly use. The plan searches
probe configurations (seed, length, temperature) until one tells the documented default apart
from every alternative, or says which values no probe could tell apart."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

from harness import paths
from harness.checks import seedfree
from harness.checks.judges import text_of
from harness.checks.judges.sampling import DefaultTrial, judge_default, undecided_alternatives
from harness.checks.probing import (
    EFFECTS,
    INERT_EXTRA_TOKENS,
    OMIT,
    OTHER_SEEDS,
    PROBE_SEED,
    baseline,
    documents,
    probe_body,
    provider_profile,
    record,
)
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record
from harness.schema import load_catalogue

# Values servers commonly default to, tried after the other surfaces' documented defaults.
COMMON_DEFAULTS: dict[str, list[float]] = {
    "temperature": [1.0, 0.8, 0.7, 0.6, 0.2],
    "top_p": [1.0, 0.95, 0.9],
    "top_k": [0, 40, 50, 20],
    "min_p": [0.0, 0.05, 0.1],
    "repetition_penalty": [1.0, 1.1],
    "repeat_penalty": [1.0, 1.1],
    "frequency_penalty": [0.0],
    "presence_penalty": [0.0],
}


@dataclass(frozen=True)
class ProbeConfig:
    temperature: float | None  # None: the parameter under test is temperature itself
    seed: int
    max_tokens: int

    @property
    def label(self) -> str:
        shown = "" if self.temperature is None else f"temperature {self.temperature:g}, "
        return f"{shown}seed {self.seed}, {self.max_tokens} tokens"


@cache
def _documented_defaults(folders: tuple[Path, ...]) -> dict[str, tuple[Any, ...]]:
    """Every surface's numeric documented defaults, by parameter: the catalogue is read and
    validated once per run (per set of schema folders), not once per default unit."""
    found: dict[str, list[Any]] = {}
    for surface in load_catalogue().values():
        for name, spec in surface.parameters.items():
            if spec.has_default and isinstance(spec.default, int | float):
                found.setdefault(name, []).append(spec.default)
    return {name: tuple(values) for name, values in found.items()}


def candidate_defaults(param: str, documented: Any) -> list[Any]:
    """What the documented default must be told apart from: other surfaces' documented
    defaults, common engine defaults, and the probe's own effect value (so that a parameter
    whose every candidate equals its documented default still gets a contrast)."""
    found = [*_documented_defaults(tuple(paths.schema_dirs())).get(param, ()), *COMMON_DEFAULTS.get(param, [])]
    if param in EFFECTS:
        found.append(EFFECTS[param].value)
    unique: list[Any] = []
    for value in found:
        if value != documented and value not in unique:
            unique.append(value)
    return unique


def probe_configs(ctx: CheckContext, param: str, tokens: int) -> list[ProbeConfig]:
    """The base probe first, then configurations more likely to separate close values: other
    seeds, longer outputs, and flatter distributions (truncation parameters act more there)."""
    if param == "temperature":
        return [
            ProbeConfig(None, PROBE_SEED, tokens),
            ProbeConfig(None, OTHER_SEEDS[0], tokens * 2),
            ProbeConfig(None, OTHER_SEEDS[1], tokens * 2),
        ]
    configs = [ProbeConfig(1.0, PROBE_SEED, tokens), ProbeConfig(1.0, OTHER_SEEDS[0], tokens * 2)]
    for temperature, seed in ((1.5, OTHER_SEEDS[1]), (2.0, PROBE_SEED)):
        if documents(ctx, "temperature", temperature):
            configs.append(ProbeConfig(temperature, seed, tokens * 2))
    return configs


async def _trial(
    ctx: CheckContext, param: str, documented: Any, alternatives: list[Any], c: ProbeConfig
) -> DefaultTrial:
    def body(value: Any, max_tokens: int = c.max_tokens) -> dict[str, Any]:
        temperature = OMIT if c.temperature is None else c.temperature
        extra = {} if param == "temperature" else {"temperature": temperature}
        return probe_body(ctx, max_tokens=max_tokens, seed=c.seed, **extra, **{param: value})

    omitted, explicit, *others = await asyncio.gather(
        ctx.send(body(OMIT)), ctx.send(body(documented)), *(ctx.send(body(a)) for a in alternatives)
    )
    trial = DefaultTrial(c.label, omitted, explicit, {repr(a): e for a, e in zip(alternatives, others, strict=True)})
    if text_of(omitted) != text_of(explicit) and not any(text_of(e) == text_of(omitted) for e in others):
        # The inert control, sent only when it can matter: does any change of the request
        # change this provider's output, or only the parameter?
        trial.inert = await ctx.send(body(OMIT, c.max_tokens + INERT_EXTRA_TOKENS))
    return trial


def _settled(trials: list[DefaultTrial]) -> bool:
    """Another configuration can only help while omitted equals documented everywhere and
    some alternative is still indistinguishable from the documented default."""
    last = trials[-1]
    same = text_of(last.omitted) is not None and text_of(last.omitted) == text_of(last.documented)
    return not same or not undecided_alternatives(trials)


async def default_probe(ctx: CheckContext, param: str) -> list[Record]:
    documented = ctx.surface.parameters[param].default
    tokens = EFFECTS[param].max_tokens
    alternatives = [a for a in candidate_defaults(param, documented) if documents(ctx, param, a)]
    if (await provider_profile(ctx)).seed_free:
        return [await seedfree.default(ctx, param, documented, alternatives)]
    shared_baseline = await baseline(ctx, tokens)
    trials: list[DefaultTrial] = []
    for config in probe_configs(ctx, param, tokens):
        undecided = set(undecided_alternatives(trials)) if trials else {repr(a) for a in alternatives}
        trials.append(await _trial(ctx, param, documented, [a for a in alternatives if repr(a) in undecided], config))
        if shared_baseline.text != text_of(shared_baseline.again) or _settled(trials):
            break
    judgement = judge_default(param, documented, shared_baseline, trials, ctx.provider)
    sent = [*shared_baseline.exchanges(), *(e for t in trials for e in t.exchanges())]
    return [record(ctx, "default", param, judgement, sent, "default", documented, mode="seeded")]


@check("default", "omitting a parameter behaves like its documented default, and unlike the alternatives")
def documented_defaults(ctx: CheckContext) -> list[Unit]:
    units = []
    for name, param in ctx.surface.parameters.items():
        if name in EFFECTS and param.has_default and isinstance(param.default, int | float) and ctx.wants(name):
            units.append(Unit(f"default.{name}", name, partial(default_probe, ctx, name)))
    return units
