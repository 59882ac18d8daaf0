"""Write a surface schema from an entry of the reference (``reference/provider-params.json``,
this repository's copy of the shared one): ``python -m harness.schema.reference [--from FILE]
[ENTRY ...]`` writes ``schemas/<surface>.json`` for each entry of ``SURFACES`` (default: all),
from FILE if given. Only what the entry documents becomes a
keyword (a null is "not documented", never a guess); each parameter keeps the entry's notes
and sources. The result
is a schema like any other here, checked against the meta-schema when loaded; a test holds
the shipped file to what this writes, so it is regenerated, never edited.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from harness.paths import BUILTIN_SCHEMAS

# The reference as this repository holds it (a maintainer's input: not shipped in the wheel).
REFERENCE = Path(__file__).resolve().parents[2] / "reference/provider-params.json"
# What a written parameter cites as its source: the reference, as this repository holds it.
_CITED = "reference/provider-params.json"


_JSON_TYPES = {"number", "integer", "boolean", "string", "object", "array", "null"}


def _types(json_type: str) -> list[str]:
    """ "number|null" -> [number, null]; "object<string,number>" -> [object]; "array<string>" -> [array]."""
    found = []
    for part in re.sub(r"<[^>]*>", "", json_type).split("|"):
        name = part.strip()
        if name in _JSON_TYPES and name not in found:
            found.append(name)
    return found


# Sent by every request, never probed as a parameter (as in the hand-written surfaces).
_CHAT_FIXED = frozenset({"model", "messages"})
_EMBEDDINGS_FIXED = frozenset({"model"})


def parameter(entry: dict[str, Any], source: str) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    types = _types(str(entry.get("json_type") or ""))
    if types:
        spec["type"] = types[0] if len(types) == 1 else types
    # A bound is on the value for numbers; on the item count for arrays ("stop: up to 4").
    numeric = bool({"number", "integer"} & set(types))
    keywords = (
        (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum"))
        if numeric
        else (("minItems", "minItems"), ("maxItems", "maxItems"))
        if "array" in types
        else ()
    )
    for bound, (inclusive, exclusive) in zip(("minimum", "maximum"), keywords, strict=False):
        value = entry.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            spec[inclusive if entry.get(f"{bound}_inclusive") is not False else exclusive] = value
    if entry.get("default") is not None:
        spec["default"] = entry["default"]
    notes = [n for n in (entry.get("notes"), *(entry.get("constraints") or [])) if n]
    if notes:
        spec["description"] = "; ".join(str(n) for n in notes)
    placement = str(entry.get("placement") or "")
    spec["x-placement"] = "standard" if placement.startswith("openai_standard") else "extension"
    spec["x-provenance"] = {"kind": "documented", "source": source}
    if entry.get("out_of_range_behavior"):
        spec["x-out-of-range"] = str(entry["out_of_range_behavior"])
    return spec


def _properties(entries: list[dict[str, Any]], fixed: frozenset[str], source: str) -> dict[str, Any]:
    """Top-level keys only: a nested name ("messages[].name") is not a request parameter."""
    return {
        e["name"]: parameter(e, source)
        for e in entries
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(e["name"])) and e["name"] not in fixed
    }


def surface_schema(
    key: str, name: str, unknown_keys: str = "unspecified", reference: Path = REFERENCE
) -> dict[str, Any]:
    entry = json.loads(reference.read_text(encoding="utf-8"))[key]
    sources = [str(s) for s in entry["source"]] if isinstance(entry["source"], list) else [str(entry["source"])]
    cite = f"{_CITED}, entry {key}"
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://harness.local/schemas/{name}.json",
        "title": f"chat completions request parameters, from the shared reference entry {key}",
        "type": "object",
        "x-surface": {
            "name": name,
            "endpoint": "/chat/completions",
            "unknown-keys": unknown_keys,
            "sources": sources,
            "error-shape": str(entry.get("error_shape") or "not documented"),
        },
        "properties": _properties(entry["parameters"], _CHAT_FIXED, cite),
    }
    if entry.get("embeddings_parameters"):
        embeddings = _properties(entry["embeddings_parameters"], _EMBEDDINGS_FIXED, cite)
        schema["$defs"] = {"embeddings": {"x-endpoint": "/embeddings", "properties": embeddings}}
    return schema


# The shared reference entries with a surface here: entry -> (surface name, what the entry says
# a server does with a key it does not define).
SURFACES = {
    "nvidia_nim_llm": ("nvidia-nim", "unspecified"),  # self-hosted ignores, hosted rejected once
    "together_ai": ("together", "unspecified"),
    "groq": ("groq", "reject"),
    "fireworks": ("fireworks", "unspecified"),
    "deepinfra": ("deepinfra", "unspecified"),
    "mistral": ("mistral", "reject"),
    "sglang": ("sglang", "ignore"),
    "hf_tgi_messages_api": ("tgi", "ignore"),
    "ollama_openai_compat": ("ollama", "ignore"),
}


def main(argv: list[str]) -> int:
    """Write the surface of each entry named (default: every entry in SURFACES), from the
    reference in this repository or ``--from FILE``."""
    parser = argparse.ArgumentParser(prog="python -m harness.schema.reference", description=main.__doc__)
    parser.add_argument("--from", dest="reference", type=Path, default=REFERENCE, metavar="FILE")
    parser.add_argument("entries", nargs="*", metavar="ENTRY", help=f"one of: {', '.join(SURFACES)}")
    args = parser.parse_args(argv)
    unknown = [key for key in args.entries if key not in SURFACES]
    if unknown:
        parser.error(f"no surface for entry {unknown[0]!r}; entries: {', '.join(SURFACES)}")
    for key in args.entries or list(SURFACES):
        name, unknown_keys = SURFACES[key]
        path = BUILTIN_SCHEMAS / f"{name}.json"
        schema = surface_schema(key, name, unknown_keys, args.reference)
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
