"""A router's routes: the pin a request carries to be served by one upstream, and the upstream
a reply names as the one that served it.

OpenRouter serves a model from several upstreams and by default picks one per request (for
requests with ``tools`` it reorders them, "Auto Exacto"). A request pins one with
``provider: {"order": [slug], "allow_fallbacks": false}``; its reply names the upstream that
served it in a top-level ``provider`` field (in each chunk of a stream), by display name
("DeepInfra" for the slug "deepinfra")."""

from __future__ import annotations

import re
from typing import Any

from harness.transport.exchange import Exchange

PIN_KEY = "provider"
# What a request's own ``provider`` object may say about routing: where it says any of it, it
# is the request's own routing (a matrix case of OpenRouter's ``provider`` parameter), sent as
# it is and not pinned.
ROUTING_KEYS = frozenset({"order", "only", "ignore", "allow_fallbacks"})


def pin(route: str) -> dict[str, Any]:
    return {"order": [route], "allow_fallbacks": False}


def pinned_body(body: dict[str, Any], route: str) -> dict[str, Any]:
    """``body`` pinned to ``route``: the pin added as the ``provider`` object, or merged into
    the body's own when that one says nothing of routing. A body whose ``provider`` is not an
    object, or routes itself, is the probe of that parameter and goes as it is."""
    own = body.get(PIN_KEY)
    if own is None and PIN_KEY not in body:
        return {**body, PIN_KEY: pin(route)}
    if isinstance(own, dict) and not ROUTING_KEYS & own.keys():
        return {**body, PIN_KEY: {**own, **pin(route)}}
    return body


def pinned_to(body: dict[str, Any]) -> str | None:
    """The route ``body`` is pinned to: one upstream in ``order`` and no fallbacks."""
    own = body.get(PIN_KEY)
    if not isinstance(own, dict) or own.get("allow_fallbacks") is not False:
        return None
    order = own.get("order")
    if isinstance(order, list) and len(order) == 1 and isinstance(order[0], str):
        return order[0]
    return None


def served_by(exchange: Exchange) -> str | None:
    """The upstream the reply names as the one that served it (the first chunk naming one, in
    a stream); None where it names none."""
    replies = exchange.chunks if exchange.chunks else [exchange.json]
    for reply in replies:
        named = reply.get(PIN_KEY) if isinstance(reply, dict) else None
        if isinstance(named, str) and named.strip():
            return named.strip()
    return None


def _folded(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# Slugs of one family whose display names extend one another ("Google", "Google Vertex",
# "Google AI Studio"): a name matches one only by extending it, or as one of its own shorter
# names listed here (without it "Google" would match the pin google-ai-studio too).
SHORT_NAMES_OF: dict[str, tuple[str, ...]] = {"googlevertex": ("google",), "googleaistudio": ()}


def same_upstream(route: str, served: str) -> bool:
    """Whether the upstream a reply names is the route's: a slug ("deepinfra", "google-vertex",
    "deepinfra/turbo": a variant of deepinfra) against a display name ("DeepInfra", "Google
    Vertex"), compared without case, spaces or punctuation; one may extend the other ("nebius"
    serves as "Nebius AI Studio"), but a slug of ``SHORT_NAMES_OF`` only by its own names."""
    slug, name = _folded(route.split("/", 1)[0]), _folded(served)
    if slug in SHORT_NAMES_OF:
        return name.startswith(slug) or name in SHORT_NAMES_OF[slug]
    return bool(slug and name) and (name.startswith(slug) or slug.startswith(name))
