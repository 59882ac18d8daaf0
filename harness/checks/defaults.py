"""Documented defaults: omitting a parameter must behave like sending its documented default,
*and unlike* the values other surfaces document or engines commonly use. The alternatives are
chosen here; the run's proof (``plans.proofs``) sends and judges them."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from harness import paths
from harness.checks.cost import Ceiling
from harness.checks.findings import Finding
from harness.checks.judges.profile import Profile
from harness.checks.plans.common import EFFECTS, documents
from harness.checks.plans.proofs import proof_cost, proof_for
from harness.checks.registry import CheckContext, probe_each, probes_check
from harness.schema import load_catalogue

DEFAULT = probes_check(
    __name__, "default", "omitting a parameter behaves like its documented default, and unlike the alternatives"
)

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


def candidate_defaults(param: str, documented: Any, model: Any = None) -> list[Any]:
    """What the documented default must be told apart from: other surfaces' documented
    defaults, common engine defaults, the probe's own effect value (so that a parameter
    whose every candidate equals its documented default still gets a contrast), and last the
    served model's own value (its generation_config.json), where the provider states one."""
    found = [*_documented_defaults(tuple(paths.schema_dirs())).get(param, ()), *COMMON_DEFAULTS.get(param, [])]
    if param in EFFECTS:
        found.append(EFFECTS[param].value)
    if model is not None:
        # Last, so a column without model defaults sends exactly the requests it always did.
        found.append(model)
    unique: list[Any] = []
    for value in found:
        if value != documented and value not in unique:
            unique.append(value)
    return unique


def _numeric_defaults(ctx: CheckContext) -> list[str]:
    return [
        name
        for name, p in ctx.surface.parameters.items()
        if name in EFFECTS and p.has_default and isinstance(p.default, int | float)
    ]


def _alternatives(ctx: CheckContext, param: str, documented: Any) -> list[Any]:
    model = ctx.model_defaults.get(param)
    return [a for a in candidate_defaults(param, documented, model) if documents(ctx, param, a)]


def _default_cost(ctx: CheckContext, param: str, profile: Profile) -> Ceiling:
    documented = ctx.surface.parameters[param].default
    proof, cost = proof_cost(ctx, profile)
    alternatives = _alternatives(ctx, param, documented)
    return cost + proof.default_cost(ctx, param, documented, alternatives, EFFECTS[param].max_tokens)


@probe_each(DEFAULT, "default", _numeric_defaults, cost=_default_cost)
async def default_probe(ctx: CheckContext, param: str) -> Finding:
    documented = ctx.surface.parameters[param].default
    model = ctx.model_defaults.get(param)
    alternatives = _alternatives(ctx, param, documented)
    # The model's value is named only where it is one of the candidates sent (not the
    # documented default itself, and documented as valid on this surface), as it was sent
    # (an int 1 is the candidate 1.0 already there).
    named = next((a for a in alternatives if a == model), None) if model is not None else None
    proof = await proof_for(ctx)
    return await proof.default(ctx, param, documented, alternatives, EFFECTS[param].max_tokens, named)
