"""A synthetic OpenAI-compatible provider for unit tests of the checks (test code only).

A tiny but real sampler over a fixed vocabulary: seeded, with temperature, top_k, top_p,
min_p and the three penalties, stop strings, n, logprobs, JSON mode and SSE streaming. A
``Behaviour`` switches single aspects to misbehave (ignore a parameter, apply another default,
reject a valid value, answer 500, break the stream ...), so every check can be tested against
a provider that behaves and one that does not. Served through ``httpx.MockTransport``, or over
real HTTP on this machine (``served``) to code that opens its own connections (a whole command).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from harness.schema.validator import surface_validator

WORDS = [f" w{i}" for i in range(40)]
EMBEDDING_SIZE = 32
DEFAULTS: dict[str, float] = {
    "temperature": 1.0,
    "top_p": 1.0,
    "top_k": 0,
    "min_p": 0.0,
    "frequency_penalty": 0.0,
    "presence_penalty": 0.0,
    "repetition_penalty": 1.0,
}
KNOWN = {
    *DEFAULTS,
    "model",
    "messages",
    "max_tokens",
    "seed",
    "stop",
    "n",
    "logprobs",
    "top_logprobs",
    "response_format",
    "stream",
    "top_a",
    "tier",
    "max_completion_tokens",
    "stream_options",
    "logit_bias",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
}


@dataclass
class Behaviour:
    ignore: set[str] = field(default_factory=set)  # accepted, then dropped
    defaults: dict[str, float] = field(default_factory=dict)  # real defaults, over DEFAULTS
    reject_unknown: bool = False
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # enforced [low, high]
    server_error_for: set[str] = field(default_factory=set)
    unseeded: bool = False  # sampling ignores the seed
    max_n: int = 8
    stream_without_done: bool = False
    error_shape: str = "openai"  # or "flat"
    drop_created: bool = False  # a response body missing a required field
    drop_refusal: bool = False  # a body clients read, missing a field OpenAI documents as required
    content_parts: bool = False  # message.content as a list of text parts (Mistral's thinking replies)
    calls_unforced: bool = False  # with tool_choice "auto" the model calls a tool (ours never does)
    stream_name_every_delta: bool = False  # repeats a tool call's name in each streamed delta
    stream_first_choice_only: bool = False  # streams choice 0's text alone: no other choice, no logprobs
    # A request schema it enforces (400 naming the first error's path), as a strict server does.
    validates: dict[str, Any] | None = None
    # The models it serves (None: any name, as llama.cpp does); another is refused with this status.
    models: frozenset[str] | None = None
    unknown_model_status: int = 404
    # A context window in tokens (None: unbounded, the prompt counted as 3 tokens). With one, a
    # prompt counts a token per word; beyond the window it is refused with a 400, or with
    # ``truncates`` cut silently to the window; prompt plus max_tokens beyond it is refused, or
    # with ``fits_max_tokens`` max_tokens is lowered to fit.
    context: int | None = None
    truncates: bool = False
    fits_max_tokens: bool = False
    sorts_tool_keys: bool = False  # sorts each tool's properties before the model sees them (a gateway)
    duplicate_call_ids: bool = False  # every parallel call under one id
    omits_empty_arguments: bool = False  # a call to a tool without parameters carries no arguments
    crashes_on_odd_history: bool = False  # 500 for history calls whose arguments are not a string
    # The template parameters its chat template renders (each sent one adds to the prompt); a
    # server that drops them renders none.
    template_params: frozenset[str] = frozenset()
    # A router (as OpenRouter): the upstreams it serves from, slug -> the name its replies give
    # in `provider`. A request pinned with provider.order = [slug] is served there; unpinned,
    # by the first. ``off_route`` upstreams serve one pinned request in ``off_route_every``
    # (chosen by the request's hash: the same request, the same upstream) despite
    # allow_fallbacks false; ``upstream_ignores`` the parameters an upstream drops.
    upstreams: dict[str, str] = field(default_factory=dict)
    off_route: tuple[str, ...] = ()
    off_route_every: int = 3
    upstream_ignores: dict[str, set[str]] = field(default_factory=dict)
    model_ignores: dict[str, set[str]] = field(default_factory=dict)  # the parameters a model drops


def _logits(step_key: str) -> list[float]:
    digest = hashlib.sha256(step_key.encode()).digest()
    return [(digest[i % 32] ^ (i * 37 % 251)) / 255 * 8 for i in range(len(WORDS))]


def _prompt(messages: Any) -> str:
    """The user's text, whether content is a string or text parts (a well-behaved provider
    answers both the same)."""
    texts = []
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        texts.append(str(content))
    return "|".join(texts)


def _arguments(schema: dict[str, Any]) -> str:
    """Arguments that validate against a simple object schema: each enum's first value, each
    integer's minimum."""
    values: dict[str, Any] = {}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    for name, spec in (properties if isinstance(properties, dict) else {}).items():
        if not isinstance(spec, dict):
            values[name] = None
        elif spec.get("enum"):
            values[name] = spec["enum"][0]
        elif spec.get("type") == "integer":
            values[name] = spec.get("minimum", 1)
        else:
            values[name] = "x"
    return json.dumps(values)


