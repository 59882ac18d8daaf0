"""What a unit can spend at most: its requests and their completion (and prompt) tokens, from
the requests its plan will really send, declared next to each probe (``cost=`` on ``@probe``)
so that adding a probe keeps the plan honest.

A ``Ceiling`` is a list of ``Spend``s. A spend names what makes two of them one request to the
provider (``key``: the path and canonical body the engine's sender de-duplicates on, an arm of
samples, a result the run shares), so a ``Ledger`` over a run's units counts each shared
request once, as the sender does: where the sharing is certain, never otherwise (a ``fresh``
repeat has no key and always counts).

Completion tokens per request come from its ``max_tokens`` (or ``max_completion_tokens``) times
``n``; a request without a bound gets the provider's ``context_tokens`` where stated, else it
is unbounded (``None``), and so is every sum it enters. Prompt tokens are an estimate from
above (``prompt_bound``): every UTF-8 byte of the messages and tools as a token (a byte-level
tokenizer makes no more tokens than bytes), plus what a chat template adds around them
(``TEMPLATE_TOKENS``, and ``TOOLS_TOKENS`` for its tools preamble). Over the shipped
cassettes' recorded ``usage.prompt_tokens`` it is never below and about twice the total
(tests/unit/test_plan_ceilings.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from harness.generation import canonical_json
from harness.results import BUDGET_REACHED

# What a chat template adds around the messages (role headers, special tokens), and around
# tools (a preamble saying how to call them: about 330 tokens in the local models' template).
TEMPLATE_TOKENS: Final = 64
TOOLS_TOKENS: Final = 512


def completion_bound(body: dict[str, Any], context_tokens: int | None) -> int | None:
    """The most completion tokens ``body`` can be answered with: its limit (at most the
    context, where stated) for each of its ``n`` choices; ``None`` when nothing bounds it."""
    limits = [body[k] for k in ("max_tokens", "max_completion_tokens") if k in body]
    # With both, a server may honour either: the larger holds. An invalid one may mean no
    # limit at all to a lenient server (llama.cpp reads -1 as "until the context ends").
    valid = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in limits)
    bound: int | None = max(limits) if limits and valid else None
    if context_tokens is not None:
        bound = context_tokens if bound is None else min(bound, context_tokens)
    if bound is None:
        return None
    n = body.get("n", 1)
    choices = n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1
    return bound * choices


def prompt_bound(body: dict[str, Any]) -> int:
    """The prompt tokens of ``body``, estimated from above (see the module docstring); an
    embeddings request's input likewise."""
    if "messages" not in body:
        return _bytes(body.get("input", "")) + TEMPLATE_TOKENS
    tools = body.get("tools")
    return _bytes(body["messages"]) + TEMPLATE_TOKENS + (_bytes(tools) + TOOLS_TOKENS if tools else 0)


def _bytes(value: Any) -> int:
    return len(canonical_json(value).encode("utf-8"))


@dataclass(frozen=True)
class Spend:
    """``requests`` sends of one request: ``key`` what makes it the same request as another
    spend's (None: never shared), ``tokens`` the most completion tokens of each (None:
    unbounded), ``prompt`` the most prompt tokens of each."""

    key: str | None
    requests: int
    tokens: int | None
    prompt: int

    @property
    def completion_tokens(self) -> int | None:
        return None if self.tokens is None else self.tokens * self.requests


@dataclass(frozen=True)
class Ceiling:
    """What a unit can send at most (see the module docstring)."""

    spends: tuple[Spend, ...] = ()

    def __add__(self, other: Ceiling) -> Ceiling:
        return Ceiling(self.spends + other.spends)

    @property
    def requests(self) -> int:
        return Ledger().reserve(self).requests

    @property
    def completion_tokens(self) -> int | None:
        return Ledger().reserve(self).completion_tokens


NOTHING: Final = Ceiling()


def total(ceilings: Iterable[Ceiling]) -> Ceiling:
    return Ceiling(tuple(s for c in ceilings for s in c.spends))


def sends(context_tokens: int | None, *bodies: dict[str, Any], path: str = "chat/completions", to: str = "") -> Ceiling:
    """Each body sent once through the de-duplicating sender (``to``: which of a gateway
    column's senders, "" the column's own)."""
    return Ceiling(tuple(_spend(f"{to}{path}\n{canonical_json(b)}", 1, b, context_tokens, path) for b in bodies))


def fresh(context_tokens: int | None, body: dict[str, Any], times: int, path: str = "chat/completions") -> Ceiling:
    """``times`` repeats that bypass de-duplication (``fresh=True``): each one counts."""
    return Ceiling((_spend(None, times, body, context_tokens, path),)) if times > 0 else NOTHING


def unkeyed(requests: int, tokens: int | None, prompt: int) -> Ceiling:
    """Requests whose bodies depend on answers (token ids, a measured prompt length): counted
    in full, never shared."""
    return Ceiling((Spend(None, requests, tokens, prompt),)) if requests > 0 else NOTHING


def samples(context_tokens: int | None, body: dict[str, Any], cap: int) -> Ceiling:
    """An arm of unseeded samples of ``body``, shared by the run's probes, grown to ``cap`` at most."""
    return Ceiling((_spend(f"arm\n{canonical_json(body)}", cap, body, context_tokens),))


