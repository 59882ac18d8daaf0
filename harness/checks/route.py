"""The route a router column is pinned to (providers.toml ``routes``): every request of the
column carries OpenRouter's pin (``provider: {"order": [route], "allow_fallbacks": false}``,
added by the client), and every reply names the upstream that served it. Replies served by
another upstream are this check's own finding, counted over the whole run after every other
unit; the probes that read one are INCONCLUSIVE (``engine.build_record``), never credited."""

from __future__ import annotations

from harness.checks.cost import NOTHING
from harness.checks.findings import Finding, case_id
from harness.checks.judges.route import ROUTE_CHECK, RouteTally, judge_route
from harness.checks.registry import CheckContext, Unit, check

ROUTE = ROUTE_CHECK
PARAM, LABEL = "provider", "pinned"


async def _served(tally: RouteTally) -> list[Finding]:
    shown = [e for e in (tally.off_example, tally.on_example) if e is not None]
    # The examples were paid for by the probes that sent them: this finding costs nothing.
    return [Finding(judge_route(tally), shown, spent=(), check=ROUTE, param=PARAM, label=LABEL)]


@check(ROUTE, "every reply of a pinned route is served by the pinned upstream", reads_all=True)
def route(ctx: CheckContext) -> list[Unit]:
    if ctx.route is None:
        return []
    tally = RouteTally(ctx.route)
    ctx.send.observe(tally.add)
    # It counts the replies other units paid for: it sends nothing.
    return [Unit(case_id(ROUTE, PARAM, LABEL), PARAM, lambda: _served(tally), lambda _profile: NOTHING)]