def tool_calls(body: dict[str, Any], ignore: set[str], calls_unforced: bool) -> list[dict[str, Any]]:
    """The calls an honest server makes for ``tools`` / ``tool_choice`` / ``parallel_tool_calls``."""
    listed: list[Any] = body["tools"] if isinstance(body.get("tools"), list) else []
    tools = [t["function"] for t in listed if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    if not tools or "tools" in ignore:
        return []
    choice = body.get("tool_choice", "auto") if "tool_choice" not in ignore else "auto"
    parallel = body.get("parallel_tool_calls") is not False or "parallel_tool_calls" in ignore
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        chosen = [t for t in tools if t.get("name") == name]
    elif choice == "required" or (choice == "auto" and calls_unforced):
        chosen = tools if parallel else tools[:1]
    else:
        chosen = []
    return [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": t.get("name"), "arguments": _arguments(t.get("parameters") or {})},
        }
        for i, t in enumerate(chosen)
    ]


def _sorted_keys(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with each tool's properties in sorted order, as a gateway that sorts keys sends it."""
    tools = []
    for tool in body.get("tools") or []:
        parameters = tool.get("function", {}).get("parameters") or {}
        properties = parameters.get("properties") or {}
        sorted_parameters = {**parameters, "properties": dict(sorted(properties.items()))}
        tools.append({**tool, "function": {**tool["function"], "parameters": sorted_parameters}})
    return {**body, "tools": tools}


def _softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    exp = [math.exp(x - top) if x > -1e8 else 0.0 for x in logits]
    total = sum(exp)
    return [e / total for e in exp]


def generate(params: dict[str, Any], rng: random.Random) -> tuple[list[int], list[list[float]]]:
    tokens: list[int] = []
    dists: list[list[float]] = []
    prompt = params.get("prompt", "")
    for step in range(int(params["max_tokens"])):
        logits = _logits(f"{prompt}{step}:{tokens[-1] if tokens else -1}")
        for token, bias in params.get("logit_bias", {}).items():
            if 0 <= token < len(logits):
                logits[token] += bias
        for t in set(tokens):
            count = tokens.count(t)
            logits[t] -= params["frequency_penalty"] * count + params["presence_penalty"]
            rp = params["repetition_penalty"]
            logits[t] = logits[t] / rp if logits[t] > 0 else logits[t] * rp
        order = sorted(range(len(WORDS)), key=lambda i: -logits[i])
        if params["temperature"] == 0:
            choice = order[0]
            dists.append(_softmax(logits))
        else:
            probs = _softmax([x / params["temperature"] for x in logits])
            keep = set(order[: int(params["top_k"])] if params["top_k"] > 0 else order)
            cumulative, nucleus = 0.0, set()
            for i in order:
                nucleus.add(i)
                cumulative += probs[i]
                if cumulative >= params["top_p"]:
                    break
            keep &= nucleus
            keep = {i for i in keep if probs[i] >= params["min_p"] * probs[order[0]]} or {order[0]}
            weights = [probs[i] if i in keep else 0.0 for i in range(len(WORDS))]
            choice = rng.choices(range(len(WORDS)), weights=weights)[0]
            dists.append(probs)
        tokens.append(choice)
    return tokens, dists


class SyntheticProvider:
    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.requests = 0
        self.bodies: list[dict[str, Any]] = []  # every request body, in order
        self.unseeded_rng = random.Random(0)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def _error(self, status: int, message: str, param: str | None) -> httpx.Response:
        if self.behaviour.error_shape == "flat":
            return httpx.Response(status, json={"detail": message})
        return httpx.Response(
            status,
            json={"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}},
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._handle(request)
        except (ArithmeticError, ValueError, TypeError) as err:
            # What a real server does when its sampler crashes on an input it did not validate.
            return httpx.Response(500, json={"error": {"message": f"internal: {err}", "type": "server_error"}})

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        body = json.loads(request.content)
        self.bodies.append(body)
        if request.url.path.endswith("/embeddings"):
            return self._embeddings(body)
        b = self.behaviour
        if b.validates is not None:
            error = next(iter(surface_validator(b.validates).iter_errors(body)), None)
            if error is not None:
                return self._error(400, error.message[:200], str(next(iter(error.absolute_path), "")) or None)
        for key, value in body.items():
            if key in b.server_error_for:
                return httpx.Response(500, json={"error": {"message": "internal", "type": "server_error"}})
            if key not in KNOWN and b.reject_unknown:
                return self._error(400, f"Unrecognized request argument supplied: {key}", key)
            if (
                key in DEFAULTS
                and value is not None
                and (isinstance(value, bool) or not isinstance(value, int | float))
            ):
                return self._error(400, f"{key} must be a number", key)
            if key in b.ranges and isinstance(value, int | float):
                low, high = b.ranges[key]
                if not low <= value <= high:
                    return self._error(400, f"{key} must be in [{low}, {high}]", key)
        if body.get("top_logprobs") is not None and not body.get("logprobs"):
            return self._error(400, "top_logprobs requires logprobs", "top_logprobs")
        history = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("tool_calls")]
        odd = [c for m in history for c in m["tool_calls"] if not isinstance(c["function"].get("arguments"), str)]
        if b.crashes_on_odd_history and odd:
            return httpx.Response(500, json={"error": {"message": "internal", "type": "server_error"}})
        if b.models is not None and body.get("model") not in b.models:
            return self._error(b.unknown_model_status, f"The model `{body.get('model')}` does not exist", "model")
        upstream = self._upstream(body)
        ignore = (
            b.ignore
            | b.upstream_ignores.get(upstream or "", set())
            | b.model_ignores.get(str(body.get("model")), set())
        )
        params: dict[str, Any] = {**DEFAULTS, **b.defaults}
        for key in DEFAULTS:
            if key in body and body[key] is not None and key not in ignore:
                params[key] = body[key]
        params["max_tokens"] = body.get("max_tokens", 16) if "max_tokens" not in b.ignore else 16
        if body.get("max_completion_tokens") is not None and "max_completion_tokens" not in b.ignore:
            params["max_tokens"] = body["max_completion_tokens"]
        if isinstance(body.get("logit_bias"), dict) and "logit_bias" not in b.ignore:
            params["logit_bias"] = {int(k): float(v) for k, v in body["logit_bias"].items()}
        params["prompt"] = _prompt(body.get("messages"))
        # Tool definitions reach the prompt: about a token per four characters of their JSON.
        prompt = 3 + (len(json.dumps(body["tools"])) // 4 if body.get("tools") and "tools" not in b.ignore else 0)
        prompt += 5 * sum(1 for name in b.template_params if body.get(name) is not None)
        if b.context is not None:
            prompt += len(params["prompt"].split())
            if prompt > b.context and not b.truncates:
                return self._error(400, f"the prompt ({prompt} tokens) exceeds the context ({b.context})", None)
            # A truncating server keeps room for the completion, as Ollama does (it keeps the end).
            prompt = min(prompt, max(1, b.context - params["max_tokens"]))
            if prompt + params["max_tokens"] > b.context:
                if not b.fits_max_tokens:
                    return self._error(400, f"prompt plus max_tokens exceed the context ({b.context})", "max_tokens")
                params["max_tokens"] = b.context - prompt
        seed = body.get("seed") if "seed" not in b.ignore and not b.unseeded else None
        # Unseeded: a fresh stream per request, drawn from the provider's own (so tests repeat).
        rng = random.Random(seed) if seed is not None else random.Random(self.unseeded_rng.random())
        n = min(int(body.get("n") or 1), b.max_n) if "n" not in b.ignore else 1
        choices, completion = [], 0
        for index in range(n):
            tokens, dists = generate(params, rng)
            text = "".join(WORDS[t] for t in tokens)
            finish = "length"
            fmt = body.get("response_format") or {}
            if fmt.get("type") in ("json_object", "json_schema") and "response_format" not in b.ignore:
                text, finish, tokens = '{"ok": true}', "stop", tokens[:3]
            stops = body.get("stop") or []
            stops = [stops] if isinstance(stops, str) else stops
            if "stop" not in b.ignore:
                for stop in stops:
                    if stop in text:
                        text, finish = text[: text.index(stop)], "stop"
            completion += len(tokens)
            choice: dict[str, Any] = {
                "index": index,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": finish,
                "logprobs": None,
            }
            calls = tool_calls(_sorted_keys(body) if b.sorts_tool_keys else body, b.ignore, b.calls_unforced)
            for call in calls:
                if b.duplicate_call_ids:
                    call["id"] = "call_0"
                if b.omits_empty_arguments and call["function"]["arguments"] == "{}":
                    del call["function"]["arguments"]
            if calls:
                choice["message"] = {"role": "assistant", "content": None, "refusal": None, "tool_calls": calls}
            if b.content_parts and isinstance(choice["message"]["content"], str):
                choice["message"]["content"] = [{"type": "text", "text": choice["message"]["content"]}]
            if b.drop_refusal:
                del choice["message"]["refusal"]
                choice["finish_reason"] = "tool_calls"
            if body.get("logprobs") and "logprobs" not in b.ignore:
                top = int(body.get("top_logprobs") or 0)
                choice["logprobs"] = {
                    "content": [
                        {
                            "id": t,
                            "token": WORDS[t],
                            "logprob": math.log(max(d[t], 1e-12)),
                            "top_logprobs": [
                                {"id": i, "token": WORDS[i], "logprob": math.log(max(d[i], 1e-12))}
                                for i in sorted(range(len(WORDS)), key=lambda i: -d[i])[:top]
                            ],
                        }
                        for t, d in zip(tokens, dists, strict=True)
                    ]
                }
            choices.append(choice)
        response: dict[str, Any] = {
            "id": "chatcmpl-synthetic",
            "object": "chat.completion",
            "created": 1,
            "model": body.get("model", "m"),
            "choices": choices,
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": completion + prompt},
        }
        if upstream is not None:
            response["provider"] = b.upstreams[upstream]
        if b.drop_created:
            del response["created"]
        if body.get("stream") and "stream" not in b.ignore:
            options = body.get("stream_options") or {}
            usage = options.get("include_usage") is True and "stream_options" not in b.ignore
            return self._stream(response, usage)
        return httpx.Response(200, json=response)

    def _upstream(self, body: dict[str, Any]) -> str | None:
        """The upstream (slug) a router serves ``body`` from; None for a plain server."""
        b = self.behaviour
        if not b.upstreams:
            return None
        routing = body.get("provider")
        listed = routing.get("order") if isinstance(routing, dict) else None
        order: list[str] = [slug for slug in listed or [] if slug in b.upstreams]
        if not order:
            first: str = next(iter(b.upstreams))
            return first
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()
        if b.off_route and digest[0] % b.off_route_every == 0:
            others = [slug for slug in b.off_route if slug != order[0]]
            if others:
                return others[digest[1] % len(others)]
        return order[0]

    def _embeddings(self, body: dict[str, Any]) -> httpx.Response:
        digest = hashlib.sha256(str(body.get("input")).encode()).digest()
        vector = [(byte - 128) / 128 for byte in digest[:EMBEDDING_SIZE]]
        if body.get("dimensions") and "dimensions" not in self.behaviour.ignore:
            vector = vector[: int(body["dimensions"])]
        embedding: Any = vector
        if body.get("encoding_format") == "base64" and "encoding_format" not in self.behaviour.ignore:
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return httpx.Response(
            200,
            json={
                "object": "list",
                "model": body.get("model", "m"),
                "usage": {},
                "data": [{"object": "embedding", "index": 0, "embedding": embedding}],
            },
        )

    def _stream(self, response: dict[str, Any], usage: bool = False) -> httpx.Response:
        events = []
        for choice in response["choices"]:
            if self.behaviour.stream_first_choice_only and choice["index"] != 0:
                continue
            for delta, logprobs, finish in self._deltas(choice):
                streamed: dict[str, Any] = {"index": choice["index"], "delta": delta, "finish_reason": finish}
                if logprobs is not None and not self.behaviour.stream_first_choice_only:
                    streamed["logprobs"] = {"content": logprobs}
                chunk = {
                    "id": response["id"],
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": response["model"],
                    "choices": [streamed],
                }
                if "provider" in response:  # a router names the upstream in every chunk
                    chunk["provider"] = response["provider"]
                events.append(f"data: {json.dumps(chunk)}\n\n")
        if usage:
            last = {"id": response["id"], "object": "chat.completion.chunk", "created": 1, "model": response["model"]}
            events.append(f"data: {json.dumps(last | {'choices': [], 'usage': response['usage']})}\n\n")
        if not self.behaviour.stream_without_done:
            events.append("data: [DONE]\n\n")
        return httpx.Response(200, content="".join(events).encode(), headers={"content-type": "text/event-stream"})

    def _deltas(self, choice: dict[str, Any]) -> list[tuple[dict[str, Any], list[Any] | None, Any]]:
        """(delta, log-probabilities, finish_reason) per frame: the text four characters a frame
        (the first frame carries every token's log-probability), then each tool call's id and
        name, and its arguments five characters at a time; the last frame ends the choice."""
        message = choice["message"]
        text = message["content"] or ""
        frames: list[tuple[dict[str, Any], list[Any] | None, Any]] = [
            ({"content": text[i : i + 4]}, None, None) for i in range(0, len(text), 4)
        ]
        for index, call in enumerate(message.get("tool_calls") or []):
            name, arguments = call["function"]["name"], call["function"].get("arguments", "")
            first = {"index": index, "id": call["id"], "type": "function", "function": {"name": name}}
            frames.append(({"tool_calls": [first]}, None, None))
            for i in range(0, len(arguments), 5):
                function = {"arguments": arguments[i : i + 5]}
                if self.behaviour.stream_name_every_delta:
                    function["name"] = name
                frames.append(({"tool_calls": [{"index": index, "function": function}]}, None, None))
        frames = frames or [({"content": ""}, None, None)]
        tokens = (choice.get("logprobs") or {}).get("content")
        if tokens:
            frames[0] = (frames[0][0], tokens, None)
        frames[-1] = (frames[-1][0], frames[-1][1], choice.get("finish_reason"))
        return frames


@dataclass
class Served:
    """A provider answering over HTTP: its ``base_url`` and every request body it received."""

    base_url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def served(provider: SyntheticProvider) -> Iterator[Served]:
    """``provider`` at ``http://127.0.0.1:PORT/v1`` until the block ends (GET answers a model
    list, so a preflight passes); one request at a time, so its answers repeat."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, content: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def do_GET(self) -> None:
            self._answer(200, b'{"object": "list", "data": [{"id": "m", "object": "model"}]}', "application/json")

        def do_POST(self) -> None:
            content = self.rfile.read(int(self.headers.get("content-length", "0")))
            request = httpx.Request("POST", f"{running.base_url}{self.path.removeprefix('/v1')}", content=content)
            with lock:
                running.bodies.append(json.loads(content or b"{}"))
                response = provider.handle(request)
            self._answer(response.status_code, response.read(), response.headers.get("content-type", ""))

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    running = Served(f"http://127.0.0.1:{server.server_address[1]}/v1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
