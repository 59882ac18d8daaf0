"""Run the units of every enabled check against one provider, concurrently, writing each
record the moment its unit finishes. No formatting, no policy: verdicts come from checks,
words from reports."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.checks import CheckContext, load_families
from harness.checks.cost import Ceiling, Ledger, Spending, over_budget, total
from harness.checks.evidence import completion_tokens, evidence
from harness.checks.findings import Finding
from harness.checks.judges import Judgement
from harness.checks.judges.profile import Profile
from harness.checks.judges.route import ROUTE_CHECK, off_route_judgement, served_counts
from harness.checks.plans.common import candidate_profiles, profile_cost, provider_profile
from harness.checks.registry import Unit
from harness.errors import CheckError, ConfigError, HarnessError
from harness.generation import canonical_json
from harness.generation.matrix import base_body
from harness.results import BUDGET_REACHED, Record, ResultsWriter, Verdict
from harness.schema import Surface, check_response_schemas
from harness.transport import Exchange, ProviderClient


@dataclass
class RunStats:
    units: int = 0
    skipped: int = 0  # already in results.jsonl (--resume)
    records: list[Record] = field(default_factory=list)  # kept only when asked (tests, small runs)
    verdicts: Counter[str] = field(default_factory=Counter)
    requests: int = 0  # HTTP requests sent (retries included; shared requests once)
    completion_tokens: int = 0
    probes: str = ""  # how sampling probes proved effects (the provider's measured profile)
    profile: Profile | None = None  # that profile, where a probe measured it
    not_started: int = 0  # units not started: the budget would not cover them (NOT_RUN records)


class DedupingSender:
    """``send`` for checks: identical requests within a run go out once (the matrix's many
    'omitted' cases are one request, and a later check's base request reuses the range
    check's), unless a check asks for a ``fresh`` repeat.

    It keeps each distinct exchange for the run, for that reuse; what must see every exchange
    as it completes (response schemas, token counts) subscribes with ``observe``.
    """

    def __init__(
        self, client: ProviderClient | None, provider: str = "provider", api_key_env: str = "", model: str = ""
    ) -> None:
        self.client = client
        self.provider = provider
        self.api_key_env = api_key_env
        # The configured model: a 404 is asked about it, so a probe naming a model nobody serves
        # (the model check) is that probe's verdict, not the end of the run.
        self.model = model
        self._inflight: dict[str, asyncio.Future[Exchange]] = {}
        self._observers: list[Callable[[Exchange], None]] = []
        self._plain: asyncio.Future[Exchange] | None = None
        self.completion_tokens = 0

    def observe(self, observer: Callable[[Exchange], None]) -> None:
        self._observers.append(observer)

    async def _model_found(self, body: dict[str, Any], exchange: Exchange) -> None:
        """After a 404 on chat: is the plain request (model, messages, max_tokens) found? If not,
        the model or base_url is wrong and the run stops with one line (exit 2); if it is, the
        404 was about a value (OpenRouter answers 404 when no upstream supports one, the model
        check names a model nobody serves) and stays that request's verdict. Asked once per run."""
        assert self.client is not None
        plain_body = base_body(self.model or str(body.get("model")))
        encoded = canonical_json(plain_body)
        if canonical_json(body) == encoded:
            plain = exchange
        else:
            # The plain request a check has sent already, if any: no second call for it.
            task = self._inflight.get("chat/completions\n" + encoded) or self._plain
            if task is None:
                # Straight to the client: this check must not run again on its own answer.
                task = self._plain = asyncio.ensure_future(self.client.send(plain_body, "chat/completions"))
            plain = await task
        if plain.status == 404:
            raise ConfigError(
                f"{self.provider}: HTTP 404 from {plain.url} for the plain request: check base_url and the model "
                f"name {plain.body.get('model')!r} in providers.toml ({plain.excerpt(120)})"
            )

    async def _send(self, body: dict[str, Any], path: str, encoded: str | None = None) -> Exchange:
        assert self.client is not None
        exchange = await self.client.send(body, path, encoded)
        refused = configuration_refusal(exchange, self.provider, self.api_key_env)
        if refused:
            raise ConfigError(refused)
        if exchange.status == 404 and path == "chat/completions":
            await self._model_found(body, exchange)
        self.completion_tokens += completion_tokens([exchange])
        for observer in self._observers:
            observer(exchange)
        return exchange

    async def __call__(
        self, body: dict[str, Any], path: str = "chat/completions", fresh: bool = False, ordered: bool = False
    ) -> Exchange:
        """``ordered``: send the body's keys in the order it holds them, not sorted (a probe of
        whether key order reaches the model); two orders are then two requests. A cassette
        matches bodies whatever their key order, so such requests must go out one at a time
        for a replay to serve each its own answer."""
        if self.client is None:
            raise RuntimeError("this sender only plans; it has no client")
        if fresh:
            exchange = await self._send(body, path)
        else:
            encoded = in_order_json(body) if ordered else canonical_json(body)
            key = path + "\n" + encoded
            task = self._inflight.get(key)
            if task is None:
                task = asyncio.ensure_future(self._send(body, path, encoded))
                self._inflight[key] = task
            exchange = await task
        # One turn of the event loop before the check judges it: the next request's send and
        # other responses' reads go first, so the provider is not kept waiting on our bookkeeping
        # (3% of a live run's wall time, measured against a bare httpx loop).
        await asyncio.sleep(0)
        return exchange


def in_order_json(value: Any) -> str:
    """JSON with keys in the order given: what a client that keeps its schema's order sends."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def configuration_refusal(exchange: Exchange, provider: str, api_key_env: str) -> str | None:
    """A refusal of the credentials: no verdict can be true after one, so the run stops with
    one line (exit 2) instead of judging every case against it."""
    if not exchange.client_error or exchange.status not in (401, 403):
        return None
    key = f"check {api_key_env}" if api_key_env else "it needs a key: set api_key_env in providers.toml"
    return (
        f"{provider}: HTTP {exchange.status} from {exchange.url}: the credentials were refused; {key} "
        f"({exchange.excerpt(120)})"
    )


def record_command(provider: str) -> str:
    """How to record what a replay did not find."""
    return f"nox -s record -- --provider {provider}"


def build_record(
    finding: Finding,
    *,
    provider: str,
    surface: Surface,
    base_url: str = "",
    api_key_env: str = "",
    unit_id: str = "",
    route: str | None = None,
) -> Record:
    """The one place a ``Record`` is built: what a probe found, with its evidence (the exchanges
    and reproducers to paste, the control that could have refuted it, how it was proven, the
    upstreams that served its replies), its cost, and where a replay found nothing, how to
    record it. On a column pinned to ``route``, a probe that read a reply from another
    upstream is INCONCLUSIVE, whatever it found (the ``route`` check's record counts them)."""
    judgement = finding.judgement
    read = list({id(e): e for e in [*finding.exchanges, *(finding.spent or ())]}.values())
    served = served_counts(read)
    overruled = None
    if route is not None and finding.check != ROUTE_CHECK:
        overruled = off_route_judgement(judgement, route, read)
        judgement = overruled or judgement
    data = evidence(list(finding.exchanges), surface, base_url, api_key_env)
    if served:
        data["served_by"] = dict(served)
    if overruled is not None:
        data["off_route"] = {"pinned": route, "verdict": finding.judgement.verdict.value}
    if judgement.control:
        data["control"] = judgement.control
    if finding.mode:
        data["mode"] = finding.mode
    if finding.statistics:
        data["statistics"] = dict(finding.statistics)
    data.update(finding.notes)
    detail = judgement.detail
    if judgement.verdict is Verdict.NOT_RECORDED:
        detail = f"{detail}; record it with: {record_command(provider)}"
    counted = list(finding.exchanges if finding.spent is None else finding.spent)
    return Record(
        provider=provider,
        surface=surface.name,
        case_id=finding.id,
        param=finding.param,
        check=finding.check,
        verdict=judgement.verdict,
        detail=detail,
        evidence=data,
        label=finding.label,
        expect=finding.expect,
        value=finding.value,
        requests=sum(e.attempts for e in counted),
        completion_tokens=completion_tokens(counted),
        unit_id=unit_id,
    )


def record_of(ctx: CheckContext, finding: Finding, unit_id: str = "") -> Record:
    return build_record(
        finding,
        provider=ctx.provider,
        surface=ctx.surface,
        base_url=ctx.base_url,
        api_key_env=ctx.api_key_env,
        unit_id=unit_id,
        route=ctx.route,
    )


async def unit_records(ctx: CheckContext, unit: Unit) -> list[Record]:
    """Run one unit and build its records."""
    return [record_of(ctx, finding, unit.id) for finding in await unit.run()]


@contextlib.contextmanager
def _long_lived_frozen() -> Iterator[None]:
    """What is alive when a run starts (modules, schemas, validators, the matrix and its units)
    lives until it ends: hidden from the cyclic collector meanwhile, a full collection costs
    under 0.1 ms instead of 10 to 28 (measured with the llama.cpp matrix loaded). Garbage is
    still freed by reference counting; cycles among these objects are collected after the run."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def plan(ctx: CheckContext, checks: list[str] | None = None) -> list[tuple[str, Unit]]:
    """Every (check name, unit) to run, in a stable order."""
    registry = load_families()
    check_response_schemas()  # a broken response schema is a tool error before anything is sent
    names = checks or [name for name, c in registry.items() if c.enabled]
    unknown = sorted(set(names) - set(registry))
    if unknown:
        raise ConfigError(f"--checks: unknown check {', '.join(unknown)}; known: {', '.join(registry)}")
    return [(name, unit) for name in names for unit in registry[name].units(ctx)]


def share(units: list[tuple[str, Unit]], index: int, count: int) -> list[tuple[str, Unit]]:
    """Share ``index`` (1..``count``) of one column's units, for a column split over shards:
    every ``count``-th unit of the planned order, so each check's units spread evenly over the
    shards. The checks that run after the others are in no share: the response schemas judge
    every exchange of the column, which no share sees, and the gateway's tap needs the gateway
    to itself."""
    registry = load_families()
    split = [(name, unit) for name, unit in units if not registry[name].after_others]
    return split[index - 1 :: count]


class Admission:
    """Which units a budget lets start, in the order planned: each unit's ceiling
    (``checks.cost``) beyond what the units started before it reserved must fit in what is
    left; from the first that does not, no unit starts (each is a NOT_RUN record saying so),
    but those that send nothing (the response schemas judge what the others sent).
    Reservations are never given back, so the run never sends more than the budget, whatever
    the units started do."""

    def __init__(self, spending: Spending, profiles: list[Profile]) -> None:
        self.spending, self.profiles = spending, profiles
        self.ledger = Ledger()
        self.stopped = False

    def ceiling(self, unit: Unit) -> Ceiling | None:
        """The unit's ceiling under every profile the run may have (the union: safe whichever)."""
        cost = unit.cost
        return None if cost is None else total(cost(p) for p in self.profiles)

    def admit(self, ceiling: Ceiling | None) -> str | None:
        """None where the unit may start (its ceiling is then reserved), else why not."""
        if ceiling is None:
            self.stopped = True
            return f"{BUDGET_REACHED}: this unit declares no ceiling, so no budget can cover it"
        why = over_budget(self.spending, self.ledger.marginal(ceiling))
        if why is not None:
            self.stopped = True
            return why
        self.spending.admit(self.ledger.reserve(ceiling), ceiling.spends)
        return None


def not_started(ctx: CheckContext, check_name: str, unit: Unit, why: str) -> Record:
    """The record of a unit the budget did not start: missing evidence, with the figures."""
    finding = Finding(Judgement(Verdict.NOT_RUN, why), check=check_name, param=unit.param, case_id=unit.id)
    return record_of(ctx, finding, unit.id)


async def budget_admission(ctx: CheckContext, spending: Spending, units: list[tuple[str, Unit]]) -> Admission:
    """The admission of ``units`` under the budget of ``spending``. Where a unit's plan depends on the
    provider's profile, it is measured first (when the budget covers it), so each unit is
    held to the plan of the proof the run takes, not to the costliest."""
    candidates = candidate_profiles(ctx)
    measure = profile_cost(ctx)
    keys = {s.key for s in measure.spends}
    depends = len(candidates) > 1 and any(
        unit.cost is not None and any(s.key in keys for s in unit.cost(candidates[0]).spends) for _, unit in units
    )
    if not depends:
        return Admission(spending, candidates)
    first = Admission(spending, candidates)
    if first.admit(measure) is not None:
        first.stopped = False  # not measured: every unit held to the union of the plans instead
        return first
    admission = Admission(spending, [await provider_profile(ctx)])
    admission.ledger = first.ledger
    return admission


async def run_units(
    units: list[tuple[str, Unit]],
    writer: ResultsWriter,
    ctx: CheckContext,
    done: set[str],
    on_done: Callable[[int], None] | None = None,
    keep_records: bool = True,
    spending: Spending | None = None,
) -> RunStats:
    """Run ``units`` (those not in ``done``); every record goes to ``writer`` at once.
    ``keep_records=False`` keeps only counts in memory: the records are on disk. Under a
    budget (``spending``), a unit starts only where its ceiling fits (``Admission``)."""
    stats = RunStats()

    async def one(check_name: str, unit: Unit) -> None:
        try:
            records = await unit_records(ctx, unit)
        except HarnessError:
            raise
        except Exception as err:
            # A bug in a check is the harness's failure, never the provider's verdict.
            if os.environ.get("HARNESS_DEBUG"):
                traceback.print_exc(file=sys.stderr)
            raise CheckError(
                f"harness error in check {check_name!r}, unit {unit.id}: {type(err).__name__}: {err} "
                "(set HARNESS_DEBUG=1 for the traceback)"
            ) from err
        keep(records)

    def keep(records: list[Record]) -> None:
        for record in records:
            writer.write(record)
            stats.verdicts[record.verdict.value] += 1
        if keep_records:
            stats.records.extend(records)
        if on_done:
            on_done(1)

    registry = load_families()
    # By phase (``Check.phase``): most units, then those that run after the others, then
    # those that judge every exchange the others sent.
    batches: tuple[list[tuple[str, Unit]], ...] = ([], [], [])
    for check_name, unit in units:
        if unit.id in done:
            stats.skipped += 1
            if on_done:
                on_done(1)
            continue
        batches[registry[check_name].phase].append((check_name, unit))
    stats.units = sum(len(batch) for batch in batches)
    admission = await budget_admission(ctx, spending, [u for b in batches for u in b]) if spending is not None else None
    with _long_lived_frozen():
        for batch in batches:
            try:
                async with asyncio.TaskGroup() as group:  # the first tool error cancels the rest
                    for name, unit in batch:
                        why = refusal(admission, unit) if admission is not None else None
                        if why is None:
                            group.create_task(one(name, unit))
                        else:
                            stats.not_started += 1
                            keep([not_started(ctx, name, unit, why)])
            except* HarnessError as errors:
                raise errors.exceptions[0] from None
            except* Exception as errors:  # outside a unit: writing a record, progress
                cause = errors.exceptions[0]
                raise CheckError(f"harness error while running checks: {type(cause).__name__}: {cause}") from cause
    return stats


def refusal(admission: Admission, unit: Unit) -> str | None:
    ceiling = admission.ceiling(unit)
    if ceiling is not None and not ceiling.spends:
        return None  # it sends nothing (it judges what the others sent): no budget to cover
    return _stopped(admission, ceiling) if admission.stopped else admission.admit(ceiling)


def _stopped(admission: Admission, ceiling: Ceiling | None) -> str:
    """Why a unit after the first refused does not start either: the same figures, its own."""
    if ceiling is None:
        return f"{BUDGET_REACHED}: this unit declares no ceiling, so no budget can cover it"
    why = over_budget(admission.spending, admission.ledger.marginal(ceiling))
    requests, usd = admission.spending.committed()
    budget = admission.spending.budget
    spent = (
        f"{requests} of {budget.requests} requests" if budget.requests is not None else f"${usd:.4f} of ${budget.usd:g}"
    )
    return why or (
        f"{BUDGET_REACHED}: {spent} spent or reserved, and the run stopped starting units at the first that did "
        f"not fit; this unit could send {ceiling.requests}"
    )
