"""Generate the tiny LLaMA model in Hugging Face format, for vLLM.

The same recipe as the GGUF (``harness.local.model``): the same vocabulary, the same seeded
weights with the same two shapes (byte and control tokens pushed down, closing punctuation
favoured), so sampled text varies, greedy output repeats and JSON mode closes quickly. It is
wider than the GGUF because vLLM's CPU attention needs a head size of at least 32.

The folder holds what a Hugging Face model repository holds: ``config.json``,
``model.safetensors``, a ``tokenizer.json`` built here with the ``tokenizers`` library (a
Unigram model over the vocabulary, with byte fallback), ``tokenizer_config.json`` with the
ChatML chat template, and ``generation_config.json`` with no sampling values, so vLLM's own
defaults apply (a copy with sampling values there, ``ensure_genconfig_model``, shows what
vLLM does with a model's own defaults). Every file is byte-identical on every run; nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from harness.local.model import (
    CHATML_TEMPLATE,
    MODEL_NAME,
    N_CTX,
    SEED,
    TEMPLATE_TAG,
    Shape,
    model_cache_dir,
    suppressed_and_favoured,
    vocabulary,
    weights,
)

# Head size 32 (128 / 4); the head's spread scaled so the logits spread as in the GGUF.
HF_SHAPE = Shape(n_layers=2, n_embd=128, n_head=4, n_ff=256, head_std=0.35)
FOLDER_NAME = f"{MODEL_NAME}-hf-{HF_SHAPE.n_layers}x{HF_SHAPE.n_embd}-s{SEED}-t{TEMPLATE_TAG}"

SPECIALS = ("<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>")
BOS, EOS = "<s>", "<|im_end|>"

# vLLM renders the template and tokenizes the result without adding special tokens, so the
# template opens with BOS itself (llama.cpp adds BOS on its own for the GGUF).
HF_CHAT_TEMPLATE = "{{ bos_token }}" + CHATML_TEMPLATE

# GGUF tensor names -> Hugging Face LLaMA names (same (out, in) layout).
_TOP_LEVEL = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
_PER_LAYER = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def hf_name(gguf_name: str) -> str:
    if gguf_name in _TOP_LEVEL:
        return _TOP_LEVEL[gguf_name]
    _, layer, part, suffix = gguf_name.split(".")
    return f"model.layers.{layer}.{_PER_LAYER[part]}.{suffix}"


def config(n_vocab: int, eos_id: int) -> dict[str, object]:
    shape = HF_SHAPE
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": n_vocab,
        "hidden_size": shape.n_embd,
        "intermediate_size": shape.n_ff,
        "num_hidden_layers": shape.n_layers,
        "num_attention_heads": shape.n_head,
        "num_key_value_heads": shape.n_head,
        "head_dim": shape.n_embd // shape.n_head,
        "hidden_act": "silu",
        "max_position_embeddings": N_CTX,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "bos_token_id": SPECIALS.index(BOS),
        "eos_token_id": eos_id,
    }


def tokenizer_json(tokens: list[str], types: list[int]) -> str:
    """A Unigram tokenizer over the vocabulary: longest pieces win, unknown text falls back to
    the 256 byte tokens, and a space becomes the ``▁`` that starts a word piece."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    # Unigram picks the segmentation with the highest total score: a constant cost per piece
    # makes it the one with the fewest pieces. Byte tokens are the last resort.
    kinds = zip(tokens, types, strict=True)
    vocab = [(tok, -1000.0 if kind == 6 else -1.0 - i * 1e-6) for i, (tok, kind) in enumerate(kinds)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never")
    tokenizer.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, SPECIALS.index(BOS))]
    )
    text: str = tokenizer.to_str(pretty=True)
    return text


def _json(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_hf_model(folder: Path, sampling: bool = False, defaults: Mapping[str, float] | None = None) -> Path:
    """Write the model folder (atomically: a half-written folder is never served). With
    ``sampling``, its generation_config.json sets ``do_sample``: ``transformers serve`` takes
    its defaults from there and decodes greedily without it, whatever the temperature.
    ``defaults``: sampling values (temperature, top_p ...) it sets as well, as many published
    models' generation_config.json do; they imply ``do_sample``."""
    from safetensors.numpy import save_file

    tokens, _, types = vocabulary()
    suppressed, favoured = suppressed_and_favoured(tokens, types)
    eos_id = tokens.index(EOS)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tensors = {hf_name(k): v for k, v in weights(len(tokens), suppressed, favoured, HF_SHAPE).items()}
    save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    (tmp / "config.json").write_text(_json(config(len(tokens), eos_id)))
    generation: dict[str, object] = {"bos_token_id": SPECIALS.index(BOS), "eos_token_id": eos_id}
    if sampling or defaults:
        generation["do_sample"] = True
    generation.update(defaults or {})
    (tmp / "generation_config.json").write_text(_json(generation))
    (tmp / "tokenizer.json").write_text(tokenizer_json(tokens, types))
    (tmp / "tokenizer_config.json").write_text(
        _json(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": BOS,
                "eos_token": EOS,
                "unk_token": "<unk>",
                "pad_token": "<unk>",
                "model_max_length": N_CTX,
                "chat_template": HF_CHAT_TEMPLATE,
                "clean_up_tokenization_spaces": False,
            }
        )
    )
    shutil.rmtree(folder, ignore_errors=True)
    tmp.replace(folder)
    return folder


def ensure_hf_model() -> Path:
    """The cached model folder, generated on first use."""
    folder = model_cache_dir() / FOLDER_NAME
    if not (folder / "config.json").is_file():
        write_hf_model(folder)
    return folder


def ensure_transformers_model() -> Path:
    """A copy of the model that samples (``do_sample`` in its generation_config.json), for
    ``transformers serve``; vLLM's copy stays as it is, so its cassettes stay true. The
    folder is named after the model (``tiny-llama``): transformers serve, pinned to one model,
    accepts only requests naming that model, so it is started in the folder's parent and
    given the bare name."""
    folder = model_cache_dir() / f"{FOLDER_NAME}-sampling" / MODEL_NAME
    if not (folder / "config.json").is_file():
        write_hf_model(folder, sampling=True)
    return folder


def genconfig_folder(defaults: Mapping[str, float]) -> Path:
    """Where the copy with ``defaults`` in its generation_config.json lives: named after the
    values, so a changed entry in providers.toml gets a copy of its own."""
    values = "-".join(f"{name}{value:g}" for name, value in sorted(defaults.items()))
    return model_cache_dir() / f"{FOLDER_NAME}-gen-{values}"


def ensure_genconfig_model(defaults: Mapping[str, float]) -> Path:
    """A copy of the model whose generation_config.json sets ``defaults`` (providers.toml's
    ``model_defaults``): vLLM applies them to every request that omits them (its
    ``--generation-config auto``, the default), the case the default check names. The plain
    copy stays as it is, so vllm-local's cassettes stay true."""
    folder = genconfig_folder(defaults)
    if not (folder / "config.json").is_file():
        write_hf_model(folder, defaults=defaults)
    return folder


if __name__ == "__main__":
    print(ensure_hf_model())
