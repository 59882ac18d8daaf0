"""Secrets never reach disk: scrub keys from headers, URLs and text before anything is
written (cassettes, results, reports, logs)."""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "api-key",
        "x-api-key",
        "cookie",
        "set-cookie",
        "proxy-authorization",
        "openai-organization",
    }
)
_KEYLIKE_PARAM = re.compile(r"(key|token|secret|signature|password|auth)", re.IGNORECASE)
REDACTED = "REDACTED"


def scrub_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, REDACTED if _KEYLIKE_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


# Shorter values are not scrubbed: replacing "1" or "us" everywhere would wreck the evidence,
# and a credential that short is no secret.
MIN_SECRET_LENGTH = 4

# Values the harness itself put into requests from the environment: a provider's key, every
# ${ENV} it substituted into a base URL or a header. Process-wide on purpose: whatever writes
# anything (cassettes, results, reports, error lines) must scrub them, whoever resolved them.
_REMEMBERED: set[str] = set()
_CACHE: list[list[str]] = []  # the computed list, while nothing new is remembered


def remember_secret(value: str) -> None:
    """Scrub ``value`` from everything written from now on in this process."""
    if len(value) >= MIN_SECRET_LENGTH and value not in _REMEMBERED:
        _REMEMBERED.add(value)
        _CACHE.clear()


def refresh_secrets() -> None:
    """Read the environment again on the next ``known_secrets`` (it is cached: records are
    scrubbed one by one on the hot path)."""
    _CACHE.clear()


def known_secrets() -> list[str]:
    """Every value to scrub: those remembered, and the values of environment variables whose
    names say they are credentials. Longest first, so a secret containing another goes whole."""
    if not _CACHE:
        found = set(_REMEMBERED)
        for name, value in os.environ.items():
            if len(value) >= 8 and re.search(r"(API_KEY|TOKEN|SECRET|PASSWORD)$", name):
                found.add(value)
        _CACHE.append(sorted(found, key=len, reverse=True))
    return _CACHE[0]


@lru_cache(maxsize=256)  # every text of every record is scrubbed: the forms once per secret
def _forms(secret: str) -> tuple[str, ...]:
    """The secret as text, and as it appears inside a JSON string and a URL."""
    escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
    ascii_escaped = json.dumps(secret)[1:-1]
    return tuple(dict.fromkeys([secret, escaped, ascii_escaped, quote(secret, safe=""), quote(secret)]))


_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}")


def scrub_text(text: str, secrets: list[str] | None = None) -> str:
    for secret in secrets if secrets is not None else known_secrets():
        for form in _forms(secret) if secret else ():
            text = text.replace(form, REDACTED)
    # Every body and header of a run passes here: a lower-cased copy tells in one C pass what
    # the case-insensitive pattern would find by trying each position (no character but the
    # ASCII letters lower-cases to "bearer").
    if "bearer" not in text.lower():
        return text
    return _BEARER.sub(r"\1" + REDACTED, text)


def scrub_bytes(data: bytes, secrets: list[str] | None = None) -> bytes:
    """``scrub_text`` for an encoded UTF-8 line (records and cassettes are written as bytes)."""
    chosen = secrets if secrets is not None else known_secrets()
    # The pattern ignores case, so the quick test does too ("BeArEr" is a bearer token as well).
    if not chosen and b"bearer" not in data.lower():
        return data
    return scrub_text(data.decode("utf-8", errors="surrogateescape"), chosen).encode("utf-8", errors="surrogateescape")
