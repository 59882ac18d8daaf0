"""Cassettes: one JSON file per provider and surface under ``cassettes/<provider>/``, in
vcrpy's format, read and written by vcrpy's own persister and serialization (so every
cassette recorded through vcrpy stays valid). Requests match on method, path, query and the
canonical JSON body, looked up by key; credentials are scrubbed before anything is written.
Nothing here patches anything: ``transports`` replays from and records into a ``Cassette``
as httpx transports, which the client is given."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from vcr.filters import decode_response
from vcr.persisters.filesystem import CassetteDecodeError, CassetteNotFoundError, FilesystemPersister
from vcr.request import Request as VcrRequest

from harness.errors import CassetteError
from harness.jsoncodec import loads
from harness.redaction import SECRET_HEADERS, known_secrets, refresh_secrets, scrub_text, scrub_url

Mode = Literal["live", "record", "replay"]
MODES: tuple[Mode, ...] = ("live", "record", "replay")
LOCAL_HOST = "127.0.0.1:0"
KEPT_REQUEST_HEADERS = frozenset({"content-type", "accept"})
# Set by recording on a body that is not valid UTF-8 (cassettes keep bodies as text).
INVALID_UTF8_HEADER = "x-harness-invalid-utf8"

log = logging.getLogger(__name__)


@lru_cache(maxsize=4096)
def _canonical(body: bytes) -> str:
    try:
        return json.dumps(_parsed(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", errors="replace")


def _parsed(body: bytes) -> Any:
    """``json.loads(body)``: parsed by ``jsoncodec`` where json would read the bytes as UTF-8
    (json guesses UTF-16 and UTF-32 from zero bytes at the start, and skips a BOM)."""
    if body[:1] in (b"{", b"[") and b"\0" not in body[:4]:
        return loads(body.decode("utf-8"))
    return json.loads(body)


def _body_bytes(request: VcrRequest) -> bytes:
    body = request.body or b""
    return body.encode() if isinstance(body, str) else bytes(body)


def same_request(r1: VcrRequest, r2: VcrRequest) -> bool:
    """Same method, path, query and JSON body (whatever the key order or spacing): the
    matcher the cassettes were recorded and have always been replayed with."""
    if r1.method != r2.method or r1.path != r2.path or r1.query != r2.query:
        return False
    b1, b2 = _body_bytes(r1), _body_bytes(r2)
    return b1 == b2 or _canonical(b1) == _canonical(b2)


def _key(request: VcrRequest) -> str:
    """The bucket a scrubbed request is looked up in (``same_request`` decides within it): its
    body is canonical already (``scrub_request`` wrote it so), and is not parsed again."""
    return f"{request.method} {request.path}?{request.query} {_body_bytes(request).decode('utf-8', 'replace')}"


def cassette_path(root: Path, provider: str, surface: str) -> Path:
    return root / provider / f"{surface}.json"


class CassetteSerializer:
    """vcrpy's JSON format (a vcrpy serializer: given to its persister), checked as it loads:
    a malformed cassette is a one-line error naming the file and the JSON pointer. (vcrpy
    itself treats an unreadable cassette as empty, which in replay would report every case as
    not recorded.) JSON, not YAML: it loads in a third of the memory and time, and one key per
    line still diffs well."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def deserialize(self, text: str) -> dict[str, Any]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise CassetteError(
                f"{self.path}: malformed cassette: invalid JSON at line {err.lineno} column {err.colno}"
            ) from err
        validate_cassette_data(self.path, data)
        result: dict[str, Any] = data
        return result

    def serialize(self, data: dict[str, Any]) -> str:
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def validate_cassette_data(path: Path, data: Any) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CassetteError(f"{path}: /interactions: malformed cassette: expected a list of interactions")
    for i, item in enumerate(data["interactions"]):
        for key in ("request", "response"):
            if not isinstance(item, dict) or not isinstance(item.get(key), dict):
                raise CassetteError(f"{path}: /interactions/{i}/{key}: malformed cassette: missing or not an object")
        status = item["response"].get("status")
        if not isinstance(status, dict) or not isinstance(status.get("code"), int):
            raise CassetteError(f"{path}: /interactions/{i}/response/status/code: malformed cassette: not an integer")
        request, response = item["request"], item["response"]
        shapes: list[tuple[str, Any, tuple[type, ...], str]] = [
            ("request/method", request.get("method"), (str,), "a string"),
            ("request/uri", request.get("uri"), (str,), "a string"),
            ("request/body", request.get("body"), (str, type(None)), "a string or null"),
            ("request/headers", request.get("headers", {}), (dict,), "an object"),
            ("response/headers", response.get("headers", {}), (dict,), "an object"),
            ("response/body", response.get("body"), (dict,), "an object"),
        ]
        for where, value, types, expected in shapes:
            if not isinstance(value, types):
                raise CassetteError(f"{path}: /interactions/{i}/{where}: malformed cassette: not {expected}")
        if not isinstance(response["body"].get("string"), str):
            raise CassetteError(f"{path}: /interactions/{i}/response/body/string: malformed cassette: not a string")
        for name, values in response["headers"].items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise CassetteError(
                    f"{path}: /interactions/{i}/response/headers/{name}: malformed cassette: not a list of strings"
                )


