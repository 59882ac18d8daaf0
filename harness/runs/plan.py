"""What a run of each column can spend at most, before anything is sent (``harness plan``,
``--plan``): every unit the engine would plan, with the ceiling declared next to it
(``checks.cost``), summed as the engine's sender de-duplicates, under each profile the run
may measure (the column's ceiling is the costliest), or under the one a previous run of the
column measured where asked (``harness plan --from``: a provider keeps its profile from run to
run, and the seed-free proof's ceiling is several times the seeded one's); the retries on top,
as an allowance; the most money where a price is set; and the key that is missing, by name.
It opens no client and launches nothing: the context's sender cannot send."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from harness.checks import CheckContext
from harness.checks.context import Upstream
from harness.checks.cost import Ledger, Price, Sum
from harness.checks.judges.profile import Profile
from harness.checks.plans.common import candidate_profiles
from harness.checks.registry import Unit
from harness.engine import DedupingSender, plan
from harness.providers import load_providers, resolve_provider
from harness.runs.runner import ColumnOptions, check_context
from harness.runs.setup import price_of
from harness.runs.targets import Target
from harness.transport import Exchange

# A transient failure is retried at most this many times per request.
RETRIES = ColumnOptions.retries


@dataclass
class ProfilePlan:
    """A column's ceiling under one profile the run may measure."""

    profile: str
    total: Sum
    undeclared: list[str] = field(default_factory=list)  # units without a declared ceiling
    unbounded: list[str] = field(default_factory=list)  # units whose completion tokens nothing bounds


@dataclass
class ColumnPlan:
    column: str
    provider: str
    units: int
    profiles: list[ProfilePlan]
    retries: int = RETRIES
    price: Price | None = None
    missing_key: str | None = None
    # Planned under the profile a previous run measured: where and when ("" for every profile
    # a run may measure), and the most requests whatever the run measures.
    measured_in: str = ""
    any_profile_requests: int | None = None
    any_profile_completion_tokens: int | None = None
    any_profile_usd: float | None = None

    @property
    def ceiling(self) -> ProfilePlan:
        """The profile with the most requests (a run measures one; which, nobody knows before)."""
        return max(self.profiles, key=lambda p: p.total.requests)

    @property
    def requests(self) -> int:
        return max(p.total.requests for p in self.profiles)

    @property
    def completion_tokens(self) -> int | None:
        """The most over the profiles; None (unbounded) where any is."""
        found = [None if p.undeclared else p.total.completion_tokens for p in self.profiles]
        return None if any(t is None for t in found) else max(t for t in found if t is not None)

    @property
    def prompt_tokens(self) -> int:
        return max(p.total.prompt_tokens for p in self.profiles)

    @property
    def retry_allowance(self) -> int:
        """The most requests retries can add: each request retried ``retries`` times."""
        return self.requests * self.retries

    @property
    def usd(self) -> float | None:
        return column_usd(self, self.price)

    def as_json(self) -> dict[str, Any]:
        usd = self.usd
        return {
            "column": self.column,
            "provider": self.provider,
            "units": self.units,
            "requests": self.requests,
            "completion_tokens": self.completion_tokens,  # null: unbounded
            "prompt_tokens_estimate": self.prompt_tokens,
            "retries_per_request": self.retries,
            "retry_allowance_requests": self.retry_allowance,
            "price": None if self.price is None else {"input": self.price.input, "output": self.price.output},
            "usd": None if usd is None else ("unbounded" if math.isinf(usd) else round(usd, 6)),
            "usd_with_retries": _with_retries(usd, self.retries),
            "missing_key": self.missing_key,
            "planned_under": f"{self.profiles[0].profile}, as measured by {self.measured_in}"
            if self.measured_in
            else "every profile a run may measure",
            "requests_whatever_the_profile": self.any_profile_requests or self.requests,
            "completion_tokens_whatever_the_profile": self.any_profile_completion_tokens
            if self.measured_in
            else self.completion_tokens,
            "usd_whatever_the_profile": _rounded(self.any_profile_usd if self.measured_in else usd),
            "profiles": [
                {
                    "profile": p.profile,
                    "requests": p.total.requests,
                    "completion_tokens": None if p.undeclared else p.total.completion_tokens,
                    "undeclared": p.undeclared,
                }
                for p in self.profiles
            ],
        }


