"""Secrets never reach disk: scrub keys from headers, URLs and text before anything is
written (cassettes, results, reports, logs)."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


def known_secrets() -> list[str]:
    """Values of environment variables that look like credentials (to scrub from any text)."""
    found = []
    for name, value in os.environ.items():
        if len(value) >= 8 and re.search(r"(API_KEY|TOKEN|SECRET)$", name):
            found.append(value)
    return found


def scrub_text(text: str, secrets: list[str] | None = None) -> str:
    for secret in secrets if secrets is not None else known_secrets():
        if secret:
            text = text.replace(secret, REDACTED)
    return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1" + REDACTED, text)
