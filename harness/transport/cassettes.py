"""Record and replay with vcrpy: one JSON cassette per provider and surface under
``cassettes/<provider>/``, matched on method, path, query and the canonical JSON body, with
credentials scrubbed before anything is written."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import vcr
from vcr.request import Request as VcrRequest

from harness.errors import CassetteError
from harness.redaction import SECRET_HEADERS, known_secrets, refresh_secrets, scrub_text, scrub_url
from harness.transport.client import INVALID_UTF8_HEADER

Mode = Literal["live", "record", "replay"]
MODES: tuple[Mode, ...] = ("live", "record", "replay")
LOCAL_HOST = "127.0.0.1:0"
KEPT_REQUEST_HEADERS = frozenset({"content-type", "accept"})


@lru_cache(maxsize=4096)
def _canonical(body: bytes) -> str:
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", errors="replace")


def _body_bytes(request: VcrRequest) -> bytes:
    body = request.body or b""
    return body.encode() if isinstance(body, str) else bytes(body)


def request_matcher(r1: VcrRequest, r2: VcrRequest) -> None:
    """Same method, path, query and JSON body (whatever the key order or spacing).

    One matcher instead of vcrpy's four: replay compares each request with every recorded
    one, and a single cheap comparison (bytes first) keeps that fast on large cassettes.
    """
    b1, b2 = _body_bytes(r1), _body_bytes(r2)
    if b1 != b2 and _canonical(b1) != _canonical(b2):
        raise AssertionError("JSON bodies differ")
    if r1.method != r2.method or r1.path != r2.path or r1.query != r2.query:
        raise AssertionError("method, path or query differ")


def cassette_path(root: Path, provider: str, surface: str) -> Path:
    return root / provider / f"{surface}.json"


class CassetteSerializer:
    """vcrpy's JSON format, checked as it loads: a malformed cassette is a one-line error
    naming the file and the JSON pointer. (vcrpy itself treats an unreadable cassette as
    empty, which in replay would report every case as not recorded.) JSON, not YAML: it
    loads in a third of the memory and time, and one key per line still diffs well."""

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


def _scrubber(local: bool) -> tuple[Any, Any]:
    refresh_secrets()

    def before_request(request: VcrRequest) -> VcrRequest:
        secrets = known_secrets()  # (a key may be resolved after the cassette is opened)
        for name in list(request.headers):
            # Secrets must go; so does what changes per run (host port, lengths), for diffable cassettes.
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
            request.body = scrub_text(_canonical(body), secrets).encode()
        return request

    def before_response(response: dict[str, Any]) -> dict[str, Any]:
        secrets = known_secrets()
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

    return before_request, before_response


@contextlib.contextmanager
def cassette(path: Path, mode: Mode, local: bool) -> Iterator[None]:
    """Patch httpx so requests replay from / record into ``path``. ``live`` does nothing."""
    if mode == "live":
        yield
        return
    before_request, before_response = _scrubber(local)
    recorder = vcr.VCR(
        serializer="harness-json",
        record_mode="none" if mode == "replay" else "all",
        match_on=["request"],
        before_record_request=before_request,
        before_record_response=before_response,
        decode_compressed_response=True,
    )
    recorder.register_matcher("request", request_matcher)
    recorder.register_serializer("harness-json", CassetteSerializer(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with recorder.use_cassette(str(path)) as loaded:
        if mode == "replay":
            _index(loaded)
        else:
            # Recording never plays back, but vcrpy still scans every recorded interaction
            # before each request: n^2 work that made a 10,000-request recording CPU-bound.
            loaded.can_play_response_for = lambda request: False
        yield


def _key(request: VcrRequest) -> str:
    return f"{request.method} {request.path}?{request.query} {_canonical(_body_bytes(request))}"


def _index(loaded: Any) -> None:
    """Replace vcrpy's linear search for a recorded interaction with a lookup by key.

    vcrpy compares a request with every recorded interaction, twice per request, so replaying
    n requests costs n^2 matches: seconds at a few hundred, minutes at 10,000. Candidates are
    still confirmed by vcrpy's own matcher, so matching means the same as without the index.
    """
    from vcr.matchers import requests_match

    positions: dict[str, list[int]] = {}
    for index, (stored, _) in enumerate(loaded.data):
        positions.setdefault(_key(stored), []).append(index)

    def responses(request: VcrRequest) -> Iterator[tuple[int, Any]]:
        request = loaded._before_record_request(request)
        for index in positions.get(_key(request), []):
            stored, response = loaded.data[index]
            if requests_match(request, stored, loaded._match_on):
                yield index, response

    loaded._responses = responses
