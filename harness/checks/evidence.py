"""Evidence a person can act on: the exchange, and reproducers to paste (curl, and an
OpenAI-SDK call with extension keys in ``extra_body``, the way the SDK sends them)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from harness.schema import Surface
from harness.transport import Exchange


def _usage_tokens(exchange: Exchange) -> int:
    source = exchange.json if isinstance(exchange.json, dict) else None
    if source is None and exchange.chunks:
        source = next((c for c in reversed(exchange.chunks) if isinstance(c, dict) and c.get("usage")), None)
    try:
        return int((source or {}).get("usage", {}).get("completion_tokens", 0))
    except (TypeError, ValueError, AttributeError, OverflowError):
        return 0


def completion_tokens(exchanges: list[Exchange]) -> int:
    return sum(_usage_tokens(e) for e in exchanges)


def curl(exchange: Exchange, api_key_env: str) -> str:
    auth = f' -H "Authorization: Bearer ${api_key_env}"' if api_key_env else ""
    body = json.dumps(exchange.body, ensure_ascii=False)
    url = shlex.quote(exchange.url)
    return f"curl -sS {url} -H 'Content-Type: application/json'{auth} -d {shlex.quote(body)}"


def openai_sdk(exchange: Exchange, surface: Surface, base_url: str, api_key_env: str) -> str:
    standard: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in exchange.body.items():
        param = surface.parameters.get(key)
        # Keys the surface calls extensions, and keys it does not know, go through extra_body.
        if key in ("model", "messages") or (param is not None and param.placement == "standard"):
            standard[key] = value
        else:
            extra[key] = value
    args = [f"    {k}={v!r}," for k, v in standard.items()]
    if extra:
        args.append(f"    extra_body={extra!r},")
    key = f"os.environ[{api_key_env!r}]" if api_key_env else "'not-needed'"
    return "\n".join(
        [
            "import os",
            "from openai import OpenAI",
            f"client = OpenAI(base_url={base_url!r}, api_key={key})",
            "response = client.chat.completions.create(",
            *args,
            ")",
        ]
    )


def evidence(
    exchanges: list[Exchange], surface: Surface, base_url: str, api_key_env: str, note: str = ""
) -> dict[str, Any]:
    data: dict[str, Any] = {"exchanges": [e.to_json() for e in exchanges]}
    if exchanges:
        data["reproducer"] = {
            "curl": curl(exchanges[-1], api_key_env),
            "openai_sdk": openai_sdk(exchanges[-1], surface, base_url, api_key_env),
        }
    if note:
        data["note"] = note
    return data
