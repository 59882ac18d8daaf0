"""A router's routes: the pin every request of a route column carries, the upstream each reply
names, and replies from another upstream than pinned as their own finding, never credited to
a parameter. Against a synthetic router that keeps its pins and one that does not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import yaml

from harness.checks import CheckContext
from harness.checks.judges import Judgement
from harness.checks.judges.route import RouteTally, judge_route, off_route_judgement
from harness.cli import main
from harness.engine import DedupingSender, in_order_json, plan, run_units
from harness.generation import build_matrix
from harness.results import DECIDED, Record, ResultsWriter, Verdict, read_results
from harness.schema import Surface
from harness.transport import ClientSettings, Exchange, Outcome, ProviderClient
from harness.transport.routes import pinned_body, pinned_to, same_upstream, served_by
from tests.synthetic import Behaviour, SyntheticProvider, served

ROOT = Path(__file__).resolve().parents[2]
UPSTREAMS = {"deepinfra": "DeepInfra", "together": "Together", "novita": "Novita"}
PARAMS = ["temperature", "top_p", "provider"]


def test_the_pin_is_added_or_merged_and_a_body_routing_itself_goes_as_it_is() -> None:
    pin = {"order": ["deepinfra"], "allow_fallbacks": False}
    assert pinned_body({"model": "m"}, "deepinfra") == {"model": "m", "provider": pin}
    # OpenRouter's own `provider` object, saying nothing of routing: the pin joins it.
    assert pinned_body({"provider": {"sort": "price"}}, "deepinfra") == {"provider": {"sort": "price", **pin}}
    for own in ({"order": ["together"]}, {"only": ["x"]}, {"allow_fallbacks": True}, 0.5, None):
        body = {"model": "m", "provider": own}
        assert pinned_body(body, "deepinfra") is body  # the probe of that parameter, unpinned
    assert pinned_to(pinned_body({}, "deepinfra/turbo")) == "deepinfra/turbo"
    assert pinned_to({"provider": {"order": ["deepinfra"]}}) is None  # fallbacks allowed: not a pin


def _reply(json_body: object = None, chunks: list[object] | None = None) -> Exchange:
    exchange = Exchange("POST", "u", pinned_body({"model": "m"}, "deepinfra"), Outcome.RESPONSE, 200)
    exchange.json, exchange.chunks = json_body, list(chunks or [])
    return exchange


def test_the_served_upstream_is_read_from_the_reply_or_its_chunks() -> None:
    assert served_by(_reply({"provider": "DeepInfra", "choices": []})) == "DeepInfra"
    assert served_by(_reply(chunks=[{"choices": []}, {"provider": "Together", "choices": []}])) == "Together"
    assert served_by(_reply({"choices": []})) is None
    assert served_by(_reply({"provider": {"name": "x"}})) is None  # not a name


@pytest.mark.parametrize(
    ("route", "served", "same"),
    [
        ("deepinfra", "DeepInfra", True),
        ("deepinfra/turbo", "DeepInfra", True),
        ("google-vertex", "Google Vertex", True),
        ("nebius", "Nebius AI Studio", True),
        ("deepinfra", "Together", False),
        ("together", "DeepInfra", False),
        ("google-vertex", "Google", True),
        ("google-ai-studio", "Google AI Studio", True),
        ("google-ai-studio", "Google", False),
        ("google-vertex", "Google AI Studio", False),
        ("google-vertex", "Google Vertex (Europe)", True),
    ],
)
def test_a_route_slug_matches_the_display_name_of_its_upstream(route: str, served: str, same: bool) -> None:
    assert same_upstream(route, served) is same


def test_the_route_judge_fails_on_any_off_route_reply_and_needs_named_replies() -> None:
    tally = RouteTally("deepinfra")
    tally.add(Exchange("POST", "u", pinned_body({}, "deepinfra"), Outcome.NOT_RECORDED))  # no reply
    assert tally.pinned == 0 and judge_route(tally).verdict is Verdict.INCONCLUSIVE
    tally.add(_reply({"choices": []}))
    assert judge_route(tally).verdict is Verdict.INCONCLUSIVE  # no reply names its upstream
    for _ in range(3):
        tally.add(_reply({"provider": "DeepInfra"}))
    assert judge_route(tally).verdict is Verdict.HONOURED
    tally.add(_reply({"provider": "Together"}))
    judged = judge_route(tally)
    assert judged.verdict is Verdict.IGNORED
    assert "'deepinfra'" in judged.detail and "1 of 4 replies" in judged.detail and "Together (1)" in judged.detail
    # A reply unpinned (a probe of the `provider` parameter routing itself) is not counted.
    tally.add(Exchange("POST", "u", {"provider": {"order": ["x"]}}, Outcome.RESPONSE, 200, json={"provider": "X"}))
    assert tally.pinned == 5


def test_a_probe_that_read_an_off_route_reply_is_inconclusive_whatever_it_found() -> None:
    honoured = Judgement(Verdict.HONOURED, "changed the output")
    on, off = _reply({"provider": "DeepInfra"}), _reply({"provider": "Together"})
    assert off_route_judgement(honoured, "deepinfra", [on, on]) is None
    overruled = off_route_judgement(honoured, "deepinfra", [on, off])
    assert overruled is not None and overruled.verdict is Verdict.INCONCLUSIVE
    assert "served by Together (1), pinned 'deepinfra'" in overruled.detail and "HONOURED" in overruled.detail
    assert off_route_judgement(Judgement(Verdict.NOT_RECORDED, "x"), "deepinfra", [off]) is None


def _route_run(tmp_path: Path, surface: Surface, behaviour: Behaviour, route: str) -> list[Record]:
    """A column pinned to ``route`` against a synthetic router, through the engine."""
    router = SyntheticProvider(behaviour)

    async def go() -> list[Record]:
        settings = ClientSettings(base_url="http://router.test/v1", retries=0, route=route)
        async with ProviderClient(settings, transport=router.transport()) as client:
            ctx = CheckContext(
                f"router+{route}", surface, "m", build_matrix(surface, "m", PARAMS), DedupingSender(client), route=route
            )
            ctx.params = PARAMS
            writer = ResultsWriter(tmp_path / f"{route}.jsonl")
            stats = await run_units(plan(ctx, ["range", "effect", "route"]), writer, ctx, set())
            writer.close()
            return stats.records

    records = asyncio.run(go())
    # Every request went out pinned, except the probes of `provider` sending no object.
    assert all(pinned_to(body) == route or not isinstance(body["provider"], dict) for body in router.bodies)
    return records


def _served(record: Record) -> set[str]:
    return set(record.evidence.get("served_by", {}))


def _answered(records: list[Record], column: str | None = None) -> list[Record]:
    """The records with a 2xx reply in their evidence (an error names no upstream)."""
    return [
        r
        for r in records
        if (column is None or r.provider == column)
        and any(200 <= (e.get("status") or 0) < 300 for e in r.evidence.get("exchanges", []))
    ]


def test_a_router_keeping_its_pins_gives_no_off_route_finding(tmp_path: Path, catalogue: dict[str, Surface]) -> None:
    records = _route_run(tmp_path, catalogue["openrouter"], Behaviour(upstreams=UPSTREAMS), "deepinfra")
    (route,) = [r for r in records if r.check == "route"]
    assert route.verdict is Verdict.HONOURED and "served by DeepInfra" in route.detail
    answered = _answered(records)
    assert answered and all(_served(r) == {"DeepInfra"} for r in answered)  # each names its upstream
    assert not [r for r in records if "off_route" in r.evidence]
    assert any(r.verdict is Verdict.HONOURED and r.param == "temperature" for r in records)


def test_replies_from_another_upstream_are_their_own_failing_finding_and_credit_no_verdict(
    tmp_path: Path, catalogue: dict[str, Surface]
) -> None:
    # Together, serving some of the requests pinned to DeepInfra, drops temperature.
    behaviour = Behaviour(
        upstreams=UPSTREAMS, off_route=("together",), off_route_every=2, upstream_ignores={"together": {"temperature"}}
    )
    records = _route_run(tmp_path, catalogue["openrouter"], behaviour, "deepinfra")
    (route,) = [r for r in records if r.check == "route"]
    assert route.verdict is Verdict.IGNORED
    assert "'deepinfra'" in route.detail and "Together" in route.detail and "replies served by another" in route.detail
    overruled = [r for r in records if "off_route" in r.evidence]
    assert overruled, "some probe read a reply from Together"
    for record in overruled:
        assert record.verdict is Verdict.INCONCLUSIVE and "pinned 'deepinfra'" in record.detail
        assert "Together" in _served(record)
    # No verdict about a parameter rests on a reply Together served.
    credited = [r for r in records if r.check != "route" and r.verdict in DECIDED and "Together" in _served(r)]
    assert not credited, [(r.case_id, r.verdict) for r in credited]


ROUTER = """[providers.router]
base_url = "{url}"
model = "meta-llama/llama-3.1-8b-instruct"
routes = ["deepinfra", "together"]
schema = "openrouter"
max_parallel_requests = 2
"""


@pytest.mark.parametrize("off_route", [(), ("novita",)])
def test_each_route_is_a_column_of_a_live_run_and_every_record_names_its_upstream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, off_route: tuple[str, ...]
) -> None:
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    out = tmp_path / "out"
    router = SyntheticProvider(Behaviour(upstreams=UPSTREAMS, off_route=off_route, off_route_every=2))
    with served(router) as server:
        (tmp_path / "providers.toml").write_text(ROUTER.format(url=server.base_url))
        argv = ["run", "--provider", "router", "--mode", "live", "--params", ",".join(PARAMS), "--gate", "none"]
        assert main([*argv, "--checks", "range,effect,route", "--out", str(out)]) == 0
    records = read_results(out / "results.jsonl")
    assert {r.provider for r in records} == {"router+deepinfra", "router+together"}
    for column, name in (("router+deepinfra", "DeepInfra"), ("router+together", "Together")):
        (route,) = [r for r in records if r.provider == column and r.check == "route"]
        # (The probes of `provider` sending no object route themselves: unpinned, any upstream.)
        sent = [r for r in _answered(records, column) if r.param != "provider"]
        assert sent
        if off_route:
            assert route.verdict is Verdict.IGNORED and "Novita" in route.detail
            assert all(_served(r) <= {name, "Novita"} for r in sent)
        else:
            assert route.verdict is Verdict.HONOURED
            assert all(_served(r) == {name} for r in sent)


def test_the_client_pins_every_request_and_keeps_a_body_sent_in_its_own_order() -> None:
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, json={"provider": "DeepInfra", "choices": []})

    async def go() -> list[Exchange]:
        settings = ClientSettings(base_url="http://router.test/v1", retries=0, route="deepinfra")
        async with ProviderClient(settings, transport=httpx.MockTransport(answer)) as client:
            body = {"z": 1, "model": "m"}
            return [await client.send(body), await client.send(body, encoded=in_order_json(body))]

    sorted_one, in_order = asyncio.run(go())
    assert seen[0] == b'{"model":"m","provider":{"allow_fallbacks":false,"order":["deepinfra"]},"z":1}'
    # A body sent in its own key order keeps it, the pin last.
    assert seen[1] == b'{"z":1,"model":"m","provider":{"order":["deepinfra"],"allow_fallbacks":false}}'
    assert pinned_to(sorted_one.body) == pinned_to(in_order.body) == "deepinfra"


def test_a_route_columns_litellm_export_keeps_its_key_and_its_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The LiteLLM entry of a route column names the entry's key and pins the upstream its
    evidence came from (``extra_body.provider``): unpinned, LiteLLM would send anywhere."""
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    monkeypatch.setenv("ROUTER_EXPORT_KEY", "sk-router-export-0123456789")
    out = tmp_path / "out"
    with served(SyntheticProvider(Behaviour(upstreams=UPSTREAMS))) as server:
        entry = ROUTER.format(url=server.base_url) + 'api_key_env = "ROUTER_EXPORT_KEY"\n'
        (tmp_path / "providers.toml").write_text(entry)
        argv = ["run", "--provider", "router", "--mode", "live", "--params", "temperature", "--checks", "range"]
        assert main([*argv, "--gate", "none", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["export", "litellm", str(out)]) == 0
    text = capsys.readouterr().out
    entries = {e["model_name"]: e["litellm_params"] for e in yaml.safe_load(text)["model_list"]}
    for column, route in (("router+deepinfra", "deepinfra"), ("router+together", "together")):
        assert entries[column]["api_key"] == "os.environ/ROUTER_EXPORT_KEY"
        assert entries[column]["extra_body"] == {"provider": {"order": [route], "allow_fallbacks": False}}
    assert "sk-router-export" not in text
