"""Generate the tiny LLaMA-architecture GGUF that the local servers serve.

No model can be downloaded here, so the harness writes its own: 2 layers, 64 wide, a
SentencePiece-style vocabulary of about 600 pieces with byte fallback, BOS/EOS, and a ChatML
chat template. The weights are random but seeded, so the file is byte-identical on every
run and every probe is reproducible. Its output is word salad; every probe the harness needs
(sampling, penalties, stop, logprobs, grammars) works on it.

Two deliberate shapes in the weights: the first hidden dimension of every token embedding
is a constant, and the output head reads it to push byte and control tokens far down, so
sampled text is readable words, never stray bytes; and the logits are spread (std ~4) so
that temperature, top_k, top_p and min_p each change what is sampled.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEED = 20261122
N_LAYERS = 2
N_EMBD = 64
N_HEAD = 4
N_FF = 128
N_CTX = 2048
FAVOUR = 1.5
MODEL_NAME = "tiny-llama"

# ChatML, declaring tools the way Hermes / Qwen2.5 templates do: the definitions in a system
# block inside <tools>, calls as <tool_call>{"name": ..., "arguments": ...}</tool_call>. Servers
# pick their tool-call format from the template (llama.cpp's autoparser diffs its renders; vLLM's
# "hermes" parser reads these tags), so without it no server does tool calling on our model. A
# request without tools renders exactly as plain ChatML. One line, no whitespace control: the
# servers' Jinja engines differ in trim_blocks/lstrip_blocks.
_TOOLS_BLOCK = (
    "{% if tools %}"
    "{{ '<|im_start|>system\n' }}"
    "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] + '\n\n' }}{% endif %}"
    "{{ '# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>' }}"
    "{% for tool in tools %}{{ '\n' }}{{ tool | tojson }}{% endfor %}"
    "{{ '\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
    "<args-json-object>}\n</tool_call><|im_end|>\n' }}"
    "{% endif %}"
)
_MESSAGES = (
    "{% for message in messages %}"
    "{% if tools and loop.first and message['role'] == 'system' %}"
    "{% elif message['role'] == 'assistant' and message['tool_calls'] %}"
    "{{ '<|im_start|>assistant\n' }}{% if message['content'] %}{{ message['content'] }}{% endif %}"
    "{% for call in message['tool_calls'] %}"
    "{% if call['function'] is defined %}{% set call = call['function'] %}{% endif %}"
    "{% if not loop.first or message['content'] %}{{ '\n' }}{% endif %}"
    "{{ '<tool_call>\n{\"name\": \"' + call['name'] + '\", \"arguments\": ' }}"
    "{% if call['arguments'] is string %}{{ call['arguments'] }}{% else %}{{ call['arguments'] | tojson }}{% endif %}"
    "{{ '}\n</tool_call>' }}"
    "{% endfor %}"
    "{{ '<|im_end|>\n' }}"
    "{% elif message['role'] == 'tool' %}"
    "{{ '<|im_start|>user\n<tool_response>\n' + message['content'] + '\n</tool_response><|im_end|>\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endif %}"
    "{% endfor %}"
)
# Template parameters, each a system line of its own before everything else, rendered only
# when the request sets it: the template check sees a server pass them on (prompt tokens), and
# every other request renders byte for byte as before. Only a true enable_thinking and a
# non-empty reasoning_effort render: llama-server passes enable_thinking=false to every render
# of a template it finds no reasoning in, and vLLM may pass reasoning_effort=None; and lines at
# the start, not at the generation prompt, leave llama.cpp's reasoning detection (which diffs
# the renders' tails) finding none.
_PARAMETERS_BLOCK = (
    "{% if reasoning_effort is defined and reasoning_effort %}"
    "{{ '<|im_start|>system\nReasoning effort: ' + reasoning_effort + '<|im_end|>\n' }}"
    "{% endif %}"
    "{% if enable_thinking is defined and enable_thinking %}"
    "{{ '<|im_start|>system\nThinking: on<|im_end|>\n' }}"
    "{% endif %}"
    "{% if thinking is defined and thinking %}"
    "{{ '<|im_start|>system\nThinking requested<|im_end|>\n' }}"
    "{% endif %}"
)
# The request parameters the template reads (providers.toml's template_reads for local servers).
TEMPLATE_READS = ("reasoning_effort", "chat_template_kwargs", "thinking")
CHATML_TEMPLATE = (
    _PARAMETERS_BLOCK
    + _TOOLS_BLOCK
    + _MESSAGES
    + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# In the cached file's name: a changed template is a new model, never a stale cached one.
TEMPLATE_TAG = hashlib.sha256(CHATML_TEMPLATE.encode()).hexdigest()[:8]
FILE_NAME = f"{MODEL_NAME}-{N_LAYERS}x{N_EMBD}-s{SEED}-t{TEMPLATE_TAG}.gguf"

_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "it",
    "for",
    "on",
    "that",
    "with",
    "as",
    "by",
    "at",
    "from",
    "his",
    "an",
    "be",
    "this",
    "which",
    "or",
    "are",
    "had",
    "not",
    "but",
    "have",
    "were",
    "one",
    "all",
    "they",
    "their",
    "there",
    "has",
    "been",
    "when",
    "who",
    "will",
    "more",
    "no",
    "if",
    "out",
    "so",
    "said",
    "what",
    "up",
    "its",
    "about",
    "into",
    "than",
    "them",
    "can",
    "only",
    "other",
    "new",
    "some",
    "could",
    "time",
    "these",
    "two",
    "may",
    "then",
    "do",
    "first",
    "any",
    "my",
    "now",
    "such",
    "like",
    "our",
    "over",
    "man",
    "me",
    "even",
    "most",
    "made",
    "after",
    "also",
    "did",
    "many",
    "before",
    "must",
    "through",
    "back",
    "years",
    "where",
    "much",
    "your",
    "way",
    "well",
    "down",
    "should",
    "because",
    "each",
    "just",
    "those",
    "people",
    "how",
    "too",
    "little",
    "state",
    "good",
    "very",
    "make",
    "world",
    "still",
    "own",
    "see",
    "men",
    "work",
    "long",
    "get",
    "here",
    "between",
    "both",
    "life",
    "being",
    "under",
    "never",
    "day",
    "same",
    "another",
    "know",
    "while",
    "last",
    "might",
    "us",
    "great",
    "old",
    "year",
    "off",
    "come",
    "since",
    "against",
    "go",
    "came",
    "right",
    "used",
    "take",
    "three",
    "hello",
    "world",
    "model",
    "token",
    "sample",
    "text",
    "word",
    "salad",
    "probe",
    "value",
    "range",
    "seed",
    "stop",
    "stream",
    "json",
    "object",
    "array",
    "string",
    "number",
    "true",
    "false",
    "null",
    "key",
    "name",
    "list",
    "item",
    "data",
    "test",
    "case",
    "cat",
    "dog",
    "tree",
    "river",
    "stone",
    "cloud",
    "light",
    "dark",
    "red",
    "blue",
    "green",
    "small",
    "large",
    "quick",
    "slow",
    "bright",
    "quiet",
    "happy",
    "sad",
    "north",
    "south",
    "east",
    "west",
    "city",
    "road",
    "house",
    "door",
    "window",
    "table",
    "chair",
    "book",
    "paper",
    "music",
    "voice",
    "song",
    "dance",
    "game",
    "play",
    "run",
    "walk",
    "jump",
    "swim",
    "fly",
    "read",
    "write",
    "speak",
    "think",
    "dream",
    "hope",
    "wish",
    "love",
]
_PUNCT = list(".,;:!?'\"-()[]{}/\\*_=+<>#@&%$|~`^")


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and types in SentencePiece order: specials, 256 bytes, pieces."""
    tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    types = [2, 3, 3, 3, 3]  # gguf.TokenType: UNKNOWN, CONTROL
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [6] * 256  # BYTE: the fallback that makes any text encodable
    pieces: list[str] = []
    for word in dict.fromkeys(_WORDS):
        pieces += ["\u2581" + word, word]
    pieces += [chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces += [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    pieces += [str(d) for d in range(10)] + _PUNCT + ["\u2581"]
    pieces = list(dict.fromkeys(p for p in pieces if p not in tokens))
    tokens += pieces
    types += [1] * len(pieces)  # NORMAL
    # SentencePiece scores: higher merges first; longer pieces win over their letters.
    scores = [0.0] * (5 + 256) + [float(len(p)) - i * 1e-4 for i, p in enumerate(pieces)]
    return tokens, scores, types


@dataclass(frozen=True)
class Shape:
    """The sizes of one generated model (the GGUF and the Hugging Face one differ in width)."""

    n_layers: int
    n_embd: int
    n_head: int
    n_ff: int
    head_std: float  # spread of the output head: sets how far apart the logits are


GGUF_SHAPE = Shape(N_LAYERS, N_EMBD, N_HEAD, N_FF, head_std=0.5)


def suppressed_and_favoured(tokens: list[str], types: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Byte and control tokens are never sampled freely (<|im_end|> is, rarely, as EOS);
    closing punctuation is favoured a little, so grammar-constrained JSON closes its strings
    and objects within a few tokens instead of running to max_tokens."""
    suppressed = np.array([t in (2, 3, 6) and tok != "<|im_end|>" for tok, t in zip(tokens, types, strict=True)])
    suppressed[tokens.index("<|im_end|>")] = False
    favoured = np.array([tok in ('"', "}") for tok in tokens])
    return suppressed, favoured


def weights(n_vocab: int, suppressed: np.ndarray, favoured: np.ndarray, shape: Shape) -> dict[str, np.ndarray]:
    """Seeded random LLaMA weights, named as in GGUF, laid out (out, in) as in PyTorch."""
    rng = np.random.default_rng(SEED)
    width, ff = shape.n_embd, shape.n_ff

    def normal(*dims: int, std: float) -> np.ndarray:
        return (rng.standard_normal(dims) * std).astype(np.float32)

    embd = normal(n_vocab, width, std=1.0)
    embd[:, 0] = 1.0  # a constant dimension the output head can read
    head = normal(n_vocab, width, std=shape.head_std)
    head[:, 0] = 0.0
    head[suppressed, 0] = -10.0
    head[favoured, 0] = FAVOUR
    out_norm = np.ones(width, dtype=np.float32)
    out_norm[0] = 10.0  # with the -10 above: suppressed logits sit ~100/rms below the rest
    tensors = {
        "token_embd.weight": embd,
        "output_norm.weight": out_norm,
        "output.weight": head,
    }
    for i in range(shape.n_layers):
        tensors |= {
            f"blk.{i}.attn_norm.weight": np.ones(width, dtype=np.float32),
            f"blk.{i}.attn_q.weight": normal(width, width, std=0.15),
            f"blk.{i}.attn_k.weight": normal(width, width, std=0.15),
            f"blk.{i}.attn_v.weight": normal(width, width, std=0.15),
            f"blk.{i}.attn_output.weight": normal(width, width, std=0.15),
            f"blk.{i}.ffn_norm.weight": np.ones(width, dtype=np.float32),
            f"blk.{i}.ffn_gate.weight": normal(ff, width, std=0.15),
            f"blk.{i}.ffn_up.weight": normal(ff, width, std=0.15),
            f"blk.{i}.ffn_down.weight": normal(width, ff, std=0.15),
        }
        # No layer writes the constant dimension, so it stays exactly 1 in the residual.
        tensors[f"blk.{i}.attn_output.weight"][0, :] = 0.0
        tensors[f"blk.{i}.ffn_down.weight"][0, :] = 0.0
    return tensors


def write_model(path: Path) -> Path:
    """Write the GGUF to ``path`` (atomically: a half-written file is never served)."""
    import gguf  # only the local-provider set-up needs it

    tokens, scores, types = vocabulary()
    suppressed, favoured = suppressed_and_favoured(tokens, types)
    tmp = path.with_suffix(".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch="llama")
    writer.add_name(MODEL_NAME)
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    # Mean pooling declared in the file, so every server returns one vector per input.
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(0)  # all F32
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    # A leading space would be inserted before every grammar-constrained piece and break
    # response_format; the chat template supplies all spacing.
    writer.add_add_space_prefix(False)
    writer.add_chat_template(CHATML_TEMPLATE)
    for name, array in weights(len(tokens), suppressed, favoured, GGUF_SHAPE).items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    return path


def model_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harness" / "models"


def ensure_model() -> Path:
    """The cached model file, generated on first use."""
    path = model_cache_dir() / FILE_NAME
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_model(path)
    return path


if __name__ == "__main__":
    print(ensure_model())