def scrub_request(request: VcrRequest, local: bool, secrets: list[str], canonical: bool = True) -> VcrRequest:
    """The request as a cassette keeps it (in place): secrets go, and so does what changes per
    run (host port, lengths), for diffable cassettes; the body is its canonical JSON (with
    ``canonical`` False, as sent: replay's first try, see ``Cassette.play``)."""
    for name in list(request.headers):
        if name.lower() in SECRET_HEADERS or name.lower() not in KEPT_REQUEST_HEADERS:
            del request.headers[name]
    uri = scrub_text(scrub_url(request.uri), secrets)
    if local:
        # A local server listens on a new port each launch; store one stable address.
        parts = urlsplit(uri)
        uri = urlunsplit((parts.scheme, LOCAL_HOST, parts.path, parts.query, parts.fragment))
    request.uri = uri
    body = _body_bytes(request)
    if body:
        text = _canonical(body) if canonical else body.decode("utf-8", errors="replace")
        request.body = scrub_text(text, secrets).encode()
    return request


def scrub_response(response: dict[str, Any], secrets: list[str]) -> dict[str, Any]:
    """The response as a cassette keeps it (in place): a compressed body decoded (vcrpy's
    ``decode_response``), secret headers gone, secrets scrubbed from the other headers and the
    body, the body as UTF-8 text (a bad byte recorded in ``INVALID_UTF8_HEADER``)."""
    if any(name.lower() == "content-encoding" for name in response.get("headers", {})):
        response = decode_response(response)
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            del headers[name]
        else:  # a provider may echo what it was sent in a header too
            headers[name] = [scrub_text(str(value), secrets) for value in headers[name]]
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            # Stored as text, the body loses its bad byte: record the fact so that replay
            # judges the same broken body as the live run did.
            headers[INVALID_UTF8_HEADER] = [f"{body[err.start]:02x}@{err.start}"]
            text = body.decode("utf-8", errors="replace")
        response["body"]["string"] = scrub_text(text, secrets).encode()
    return response


# In replay, the place of an interaction already served.
_SERVED: dict[str, Any] = {}
_SERVED_REQUEST = VcrRequest("GET", "http://served.invalid/", b"", {})


