"""What LiteLLM does with OpenAI's chat parameters, per provider prefix: the ones it refuses
(or, with ``drop_params``, drops) before a request leaves it, unless a deployment lists them in
``allowed_openai_params``. Read from LiteLLM 1.106.12's own ``get_supported_openai_params``
for a model name it has no entry for (an OpenAI-compatible server's); a test compares this
table with the LiteLLM the local build installs, so a new LiteLLM that changes it is noticed.
LiteLLM is not a dependency of the harness: an export needs only this table."""

from __future__ import annotations

LITELLM_VERSION = "1.106.12"
# Every OpenAI parameter LiteLLM filters by a provider's supported list: one the list lacks is
# refused (dropped under drop_params), or, for `user`, silently left out of the request. Less
# LiteLLM's own controls (drop_params, allowed_openai_params, extra_headers, max_retries ...) and
# `metadata`, which it takes as its own and never forwards, allowed or not. A parameter outside
# this set (top_k, min_p, a vendor's extension) is not filtered: LiteLLM forwards it.
CHECKED = frozenset(
    [
        "audio", "context_management", "frequency_penalty", "function_call", "functions",
        "include_server_side_tool_invocations", "logit_bias", "logprobs", "max_completion_tokens",
        "max_tokens", "modalities", "n", "parallel_tool_calls", "prediction",
        "presence_penalty", "prompt_cache_key", "prompt_cache_retention", "reasoning_effort",
        "response_format", "safety_identifier", "seed", "service_tier", "stop", "store", "stream",
        "stream_options", "temperature", "thinking", "tool_choice", "tools", "top_logprobs", "top_p",
        "user", "verbosity", "web_search_options",
    ]
)  # fmt: skip
# The checked parameters each provider prefix does not list as supported.
UNSUPPORTED: dict[str, frozenset[str]] = {
    "openai": frozenset(
        ["context_management", "include_server_side_tool_invocations", "thinking", "user", "verbosity"]
    ),
    "hosted_vllm": frozenset(["context_management", "include_server_side_tool_invocations", "user", "verbosity"]),
    "llamafile": frozenset(
        [
            "context_management",
            "include_server_side_tool_invocations",
            "reasoning_effort",
            "thinking",
            "user",
            "verbosity",
        ]
    ),
    "lm_studio": frozenset(
        [
            "context_management",
            "include_server_side_tool_invocations",
            "reasoning_effort",
            "thinking",
            "user",
            "verbosity",
        ]
    ),
    "openrouter": frozenset(["context_management", "include_server_side_tool_invocations", "user", "verbosity"]),
    "deepseek": frozenset(["context_management", "include_server_side_tool_invocations", "user", "verbosity"]),
    "together_ai": frozenset(
        [
            "context_management",
            "include_server_side_tool_invocations",
            "reasoning_effort",
            "thinking",
            "user",
            "verbosity",
        ]
    ),
    "fireworks_ai": frozenset(
        [
            "audio",
            "context_management",
            "function_call",
            "functions",
            "include_server_side_tool_invocations",
            "modalities",
            "prompt_cache_retention",
            "reasoning_effort",
            "safety_identifier",
            "store",
            "thinking",
            "tool_choice",
            "verbosity",
            "web_search_options",
        ]
    ),
    "groq": frozenset(
        [
            "context_management",
            "include_server_side_tool_invocations",
            "reasoning_effort",
            "thinking",
            "user",
            "verbosity",
            "web_search_options",
        ]
    ),
    "mistral": frozenset(
        [
            "audio",
            "context_management",
            "frequency_penalty",
            "function_call",
            "functions",
            "include_server_side_tool_invocations",
            "logit_bias",
            "logprobs",
            "modalities",
            "n",
            "prediction",
            "presence_penalty",
            "prompt_cache_key",
            "prompt_cache_retention",
            "reasoning_effort",
            "safety_identifier",
            "service_tier",
            "store",
            "stream_options",
            "thinking",
            "top_logprobs",
            "user",
            "verbosity",
            "web_search_options",
        ]
    ),
    "deepinfra": frozenset(
        [
            "audio",
            "context_management",
            "include_server_side_tool_invocations",
            "logprobs",
            "modalities",
            "parallel_tool_calls",
            "prediction",
            "prompt_cache_key",
            "prompt_cache_retention",
            "reasoning_effort",
            "safety_identifier",
            "seed",
            "service_tier",
            "store",
            "stream_options",
            "thinking",
            "top_logprobs",
            "user",
            "verbosity",
            "web_search_options",
        ]
    ),
    "nvidia_nim": frozenset(
        [
            "audio",
            "context_management",
            "function_call",
            "functions",
            "include_server_side_tool_invocations",
            "logit_bias",
            "logprobs",
            "modalities",
            "n",
            "prediction",
            "prompt_cache_key",
            "prompt_cache_retention",
            "reasoning_effort",
            "safety_identifier",
            "service_tier",
            "store",
            "stream_options",
            "thinking",
            "top_logprobs",
            "user",
            "verbosity",
            "web_search_options",
        ]
    ),
}