def _rounded(usd: float | None) -> float | str | None:
    return None if usd is None else ("unbounded" if math.isinf(usd) else round(usd, 6))


def _with_retries(usd: float | None, retries: int) -> float | str | None:
    if usd is None:
        return None
    return "unbounded" if math.isinf(usd) else round(usd * (1 + retries), 6)


def column_usd(column: ColumnPlan, price: Price | None) -> float | None:
    """The most money ``column`` can cost at ``price``, over the profiles it may measure
    (without retries; ``math.inf``: unbounded; None without a price)."""
    if price is None:
        return None
    found = [math.inf if p.undeclared else p.total.usd(price) for p in column.profiles]
    return max(f if f is not None else math.inf for f in found)


async def _cannot_send(_body: dict[str, Any]) -> Exchange:
    raise RuntimeError("a plan sends nothing")


class _NoKeys:
    async def __call__(self, body: dict[str, Any], key: str | None) -> Exchange:
        return await _cannot_send(body)


def planning_context(target: Target, params: list[str] | None = None) -> CheckContext:
    """The column's context as a run builds it, with senders that cannot send (a gateway's
    upstream and raw senders included, so its units are planned as a run plans them)."""
    provider = target.provider
    ctx = check_context(target, DedupingSender(None, provider.name, provider.api_key_env, provider.model), params)
    if provider.upstream is not None:
        upstream = resolve_provider(provider.upstream, load_providers())
        ctx.upstream = Upstream(upstream.name, upstream.model, DedupingSender(None), _cannot_send)
        ctx.raw = _cannot_send

        ctx.keys = _NoKeys()
        ctx.keyed = bool(provider.api_key_env) or (provider.launch is not None and provider.launch.makes_key)
    return ctx


def plan_column(
    target: Target,
    params: list[str] | None = None,
    checks: list[str] | None = None,
    measured: tuple[Profile, str] | None = None,
) -> ColumnPlan:
    """The most one column's run can spend (see the module docstring); under ``measured``
    (a profile and where it was measured) where the column may measure it."""
    ctx = planning_context(target, params)
    units = [unit for _, unit in plan(ctx, checks)]
    candidates = candidate_profiles(ctx)
    profiles = [units_plan(units, profile) for profile in candidates]
    provider = target.provider
    found = ColumnPlan(
        target.column, provider.name, len(units), profiles, price=price_of(provider), missing_key=provider.missing_key()
    )
    # A profile the column can no longer measure (probe_mode or send_seed changed since) is
    # not planned under: every profile is.
    if measured is not None and measured[0].mode in {p.mode for p in candidates}:
        found.any_profile_requests = found.requests
        found.any_profile_completion_tokens = found.completion_tokens
        found.any_profile_usd = found.usd
        found.profiles = [units_plan(units, measured[0])]
        found.measured_in = measured[1]
    return found


def units_plan(units: list[Unit], profile: Profile) -> ProfilePlan:
    """The most ``units`` can send under ``profile``, shared requests counted once."""
    ledger, found, undeclared, without_bound = Ledger(), Sum(), [], []
    for unit in units:
        if unit.cost is None:
            undeclared.append(unit.id)
            continue
        ceiling = unit.cost(profile)
        if ceiling.completion_tokens is None:
            without_bound.append(unit.id)
        found.plus(ledger.reserve(ceiling))
    name = profile.mode + _greedy(profile.seed_free, profile.greedy_reproduces)
    return ProfilePlan(name, found, undeclared, without_bound)


def _greedy(seed_free: bool, reproduces: bool) -> str:
    if not seed_free:
        return ""
    return " (greedy reproduces)" if reproduces else " (greedy does not reproduce)"
