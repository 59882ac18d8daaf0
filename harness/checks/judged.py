"""What the response-schema judges made of a replayed body, kept between processes.

A replay reads the same recorded bytes every time, and what the OpenAI SDK reads from them
(``judges.client_level``) and how they depart from the letter (``judges.letter``) is a function
of those bytes, the request, the judges' code and the schemas. Reading every body again was most
of a replay's time; a replay now judges a body once per machine and looks the judgement up
afterwards, keyed by a digest of everything the two judges read and of what judges with
(their source, the response schemas, the SDK's version), so a change to any of them is a new
key, never a stale judgement. Only replays use it: a live body is new by construction, and
keeping it would grow the store without end.

The store is a SQLite file in the harness's cache (``$XDG_CACHE_HOME/harness``). It is only
ever an optimisation: when it cannot be opened, read or written (a read-only disk, a lock held
too long) the judges simply run, and nothing about a verdict changes.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from pathlib import Path
from typing import Any

import orjson

from harness import __version__, paths
from harness.checks.judges import client_level, letter
from harness.checks.judges.client_level import ClientRead, read_chat
from harness.checks.judges.letter import Deviation, deviations
from harness.checks.store import KeptTable
from harness.transport import Exchange

STORE = "judged-bodies.sqlite"


@functools.cache
def judges_digest() -> str:
    """What a judgement depends on besides the exchange: the two judges' code, the response
    schemas they validate with, the SDK that reads, and this harness's version."""
    digest = hashlib.blake2b(digest_size=16)
    for module in (client_level, letter):
        digest.update(Path(str(module.__file__)).read_bytes())
    for folder in paths.schema_dirs():  # a project's own response schemas count too
        for schema in sorted((folder / "responses").glob("*.json")):
            digest.update(str(schema).encode() + schema.read_bytes())
    digest.update(importlib.metadata.version("openai").encode() + __version__.encode())
    return digest.hexdigest()


def exchange_digest(exchange: Exchange) -> bytes:
    """Everything either judge reads of an exchange, digested with the judges' own digest."""
    digest = hashlib.blake2b(digest_size=20)
    head = [
        judges_digest(),
        exchange.url,
        exchange.outcome.value,
        exchange.status,
        exchange.content_type,
        exchange.stream_done,
        len(exchange.chunks),
        exchange.json is None,
    ]
    digest.update(json.dumps(head).encode())
    digest.update(_request_text(exchange.body))
    digest.update(exchange.raw)
    return digest.digest()


def _request_text(body: Any) -> bytes:
    """The request body as sorted JSON: orjson's, or json's for what orjson refuses (an
    integer beyond 64 bits, a key that is not a string)."""
    try:
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS, default=repr)
    except TypeError:
        return b"json:" + json.dumps(body, sort_keys=True, default=repr).encode()


def exchange_key(exchange: Exchange, level: str, digest: bytes | None = None) -> str:
    """The key of one judge's judgement (``level``) of an exchange (``digest``: its
    ``exchange_digest``, when the caller has it)."""
    keyed = hashlib.blake2b(level.encode() + b"\0", digest_size=20)
    keyed.update(digest if digest is not None else exchange_digest(exchange))
    return keyed.hexdigest()


class JudgedBodies:
    """The judgements of one replay, looked up in the store and added to it at the end."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.harness_cache() / STORE
        self._table = KeptTable(self.path, "judged", timeout=10)
        self._new: dict[str, str] = {}
        # Both judges ask about each exchange in turn (one store serves both tallies of a
        # replay): its digest is made once.
        self._last: tuple[Exchange, bytes] | None = None

    def _key(self, exchange: Exchange, level: str) -> str:
        if self._last is None or self._last[0] is not exchange:
            self._last = (exchange, exchange_digest(exchange))
        return exchange_key(exchange, level, self._last[1])

    def _get(self, key: str) -> Any:
        found = self._table.get(key)
        return json.loads(found) if found is not None else None

    def client_read(self, exchange: Exchange) -> ClientRead:
        """``read_chat(exchange)``, judged once per machine."""
        key = self._key(exchange, "client")
        found = self._get(key)
        if isinstance(found, dict):
            return ClientRead(found["raised"], tuple(found["problems"]), found["chunks"])
        read = read_chat(exchange)
        self._new[key] = json.dumps({"raised": read.raised, "problems": list(read.problems), "chunks": read.chunks})
        return read

    def deviations(self, exchange: Exchange, schema: str) -> list[Deviation]:
        """``deviations(exchange, schema)``, judged once per machine."""
        key = self._key(exchange, "letter:" + schema)
        found = self._get(key)
        if isinstance(found, list):
            return [Deviation(kind, where) for kind, where in found]
        departures = deviations(exchange, schema)
        self._new[key] = json.dumps([[d.kind, d.where] for d in departures])
        return departures

    def save(self) -> None:
        """Add this replay's new judgements to the store (once, at the end of the tally)."""
        if self._new:
            self._table.put(self._new.items())
        self._new.clear()
        self._table.close()