def shared(key: str, ceiling: Ceiling) -> Ceiling:
    """What a result computed once per run (``RunShared``) sends: its repeats keyed by the
    result (``key``) and their order, so two units needing it count them once."""
    named: list[Spend] = []
    for i, spend in enumerate(ceiling.spends):
        named.append(
            spend if spend.key is not None else Spend(f"{key}#{i}", spend.requests, spend.tokens, spend.prompt)
        )
    return Ceiling(tuple(named))


def _spend(
    key: str | None, requests: int, body: dict[str, Any], context_tokens: int | None, path: str = "chat/completions"
) -> Spend:
    # An embedding has no completion: its input is all it costs.
    tokens = 0 if path == "embeddings" else completion_bound(body, context_tokens)
    return Spend(key, requests, tokens, prompt_bound(body))


@dataclass
class Sum:
    requests: int = 0
    completion_tokens: int | None = 0
    prompt_tokens: int = 0

    def add(self, spend: Spend, requests: int) -> None:
        self.requests += requests
        self.prompt_tokens += spend.prompt * requests
        if self.completion_tokens is not None:
            self.completion_tokens = None if spend.tokens is None else self.completion_tokens + spend.tokens * requests

    def plus(self, other: Sum) -> None:
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        if self.completion_tokens is not None:
            more = other.completion_tokens
            self.completion_tokens = None if more is None else self.completion_tokens + more

    def usd(self, price: Price | None) -> float | None:
        """The most money, at ``price`` (None without a price; ``math.inf`` when unbounded)."""
        if price is None:
            return None
        if self.completion_tokens is None:
            return math.inf
        return (self.prompt_tokens * price.input + self.completion_tokens * price.output) / 1_000_000


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens (providers.toml ``price = { input = ..., output = ... }``)."""

    input: float
    output: float


@dataclass(frozen=True)
class Budget:
    """The most a run may spend: requests, and US dollars at ``price`` (``--budget-requests``,
    ``--budget-usd``, or ``budget_requests`` / ``budget_usd`` in providers.toml)."""

    requests: int | None = None
    usd: float | None = None
    price: Price | None = None


@dataclass
class Spending:
    """What a budgeted run has reserved for its units (their ceilings, first attempts) and
    spent on retries: a retry is sent only where the budget still covers it
    (``ProviderClient.may_retry``), so reserved plus retries never passes the budget."""

    budget: Budget
    reserved: Sum = field(default_factory=Sum)
    retries: int = 0
    retries_usd: float = 0.0
    largest_usd: float = 0.0  # the most one request admitted can cost

    def committed(self) -> tuple[int, float]:
        usd = self.reserved.usd(self.budget.price)
        return self.reserved.requests + self.retries, (math.inf if usd is None else usd) + self.retries_usd

    def may_retry(self) -> bool:
        requests, usd = self.committed()
        if self.budget.requests is not None and requests + 1 > self.budget.requests:
            return False
        if self.budget.usd is not None:
            if usd + self.largest_usd > self.budget.usd:
                return False
            self.retries_usd += self.largest_usd
        self.retries += 1
        return True

    def admit(self, adds: Sum, spends: Sequence[Spend]) -> None:
        self.reserved.plus(adds)
        price = self.budget.price
        for spend in spends:
            one = Sum()
            one.add(spend, 1)
            cost = one.usd(price)
            if cost is not None:
                self.largest_usd = max(self.largest_usd, cost)


def over_budget(spending: Spending, adds: Sum) -> str | None:
    """Why a unit that can add ``adds`` to what is committed must not start, or None where it fits."""
    budget = spending.budget
    requests, usd = spending.committed()
    if budget.requests is not None and requests + adds.requests > budget.requests:
        return (
            f"{BUDGET_REACHED}: {requests} of {budget.requests} requests spent or reserved; "
            f"this unit could send {adds.requests}"
        )
    if budget.usd is not None:
        now, more = usd, adds.usd(budget.price)
        if now is None or more is None or now + more > budget.usd:
            could = "an unbounded amount" if more is None or math.isinf(more) else f"${more:.4f}"
            spent = "an unbounded amount" if now is None or math.isinf(now) else f"${now:.4f}"
            return f"{BUDGET_REACHED}: {spent} of ${budget.usd:g} spent or reserved; this unit could spend {could}"
    return None


@dataclass
class Ledger:
    """The requests reserved so far in a run, by key: a unit's ceiling *beyond* them is what
    it can add (``reserve``). An arm reserves its cap once; a keyed request once; a spend
    without a key every time."""

    reserved: dict[str, int] = field(default_factory=dict)

    def marginal(self, ceiling: Ceiling) -> Sum:
        """What ``ceiling`` can add to what is reserved, without reserving it."""
        return _added(self.reserved.copy(), ceiling.spends)

    def reserve(self, ceiling: Ceiling) -> Sum:
        return _added(self.reserved, ceiling.spends)


def _added(reserved: dict[str, int], spends: Sequence[Spend]) -> Sum:
    added = Sum()
    for spend in spends:
        if spend.key is None:
            added.add(spend, spend.requests)
            continue
        before = reserved.get(spend.key, 0)
        if spend.requests > before:
            added.add(spend, spend.requests - before)
            reserved[spend.key] = spend.requests
    return added