class Cassette:
    """One cassette file, open for ``replay`` (serve each recorded interaction once, in the
    order recorded) or ``record`` (keep what the provider answers; ``save`` writes it).

    Interactions already in the file pass through the same scrubbing as new ones when it is
    opened (with the secrets known then), as vcrpy did: a request is matched, and a response
    served or written back, as it would be stored. Replay looks interactions up by key instead
    of comparing a request with every recorded one (n^2 matches: minutes at 10,000 requests);
    each candidate is still confirmed by ``same_request``.
    """

    def __init__(self, path: Path, mode: Literal["record", "replay"], local: bool, keep_recorded: bool = False) -> None:
        # keep_recorded (record only): what the file already answers is served from it, and only
        # requests it lacks are sent (vcrpy's ``new_episodes``), so adding a check to a cassette
        # moves no answer recorded before.
        self.path, self.mode, self.local = path, mode, local
        self.keep_recorded = mode == "record" and keep_recorded
        refresh_secrets()
        self._secrets = known_secrets()  # those known as the cassette opens
        self._requests: list[VcrRequest] = []
        self._responses: list[dict[str, Any]] = []
        self._scrubbed: list[bool] = []  # responses are scrubbed when first needed
        self._metadata: dict[str, Any] = {}
        self._load()
        self._loaded = len(self._requests)
        self._played = [False] * self._loaded
        self._positions: dict[str, list[int]] = {}
        self._next: dict[str, int] = {}  # per key, where the first unplayed position may be
        if mode == "replay" or self.keep_recorded:
            for index, request in enumerate(self._requests):
                self._positions.setdefault(_key(request), []).append(index)

    def __len__(self) -> int:
        return len(self._requests)

    def _load(self) -> None:
        try:
            # Persisters return (requests, responses), and metadata third if the cassette has any.
            requests, responses, *metadata = FilesystemPersister.load_cassette(
                self.path, serializer=CassetteSerializer(self.path)
            )
        except CassetteNotFoundError:  # missing or empty: nothing recorded
            return
        except CassetteDecodeError:
            log.warning("cassette %s is not UTF-8 text, so it is treated as empty", self.path, exc_info=True)
            return
        for request, response in zip(requests, responses, strict=True):
            self._requests.append(scrub_request(request, self.local, self._secrets))
            self._responses.append(response)
            self._scrubbed.append(False)
        self._metadata = metadata[0] if metadata else {}

    def _response(self, index: int) -> dict[str, Any]:
        if not self._scrubbed[index]:
            self._responses[index] = scrub_response(self._responses[index], self._secrets)
            self._scrubbed[index] = True
        return self._responses[index]

    def play(self, request: VcrRequest) -> dict[str, Any] | None:
        """The response recorded for ``request`` and not served yet (the first in the order
        recorded), or None: identical requests get the recorded answers one by one."""
        secrets, body = known_secrets(), _body_bytes(request)
        # Recorded bodies are kept canonical, and the client sends canonical JSON: its body as
        # sent finds its interaction without being parsed again (a canonical text is its own
        # canonical form). A body in another key order or spacing is canonicalised, as before.
        found = self._take(scrub_request(request, self.local, secrets, canonical=False))
        if found is None and body:
            request.body = scrub_text(_canonical(body), secrets).encode()
            found = self._take(request)
        return found

    def _take(self, request: VcrRequest) -> dict[str, Any] | None:
        key = _key(request)
        positions = self._positions.get(key, [])
        start = self._next.get(key, 0)
        for at in range(start, len(positions)):
            index = positions[at]
            if self._played[index] or not same_request(request, self._requests[index]):
                continue
            self._played[index] = True
            while start < len(positions) and self._played[positions[start]]:
                start += 1
            self._next[key] = start
            response = self._response(index)
            if self.mode == "replay":
                # Served once and never written back: what a long replay keeps is only what
                # it has still to serve.
                self._requests[index], self._responses[index] = _SERVED_REQUEST, _SERVED
            return response
        return None

    def append(self, request: VcrRequest, response: dict[str, Any]) -> None:
        """Keep one interaction, scrubbed with the secrets known now (a key may be resolved
        after the cassette is opened)."""
        secrets = known_secrets()
        self._requests.append(scrub_request(request, self.local, secrets))
        self._responses.append(scrub_response(response, secrets))
        self._scrubbed.append(True)

    def save(self) -> None:
        """Write the cassette when recording added to it: the interactions recorded now, after
        those loaded that none of them re-recorded (vcrpy's ``all`` record mode)."""
        if self.mode != "record" or len(self._requests) == self._loaded:
            return
        recorded = range(self._loaded, len(self._requests))
        by_key: dict[str, list[VcrRequest]] = {}
        for index in recorded:
            by_key.setdefault(_key(self._requests[index]), []).append(self._requests[index])
        kept = [
            index
            for index in range(self._loaded)
            # keeping what was recorded, a request asked once more than recorded adds its answer
            if self.keep_recorded
            or not any(same_request(new, self._requests[index]) for new in by_key.get(_key(self._requests[index]), []))
        ]
        chosen = [*kept, *recorded]
        data: dict[str, Any] = {
            "requests": [self._requests[index] for index in chosen],
            "responses": [self._response(index) for index in chosen],
        }
        if self._metadata:
            data["metadata"] = self._metadata
        FilesystemPersister.save_cassette(self.path, data, serializer=CassetteSerializer(self.path))


@contextlib.contextmanager
def cassette(path: Path, mode: Mode, local: bool, keep_recorded: bool = False) -> Iterator[Cassette | None]:
    """The cassette at ``path`` for ``mode``, saved (when recording) as the block ends, even
    on an error; ``live`` has none. Give it to ``ProviderClient(settings, cassette=...)``."""
    if mode == "live":
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tape = Cassette(path, mode, local, keep_recorded)
    try:
        yield tape
    finally:
        tape.save()
