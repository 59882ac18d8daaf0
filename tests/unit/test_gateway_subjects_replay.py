"""The through-gateway differential on the three real gateways, replayed from what they
forwarded to llama-server (recorded live with the recording tap between them): each names
what the gateway does, as direct probes of it showed (issue 28; tests/subject_known_answers.py
holds the direct answers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.results import Verdict, read_results
from harness.runs import RunOptions, run_provider

V = Verdict
# (parameter, label) -> verdict, per gateway: what the direct probes found.
KNOWN = {
    "portkey-local": {
        ("top_k", "through"): V.DROPPED,
        ("min_p", "through"): V.DROPPED,
        ("repetition_penalty", "through"): V.DROPPED,
        ("extra_body", "through"): V.DROPPED,
        ("chat_template_kwargs", "through"): V.DROPPED,
        ("temperature", "through"): V.CLAMPED,  # 2.5 forwarded as 2
        ("top_p", "through"): V.CLAMPED,  # 1.5 as 1: no output change, the tap decides
        ("frequency_penalty", "through"): V.CLAMPED,
        ("presence_penalty", "through"): V.CLAMPED,
        ("max_tokens", "through"): V.CLAMPED,  # -5 as 0: llama-server's 400 turned into a 200
        ("stream", "through"): V.BROKEN,  # every stream a 500 that is no OpenAI envelope
        ("user", "through"): V.PASSED,
    },
    "litellm-local": {
        ("stream_options", "added"): V.ADDED,  # include_usage injected upstream
        ("stream", "through"): V.BROKEN,  # n: 2, choice 1 never ends
        ("user", "through"): V.DROPPED,
        ("extra_body", "through"): V.TRANSLATED,  # unwrapped one level
        ("(api key)", "missing"): V.BROKEN,  # a text/plain 500, not a 401
        ("(api key)", "wrong"): V.BROKEN,  # a 400, not a 401
        ("temperature", "through"): V.PASSED,
        ("top_k", "through"): V.PASSED,
    },
    "smg-local": {
        ("temperature", "through"): V.REFUSED,  # a 400 before the backend sees it
        ("top_p", "through"): V.REFUSED,
        ("frequency_penalty", "through"): V.REFUSED,
        ("presence_penalty", "through"): V.REFUSED,
        ("temperature", "precision"): V.TRANSLATED,  # 32-bit floats: 1.0000000000000002 as 1.0
        ("(request)", "added"): V.ADDED,  # logprobs: false, stream: false on every request
        ("model", "unknown"): V.REFUSED,  # 404 where llama-server answers 200
        ("top_k", "through"): V.PASSED,
    },
}


@pytest.mark.parametrize("gateway", sorted(KNOWN))
def test_the_gateway_differential_names_what_each_real_gateway_does(gateway: str, tmp_path: Path) -> None:
    run_provider(RunOptions(gateway, mode="replay", out=tmp_path, checks=["gateway"], progress=False))
    found = {(r.param, r.label): r.verdict for r in read_results(tmp_path / "results.jsonl") if r.check == "gateway"}
    assert {key: found.get(key) for key in KNOWN[gateway]} == KNOWN[gateway]
    # Every probe replays offline: nothing is missing from the four cassettes.
    assert not any(v is V.NOT_RECORDED for v in found.values())
