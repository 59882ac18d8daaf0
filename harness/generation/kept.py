"""A surface's expectations kept between processes.

What the documentation says of a request (``matrix.MatrixBuilder.expectation``: the request
validated against the surface schema) is a function of the request, the schema and the code
that validates. Every process used to validate every request of its matrices again: the
largest cost of building them. The expectations of a surface are now kept in one file of the
harness's cache (``$XDG_CACHE_HOME/harness/expectations``), named by a digest of the surface
schema itself (its canonical JSON, so any change to a documented parameter is another file),
of the source of the validator and of the matrix module, and of the versions of jsonschema,
referencing and this harness; a change to any of them is a new file, never a stale answer.

It is only ever an optimisation: a missing, unreadable or malformed file is an empty one, and
a file that cannot be written costs the next process the validation.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from harness import __version__, paths
from harness.schema import validator

FOLDER = "expectations"
# A file's key for a request: "1" or "0" (is the case's label "null") and the canonical body.
Verdicts = dict[tuple[str, bool], tuple[str, str]]


@functools.cache
def _code_digest() -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for source in (Path(str(validator.__file__)), Path(__file__).with_name("matrix.py")):
        digest.update(source.read_bytes())
    for library in ("jsonschema", "referencing"):
        digest.update(f"{library} {importlib.metadata.version(library)};".encode())
    digest.update(__version__.encode())
    return digest.digest()


def surface_file(schema: dict[str, Any]) -> Path:
    """The file of a surface's expectations: named by the schema and the code that validates."""
    digest = hashlib.blake2b(_code_digest(), digest_size=20)
    digest.update(json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    return paths.harness_cache() / FOLDER / f"{digest.hexdigest()}.json"


def load(path: Path) -> Verdicts:
    """The expectations kept in ``path``; none when it is missing or not one of ours."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    found: Verdicts = {}
    for key, value in data.items():
        if (
            isinstance(key, str)
            and key[:1] in ("0", "1")
            and isinstance(value, list)
            and len(value) == 2
            and value[0] in ("accept", "reject", "unspecified")
            and isinstance(value[1], str)
        ):
            found[(key[1:], key[0] == "1")] = (value[0], value[1])
    return found


def save(path: Path, verdicts: Verdicts) -> None:
    """Write every expectation of a surface at once (a file replaced whole: a reader never
    sees half of one); a cache that cannot be written is skipped."""
    data = {("1" if null else "0") + body: list(value) for (body, null), value in verdicts.items()}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(data, file, ensure_ascii=False, separators=(",", ":"))
            Path(temporary).replace(path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            raise
