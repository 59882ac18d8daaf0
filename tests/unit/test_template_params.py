"""The generated models' chat template reads the template parameters (issue 31) and renders
every request that does not set them byte for byte as the template the cassettes were
recorded with, so no recorded verdict moves."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import jinja2
import pytest

from harness.local import model
from harness.local.model import CHATML_TEMPLATE

# The template every cassette before issue 31 was recorded with: the same without its first
# block, pinned by the digest in the cached model names of that time.
RECORDED_TAG = "2b851a13"
OLD_TEMPLATE = CHATML_TEMPLATE.removeprefix(model._PARAMETERS_BLOCK)

CALL = {"id": "c1", "type": "function", "function": {"name": "set_size", "arguments": '{"size": 3}'}}
TOOL = {"type": "function", "function": {"name": "set_size", "parameters": {"type": "object", "properties": {}}}}
CONVERSATIONS: list[dict[str, Any]] = [
    {"messages": [{"role": "user", "content": "Say hello."}]},
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]},
    {"messages": [{"role": "user", "content": "Set it."}], "tools": [TOOL]},
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Set it."},
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "c1", "content": "done"},
        ],
        "tools": [TOOL],
    },
]
# What servers pass to every render without the request asking: llama-server enable_thinking
# (false for a template without reasoning), vLLM possibly reasoning_effort=None.
SERVER_DEFAULTS: list[dict[str, Any]] = [{}, {"enable_thinking": False}, {"reasoning_effort": None}]


def render(template: str, trim: bool, **variables: Any) -> str:
    env = jinja2.Environment(trim_blocks=trim, lstrip_blocks=trim)
    env.filters["tojson"] = json.dumps
    return env.from_string(template).render(add_generation_prompt=True, **variables)


def test_the_old_template_is_the_one_recorded() -> None:
    assert hashlib.sha256(OLD_TEMPLATE.encode()).hexdigest()[:8] == RECORDED_TAG
    assert model.TEMPLATE_TAG != RECORDED_TAG  # a changed template is a new model file


@pytest.mark.parametrize("trim", [False, True])
@pytest.mark.parametrize("defaults", SERVER_DEFAULTS, ids=["none", "enable_thinking-false", "effort-none"])
@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=["user", "system", "tools", "history"])
def test_requests_without_template_parameters_render_byte_identically(
    trim: bool, defaults: dict[str, Any], conversation: dict[str, Any]
) -> None:
    assert render(CHATML_TEMPLATE, trim, **conversation, **defaults) == render(
        OLD_TEMPLATE, trim, **conversation, **defaults
    )


@pytest.mark.parametrize(
    ("variables", "line"),
    [
        ({"reasoning_effort": "low"}, "Reasoning effort: low"),
        ({"reasoning_effort": "high"}, "Reasoning effort: high"),
        ({"enable_thinking": True}, "Thinking: on"),
        ({"thinking": {"type": "enabled"}}, "Thinking requested"),
    ],
)
def test_each_template_parameter_changes_the_prompt(variables: dict[str, Any], line: str) -> None:
    for conversation in CONVERSATIONS:
        new, old = (
            render(CHATML_TEMPLATE, False, **conversation, **variables),
            render(OLD_TEMPLATE, False, **conversation),
        )
        assert new != old and new.startswith(f"<|im_start|>system\n{line}<|im_end|>\n") and new.endswith(old)
