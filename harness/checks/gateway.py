"""The through-gateway differential (check ``gateway``), for a provider whose entry names an
``upstream``: the same seeded (or greedy) probe goes through the gateway and directly to the
upstream, and where the harness launched the upstream, a recording tap in between shows the
body the gateway forwarded. The judges are in ``judges.gateway``.

The probe values are chosen so that a bound changes the output on our models where it can
(``temperature`` 2.5 against 2), and the tap decides the rest (``top_p`` 1.5 against 1 changes
nothing). The check runs after every other unit: through the tap, one request at a time goes
through the gateway, so what the tap saw meanwhile is that request's (``transport.tap``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.checks.cost import Ceiling, fresh, sends, shared
from harness.checks.findings import Finding
from harness.checks.judges.gateway import (
    NO_BOUND,
    KeyPassage,
    Passage,
    PlainPassage,
    StreamPassage,
    judge_credentials,
    judge_injected,
    judge_passage,
    judge_status,
    judge_stream_passage,
)
from harness.checks.judges.outcome import Judgement
from harness.checks.judges.profile import Profile
from harness.checks.plans.common import OMIT, PROBE_TOKENS, documents, probe_body, profile_cost
from harness.checks.plans.proofs import reproducible, reproducible_args
from harness.checks.registry import CheckContext, probe, probe_each, probes_check
from harness.generation import canonical_json
from harness.results import Verdict
from harness.transport import Exchange
from harness.transport.tap import Forwarded

GATEWAY = probes_check(
    __name__,
    "gateway",
    "what a gateway does to each parameter on its way to the upstream (through against direct, and the tap)",
    after_others=True,
)
PENALTY_TOKENS = 32


@dataclass(frozen=True)
class Crossing:
    """One parameter's probe: the value sent, the bound a clamp would give it, what the
    request without it is (``without``: probe_body() arguments; default: the key left out),
    and the direct requests under another parameter it might be translated into."""

    value: Any
    bound: Any = NO_BOUND
    max_tokens: int = PROBE_TOKENS
    without: tuple[tuple[str, Any], ...] | None = None
    translations: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()


CROSSINGS: dict[str, Crossing] = {
    # Out of OpenAI's range, accepted by our upstreams: 2.5 and 2 sample different texts.
    "temperature": Crossing(2.5, bound=2.0),
    # 1.5 and 1 both switch nucleus sampling off: only the forwarded body tells them apart.
    "top_p": Crossing(1.5, bound=1.0),
    "top_k": Crossing(1),
    "min_p": Crossing(1.0),
    "repetition_penalty": Crossing(2.0, max_tokens=PENALTY_TOKENS),
    "frequency_penalty": Crossing(
        2.5,
        bound=2.0,
        max_tokens=PENALTY_TOKENS,
        # What an engine of the transformers kind makes of it (repetition_penalty = 1 + fp),
        # under our upstream's name for it.
        translations=(("repeat_penalty=3.5", (("repeat_penalty", 3.5),)),),
    ),
    "presence_penalty": Crossing(2.5, bound=2.0, max_tokens=PENALTY_TOKENS),
    # Refused by llama-server (400): a gateway that clamps it to 0 turns that into a 200.
    "max_tokens": Crossing(-5, bound=0, without=()),
    "user": Crossing("harness-gateway-probe"),
    # The literal key some SDK users send; a gateway may unwrap it one level.
    "extra_body": Crossing({"top_k": 1}, translations=(("top_k=1", (("top_k", 1),)),)),
    "chat_template_kwargs": Crossing({"enable_thinking": False}),
}
PRECISION = Crossing(1.0000000000000002, translations=(("temperature=1.0", (("temperature", 1.0),)),))


def _has_upstream(ctx: CheckContext) -> bool:
    return ctx.upstream is not None


def _crossed(ctx: CheckContext) -> list[str]:
    return list(CROSSINGS) if ctx.upstream is not None else []


async def through(ctx: CheckContext, body: dict[str, Any]) -> tuple[Exchange, Forwarded | None]:
    """``body`` sent to the gateway, with what it forwarded where a tap is in between (each
    distinct body once per run: the plain request is every probe's)."""
    tap = ctx.tap
    if tap is None:
        return await ctx.send(body), None
    return await ctx.shared.passages.get(canonical_json(body), lambda: tap.through(body))


async def direct(ctx: CheckContext, body: dict[str, Any]) -> Exchange:
    """``body`` sent to the upstream itself, under its own model name."""
    assert ctx.upstream is not None
    return await ctx.upstream.send({**body, "model": ctx.upstream.model})


def through_cost(ctx: CheckContext, *bodies: dict[str, Any]) -> Ceiling:
    """``through``: each distinct body once per run; through a tap it bypasses the sender, so
    it is never counted as shared with the column's other requests."""
    return sends(ctx.context_tokens, *bodies, to="through ")


def direct_cost(ctx: CheckContext, *bodies: dict[str, Any]) -> Ceiling:
    assert ctx.upstream is not None
    model = ctx.upstream.model
    return sends(ctx.context_tokens, *({**b, "model": model} for b in bodies), to="upstream ")


def _crossing_bodies(
    ctx: CheckContext, same: dict[str, Any], param: str, crossing: Crossing
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """The probe's request, the one without the value, and the direct ones beside them."""

    def body(**params: Any) -> dict[str, Any]:
        return probe_body(ctx, **{"max_tokens": crossing.max_tokens, **same, **params})

    sent = body(**{param: crossing.value})
    without = body(**dict(crossing.without if crossing.without is not None else ((param, OMIT),)))
    extra = [body(**dict(args)) for _, args in crossing.translations]
    if crossing.bound is not NO_BOUND:
        extra.append(body(**{param: crossing.bound}))
    return sent, without, extra


def cross_cost(ctx: CheckContext, profile: Profile, param: str, crossing: Crossing) -> Ceiling:
    sent, without, extra = _crossing_bodies(ctx, reproducible_args(profile), param, crossing)
    return profile_cost(ctx) + through_cost(ctx, sent, without) + direct_cost(ctx, sent, without, *extra)


async def cross(ctx: CheckContext, param: str, crossing: Crossing) -> Finding:
    sent, without, extra = _crossing_bodies(ctx, await reproducible(ctx), param, crossing)
    (tx, fwd), (tx0, fwd0) = await asyncio.gather(through(ctx, sent), through(ctx, without))
    dx, dx0, *others = await asyncio.gather(direct(ctx, sent), direct(ctx, without), *(direct(ctx, b) for b in extra))
    names = [name for name, _ in crossing.translations]
    passage = Passage(
        param=param,
        value=crossing.value,
        sent=sent,
        sent_without=without,
        through=tx,
        through_without=tx0,
        direct=dx,
        direct_without=dx0,
        forwarded=fwd,
        forwarded_without=fwd0,
        bound=crossing.bound,
        direct_bound=others[-1] if crossing.bound is not NO_BOUND else None,
        translations=dict(zip(names, others[: len(names)], strict=True)),
    )
    notes = _tap_notes(fwd, fwd0)
    return Finding(judge_passage(passage), [dx0, dx, *others, tx0, tx], crossing.value, notes=notes)


def _tap_notes(*seen: Forwarded | None) -> dict[str, Any]:
    shown = [{"forwarded": f.bodies, "statuses": f.statuses} for f in seen if f is not None]
    return {"tap": shown} if shown else {}


@probe_each(
    GATEWAY, "through", _crossed, cost=lambda ctx, param, profile: cross_cost(ctx, profile, param, CROSSINGS[param])
)
async def crossing_probe(ctx: CheckContext, param: str) -> Finding:
    return await cross(ctx, param, CROSSINGS[param])


@probe(
    GATEWAY,
    "temperature",
    "precision",
    when=_has_upstream,
    cost=lambda ctx, profile: cross_cost(ctx, profile, "temperature", PRECISION),
)
async def precision_probe(ctx: CheckContext) -> Finding:
    """A value a 32-bit float cannot hold: a gateway that parses into one forwards it rounded."""
    return await cross(ctx, "temperature", PRECISION)


def _both_ways(**params: Any) -> Callable[[CheckContext, Profile], Ceiling]:
    """The cost of one request through the gateway and directly."""

    def cost(ctx: CheckContext, profile: Profile) -> Ceiling:
        sent = probe_body(ctx, **params, **reproducible_args(profile))
        return profile_cost(ctx) + through_cost(ctx, sent) + direct_cost(ctx, sent)

    return cost


@probe(GATEWAY, "(request)", "added", when=_has_upstream, cost=_both_ways())
async def added_probe(ctx: CheckContext) -> Finding:
    """What the gateway adds to, or changes in, the plain request."""
    sent = probe_body(ctx, **await reproducible(ctx))
    (tx, fwd), dx = await asyncio.gather(through(ctx, sent), direct(ctx, sent))
    finding = judge_injected(PlainPassage(sent=sent, through=tx, forwarded=fwd, direct=dx))
    return Finding(finding, [dx, tx], notes=_tap_notes(fwd))


@probe(GATEWAY, "stream_options", "added", when=_has_upstream, cost=_both_ways(stream=True))
async def stream_added_probe(ctx: CheckContext) -> Finding:
    """A streamed request: a gateway may add ``stream_options`` (and hide the usage frame)."""
    sent = probe_body(ctx, stream=True, **await reproducible(ctx))
    (tx, fwd), dx = await asyncio.gather(through(ctx, sent), direct(ctx, sent))
    plain = PlainPassage(sent=sent, through=tx, forwarded=fwd, direct=dx, watch="stream_options")
    return Finding(judge_injected(plain), [dx, tx], True, notes=_tap_notes(fwd))


def _stream_cost(ctx: CheckContext, profile: Profile) -> Ceiling:
    n = 2 if documents(ctx, "n", 2) else 1
    return _both_ways(stream=True, **({"n": n} if n > 1 else {}))(ctx, profile)


@probe(GATEWAY, "stream", "through", when=_has_upstream, cost=_stream_cost)
async def stream_probe(ctx: CheckContext) -> Finding:
    """A stream of two choices where ``n`` is documented: each must arrive whole and end once."""
    n = 2 if documents(ctx, "n", 2) else 1
    sent = probe_body(ctx, stream=True, **({"n": n} if n > 1 else {}), **await reproducible(ctx))
    (tx, fwd), dx = await asyncio.gather(through(ctx, sent), direct(ctx, sent))
    finding = judge_stream_passage(StreamPassage(through=tx, direct=dx, n=n))
    return Finding(finding, [dx, tx], True, notes=_tap_notes(fwd))


WRONG_KEY = "sk-harness-wrong-key-0000"


def _needs_key(ctx: CheckContext) -> bool:
    return ctx.upstream is not None and ctx.keys is not None and ctx.keyed


async def _credentials(ctx: CheckContext, wrong: bool) -> Finding:
    keys = ctx.keys
    assert keys is not None
    sent = probe_body(ctx, **await reproducible(ctx))

    async def both() -> tuple[Exchange, Exchange]:
        # One after the other, always in this order: both are the same request to a cassette;
        # and none through the tap meanwhile (a gateway checking no key forwards them).
        async with ctx.tap.alone() if ctx.tap is not None else contextlib.nullcontext():
            return await keys(sent, None), await keys(sent, WRONG_KEY)

    (keyed, _), (missing, mistaken) = await asyncio.gather(through(ctx, sent), ctx.shared.credentials.get(None, both))
    refused, how = (mistaken, "a wrong key") if wrong else (missing, "no key")
    return Finding(judge_credentials(KeyPassage(keyed=keyed, refused=refused, how=how)), [keyed, refused])


def _credentials_cost(ctx: CheckContext, profile: Profile) -> Ceiling:
    """The keyed request through, and the two without a key and with a wrong one (once per run)."""
    sent = probe_body(ctx, **reproducible_args(profile))
    refused = shared("credentials", fresh(ctx.context_tokens, sent, 2))
    return profile_cost(ctx) + through_cost(ctx, sent) + refused


@probe(GATEWAY, "(api key)", "missing", when=_needs_key, cost=_credentials_cost)
async def missing_key_probe(ctx: CheckContext) -> Finding:
    """A missing key must be a 401 with an OpenAI error envelope."""
    return await _credentials(ctx, wrong=False)


@probe(GATEWAY, "(api key)", "wrong", when=_needs_key, cost=_credentials_cost)
async def wrong_key_probe(ctx: CheckContext) -> Finding:
    """So must a wrong one."""
    return await _credentials(ctx, wrong=True)


UNKNOWN_MODEL = "harness-unknown-model"


def _unknown_model_cost(ctx: CheckContext, profile: Profile) -> Ceiling:
    """One raw request directly and one through: neither de-duplicated."""
    sent = {**probe_body(ctx, **reproducible_args(profile)), "model": UNKNOWN_MODEL}
    return profile_cost(ctx) + fresh(ctx.context_tokens, sent, 2)


@probe(
    GATEWAY,
    "model",
    "unknown",
    when=lambda ctx: ctx.raw is not None and ctx.upstream is not None,
    cost=_unknown_model_cost,
)
async def unknown_model_probe(ctx: CheckContext) -> Finding:
    """A model name neither knows: the gateway's status must be the upstream's (llama-server
    serves its one model whatever the name; a gateway answering 404 refuses what it accepts)."""
    assert ctx.raw is not None and ctx.upstream is not None and ctx.upstream.raw is not None
    sent = {**probe_body(ctx, **await reproducible(ctx)), "model": UNKNOWN_MODEL}
    direct_answer = await ctx.upstream.raw(sent)
    async with ctx.tap.alone() if ctx.tap is not None else contextlib.nullcontext():
        through_answer = await ctx.raw(sent)
    judgement = judge_status(through_answer, direct_answer, f"model={UNKNOWN_MODEL!r}") or Judgement(
        Verdict.PASSED,
        f"model={UNKNOWN_MODEL!r}: answered {through_answer.status} through the gateway as directly",
        f"the upstream answers the same request with HTTP {direct_answer.status}",
    )
    if judgement.verdict is Verdict.PASSED and direct_answer.ok != through_answer.ok:
        judgement = Judgement(
            Verdict.INCONCLUSIVE,
            f"model={UNKNOWN_MODEL!r}: HTTP {through_answer.status} through, {direct_answer.status} direct",
        )
    return Finding(judgement, [direct_answer, through_answer], UNKNOWN_MODEL)
