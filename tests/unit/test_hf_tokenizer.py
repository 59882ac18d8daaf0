"""The tokenizer generated for vLLM's model: any text survives encode and decode (byte
fallback), words are single pieces, and the chat template is the GGUF's, opened by BOS."""

from __future__ import annotations

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from harness.local.hf_model import BOS, HF_CHAT_TEMPLATE, tokenizer_json
from harness.local.model import vocabulary


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
