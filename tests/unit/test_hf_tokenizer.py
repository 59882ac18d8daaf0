"""The tokenizer generated for vLLM's model: any text survives encode and decode (byte
fallback), words are single pieces, and the chat template is the GGUF's, opened by BOS; the
template renders plain ChatML without tools, and declares tools and calls Hermes-style."""

from __future__ import annotations

import json

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from harness.local.hf_model import BOS, HF_CHAT_TEMPLATE, tokenizer_json
from harness.local.model import CHATML_TEMPLATE, vocabulary


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    tokens, _, types = vocabulary()
    return Tokenizer.from_str(tokenizer_json(tokens, types))


# U+2581 is the tokenizer's own space marker (a literal one decodes as a space, as in any
# SentencePiece model); surrogates are not text.
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\u2581"), max_size=60)


@given(text=TEXT)
@settings(max_examples=300, deadline=None)
def test_any_text_round_trips(tokenizer: Tokenizer, text: str) -> None:
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    assert tokenizer.decode(ids, skip_special_tokens=False) == text


def test_words_are_single_pieces_and_bos_is_added(tokenizer: Tokenizer) -> None:
    encoding = tokenizer.encode("hello world json")
    assert encoding.tokens == [BOS, "hello", "\u2581world", "\u2581json"]
    assert tokenizer.encode("é").tokens == [BOS, "<0xC3>", "<0xA9>"]  # not in the vocabulary: bytes


def test_chat_template_renders_chatml_after_bos() -> None:
    rendered = (
        jinja2.Environment()
        .from_string(HF_CHAT_TEMPLATE)
        .render(messages=[{"role": "user", "content": "Say hello."}], add_generation_prompt=True, bos_token=BOS)
    )
    assert rendered == "<s><|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\n"


def test_special_tokens_are_single_ids(tokenizer: Tokenizer) -> None:
    ids = tokenizer.encode("<|im_start|>user<|im_end|>", add_special_tokens=False).ids
    assert ids[0] == tokenizer.token_to_id("<|im_start|>") and ids[-1] == tokenizer.token_to_id("<|im_end|>")


# A tool call rendered back into the conversation, the way the servers' format detectors
# (llama.cpp's autoparser, vLLM's hermes parser) expect to find it.
TOOLS = [{"type": "function", "function": {"name": "set_size", "parameters": {"type": "object"}}}]
CALL = {"id": "c1", "type": "function", "function": {"name": "set_size", "arguments": '{"size": 3}'}}


@pytest.mark.parametrize("trim", [False, True])  # llama-cpp-python renders with trim_blocks/lstrip_blocks
def test_chat_template_declares_tools_and_renders_calls(trim: bool) -> None:
    env = jinja2.Environment(trim_blocks=trim, lstrip_blocks=trim)
    env.filters["tojson"] = json.dumps
    template = env.from_string(CHATML_TEMPLATE)
    plain = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]
    assert template.render(messages=plain, add_generation_prompt=True) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\n"
    )
    history = [
        *plain,
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
    ]
    rendered = template.render(messages=history, tools=TOOLS, add_generation_prompt=True)
    assert rendered.startswith("<|im_start|>system\nBe brief.\n\n# Tools\n")
    assert f"<tools>\n{json.dumps(TOOLS[0])}\n</tools>" in rendered
    assert (
        '<|im_start|>assistant\n<tool_call>\n{"name": "set_size", "arguments": {"size": 3}}\n</tool_call><|im_end|>'
        in rendered
    )
    assert "<|im_start|>user\n<tool_response>\ndone\n</tool_response><|im_end|>" in rendered
    assert rendered.count("Be brief.") == 1
