"""Data Designer's own request path, over transports the harness controls.

``built_request`` runs its model facade (engine/models/facade.py: the merge of extra_body, the
removal of ``n``, messages as text parts, its headers) against a transport that answers
nothing real and keeps the request: the body it would send. ``health_check`` runs its model
registry's health check against the provider itself, over a transport that records every
exchange: whether Data Designer can use the answers (an embedding it can parse, non-empty
text), decided by its own code.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.datadesigner.config import ConfigFile, generation_type
from harness.transport import Exchange, Outcome

# What Data Designer's health check sends (engine/models/registry.py); the live check's
# requests are built with the same prompt, so they are requests Data Designer really makes.
PROMPT = "Hello!"
SYSTEM_PROMPT = "You are a helpful assistant."
# Its registry logs each check's progress and failure; the verdict reports it instead.
logging.getLogger("data_designer").setLevel(logging.CRITICAL)
_CANNED_CHAT = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}


@dataclass
class Recorder(httpx.BaseTransport):
    """Keeps every request (and, forwarding, every answer) that passes through."""

    forward: httpx.BaseTransport | None = None  # None: answer a canned 200, send nothing
    exchanges: list[Exchange] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        self.bodies.append(body)
        self.headers.append({k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"})
        if self.forward is None:
            canned = {"data": [{"index": i, "embedding": [0.0]} for i, _ in enumerate(body.get("input") or [])]}
            return httpx.Response(200, json=canned if request.url.path.endswith("/embeddings") else _CANNED_CHAT)
        started = time.perf_counter()
        try:
            response = self.forward.handle_request(request)
            response.read()
        except httpx.HTTPError as err:
            self.exchanges.append(Exchange("POST", str(request.url), body, Outcome.TRANSPORT_ERROR, error=str(err)))
            raise
        self.exchanges.append(_exchange(request, body, response, time.perf_counter() - started))
        return response


def _exchange(request: httpx.Request, body: dict[str, Any], response: httpx.Response, elapsed: float) -> Exchange:
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    return Exchange(
        "POST",
        str(request.url),
        body,
        Outcome.RESPONSE,
        status=response.status_code,
        content_type=response.headers.get("content-type", ""),
        json=parsed,
        text=response.text[:4000],
        elapsed_ms=elapsed * 1000,
    )


@dataclass(frozen=True)
class Target:
    """Where the requests go: the harness provider's endpoints and key (Data Designer's own
    provider entry keeps its name, extra_body and headers)."""

    base_url: str
    embeddings_base_url: str
    api_key: str | None
    timeout: float = 60.0


def _registry(config: ConfigFile, target: Target, transport: httpx.BaseTransport) -> Any:
    from data_designer.engine.models.clients.adapters.http_model_client import ClientConcurrencyMode
    from data_designer.engine.models.clients.adapters.openai_compatible import OpenAICompatibleClient
    from data_designer.engine.models.facade import ModelFacade
    from data_designer.engine.models.registry import ModelRegistry
    from data_designer.engine.secret_resolver import PlaintextResolver

    def facade(model: Any, _secrets: Any, registry: Any, _retry: Any) -> Any:
        provider = registry.get_provider(model.provider)
        endpoint = target.embeddings_base_url if generation_type(model) == "embedding" else target.base_url
        params = model.inference_parameters
        client = OpenAICompatibleClient(
            provider_name=provider.name,
            endpoint=endpoint,
            api_key=target.api_key,
            max_parallel_requests=params.max_parallel_requests,
            timeout_s=float(params.timeout or target.timeout),
            concurrency_mode=ClientConcurrencyMode.SYNC,
            sync_client=httpx.Client(transport=transport),
        )
        return ModelFacade(model, registry, client=client)

    return ModelRegistry(
        secret_resolver=PlaintextResolver(),
        model_provider_registry=config.registry,
        model_configs=config.models,
        model_facade_factory=facade,
    )


def built_request(config: ConfigFile, model: Any, **overrides: Any) -> dict[str, Any]:
    """The body Data Designer's facade sends for ``model`` (``overrides``: values drawn for
    its distributions), with the health check's prompt; nothing leaves the process."""
    recorder = Recorder()
    nowhere = "http://data-designer.invalid/v1"  # the recorder answers: nothing is sent
    registry = _registry(config, Target(nowhere, nowhere, None), recorder)
    facade = registry.get_model(model_alias=model.alias)
    try:
        if generation_type(model) == "embedding":
            facade.generate_text_embeddings(input_texts=[PROMPT], skip_usage_tracking=True)
        else:
            facade.generate(
                prompt=PROMPT,
                system_prompt=SYSTEM_PROMPT,
                max_correction_steps=0,
                max_conversation_restarts=0,
                skip_usage_tracking=True,
                **overrides,
            )
    finally:
        facade.close()
    return recorder.bodies[-1]


@dataclass(frozen=True)
class HealthCheck:
    passed: bool
    message: str  # Data Designer's error, on one line, or "" when it passed
    exchanges: list[Exchange]


def health_check(
    config: ConfigFile, model: Any, target: Target, transport: Callable[[], httpx.BaseTransport] = httpx.HTTPTransport
) -> HealthCheck:
    """Data Designer's own health check of one alias, sent to ``target``."""
    recorder = Recorder(forward=transport())
    registry = _registry(config, target, recorder)
    try:
        registry.run_health_check([model.alias])
        passed, message = True, ""
    except Exception as err:  # whatever Data Designer raises is its verdict on the answer
        passed, message = False, f"{type(err).__name__}: {' '.join(str(err).split())}"
    finally:
        for facade in registry.models.values():
            facade.close()
    return HealthCheck(passed, message, recorder.exchanges)
