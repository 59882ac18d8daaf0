"""What every check of a run sees (``CheckContext``) and what its units share (``RunShared``).

Shared state is typed: each kind of shared result has its own table, keyed by what makes two
requests for it the same, so a mistyped key cannot silently double the requests sent to a
paid API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from harness.checks.answers import KeptAnswers
from harness.checks.judged import JudgedBodies
from harness.checks.judges.statistics import Recall, computed
from harness.generation import Case
from harness.generation.structure import STRUCTURE_BUDGET
from harness.schema import Surface
from harness.transport import Exchange
from harness.transport.tap import Forwarded

if TYPE_CHECKING:
    from harness.checks.findings import Finding
    from harness.checks.judges.profile import Profile
    from harness.checks.judges.sampling import Baseline

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Sender(Protocol):
    async def __call__(
        self, body: dict[str, Any], path: str = ..., fresh: bool = ..., ordered: bool = ...
    ) -> Exchange: ...

    def observe(self, observer: Callable[[Exchange], None]) -> None: ...


class Once(Generic[K, V]):
    """Results computed once per run and key, whichever unit asks first (the others await
    the same task)."""

    def __init__(self) -> None:
        self._tasks: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, make: Callable[[], Awaitable[V]]) -> V:
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            self._tasks[key] = task
        return await task

    def done(self, key: K) -> V | None:
        """The result for ``key`` if it was computed and succeeded, else None (no waiting)."""
        task = self._tasks.get(key)
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()


class Arm:
    """Unseeded samples of one request, shared by every probe of the run that needs them."""

    def __init__(self, send: Sender, body: dict[str, Any]) -> None:
        self.send, self.body = send, body
        self.samples: list[Exchange] = []
        self._lock = asyncio.Lock()

    async def take(self, n: int) -> list[Exchange]:
        async with self._lock:
            missing = n - len(self.samples)
            if missing > 0:
                self.samples += await asyncio.gather(*(self.send(self.body, fresh=True) for _ in range(missing)))
        return self.samples[:n]


class Through(Protocol):
    """Requests to a gateway with what it forwarded (``transport.tap.TapRoute``)."""

    async def through(self, body: dict[str, Any], path: str = ...) -> tuple[Exchange, Forwarded | None]: ...

    def alone(self) -> AbstractAsyncContextManager[None]:
        """Nothing goes through the tap's route meanwhile."""
        ...


class KeySender(Protocol):
    """Sends to the gateway with ``key`` in place of the provider's (None: no key at all)."""

    async def __call__(self, body: dict[str, Any], key: str | None) -> Exchange: ...


RawSend = Callable[[dict[str, Any]], Awaitable[Exchange]]


@dataclass(frozen=True)
class Upstream:
    """A gateway's upstream, sent to directly: its name, model name and sender (its own
    client and cassette, in the column's mode); ``raw`` sends without de-duplication and
    without stopping the run on a 404 (an unknown model is a probe here)."""

    name: str
    model: str
    send: Sender
    raw: RawSend | None = None


@dataclass
class RunShared:
    """Results shared by the units of one run (one provider held to one surface)."""

    profile: Once[None, Profile] = field(default_factory=Once)
    baselines: Once[int, Baseline] = field(default_factory=Once)  # by max_tokens
    greedy_baselines: Once[tuple[str, int], Baseline] = field(default_factory=Once)  # by (penalty, max_tokens)
    effects: Once[tuple[str, str], Finding] = field(default_factory=Once)  # by (parameter, repr(value))
    arms: dict[str, Arm] = field(default_factory=dict)  # by the canonical JSON of the request
    # A gateway column's requests through the gateway with what it forwarded, by canonical body.
    passages: Once[str, tuple[Exchange, Forwarded | None]] = field(default_factory=Once)
    # A gateway's answers without its key and with a wrong one, sent one after the other.
    credentials: Once[None, tuple[Exchange, Exchange]] = field(default_factory=Once)


@dataclass
class CheckContext:
    provider: str
    surface: Surface
    model: str
    cases: list[Case]
    send: Sender
    api_key_env: str = ""
    base_url: str = ""
    params: list[str] | None = None  # --params: restrict probes to these
    shared: RunShared = field(default_factory=RunShared)
    send_seed: bool = True  # False: no request carries `seed` (providers.toml send_seed = false)
    probe_mode: str = "auto"  # "auto", "seeded" or "seed-free" (see judges.profile)
    structure_budget: int = STRUCTURE_BUDGET  # at most this many structural cases (requests)
    upstream: Upstream | None = None  # a gateway's upstream (providers.toml upstream = "...")
    tap: Through | None = None  # the recording tap between the gateway and its upstream, if any
    keys: KeySender | None = None  # the gateway sent without the provider's key, or with another
    keyed: bool = False  # the gateway wants a key (its entry's api_key_env, or one made at its launch)
    raw: RawSend | None = None  # the gateway, with its key, without de-duplication or a stop on 401/404
    context_tokens: int | None = None  # the served context per request, where providers.toml states it
    template_reads: frozenset[str] = frozenset()  # the request parameters the served chat template reads
    # The sampling values the served model's generation_config.json sets (providers.toml's
    # model_defaults): the default check tries each as one more candidate default.
    model_defaults: Mapping[str, float] = field(default_factory=dict)
    replaying: bool = False  # every answer comes from a cassette (what a replay may keep between runs)
    # The router's upstream every request of the column is pinned to (providers.toml routes):
    # the `route` check counts the replies another one served.
    route: str | None = None
    _kept: KeptAnswers | None = field(default=None, init=False, repr=False, compare=False)
    _judged: JudgedBodies | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def judged_bodies(self) -> JudgedBodies | None:
        """In a replay, the response-schema judgements kept between processes (``checks.judged``),
        one store for both levels; None live."""
        if not self.replaying:
            return None
        if self._judged is None:
            self._judged = JudgedBodies()
        return self._judged

    @property
    def recall(self) -> Recall:
        """How the statistical tests' arithmetic is answered: in a replay, from what an earlier
        process kept (``checks.answers``: the same samples ask the same questions); computed
        otherwise."""
        if not self.replaying:
            return computed
        if self._kept is None:
            self._kept = KeptAnswers()
        return self._kept

    def wants(self, param: str) -> bool:
        return self.params is None or param in self.params
