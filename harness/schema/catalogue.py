"""Load surface schemas and validate them: first as JSON Schema (draft 2020-12), then
against ``schemas/meta/annotations.schema.json``. A broken file is a one-line
``SchemaError`` naming the file and the JSON pointer of the first problem."""

from __future__ import annotations

import contextlib
import hashlib
import json
from functools import cache, lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError as JsonSchemaError
from jsonschema.exceptions import ValidationError

from harness import paths
from harness.errors import ConfigError, SchemaError
from harness.schema.model import Parameter, Surface

META_SCHEMA = "meta/annotations.schema.json"


def _pointer(parts: Any) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(paths.project_root()))
    except ValueError:
        return str(path)


def read_json(path: Path) -> Any:
    """Parse a JSON file; a syntax error names the file, the line and the column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SchemaError(_display(path), "", f"cannot read: {err.strerror}") from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SchemaError(
            _display(path), "", f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}"
        ) from err


@cache
def _meta_validator(schemas: Path) -> Draft202012Validator:
    meta = read_json(schemas / META_SCHEMA)
    Draft202012Validator.check_schema(meta)
    return Draft202012Validator(meta)


def _first_error(errors: list[ValidationError]) -> ValidationError:
    # The deepest error is the most specific one to show a person.
    return sorted(errors, key=lambda e: (-len(e.absolute_path), str(e.absolute_path)))[0]


@cache
def _checked_stamps(schemas: Path) -> Path:
    """Where a file that passed both checks leaves a stamp named by what was checked (its bytes,
    the meta-schema's, jsonschema's version): the next process loads it without checking again
    (checking is the catalogue's main cost, paid by every command). A file that fails is
    checked every time, so its error is always shown."""
    meta = hashlib.sha256((schemas / META_SCHEMA).read_bytes()).hexdigest()
    with_version = hashlib.sha256(f"{meta} jsonschema {version('jsonschema')}".encode()).hexdigest()
    return paths.harness_cache() / "checked-schemas" / with_version[:32]


def _check(path: Path, data: Any, schemas: Path) -> None:
    shown = _display(path)
    if not isinstance(data, dict):
        raise SchemaError(shown, "", "a surface schema must be a JSON object")
    stamp = _checked_stamps(schemas) / hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    if stamp.is_file():
        return
    meta_errors = list(_meta_validator(schemas).iter_errors(data))
    if meta_errors:
        err = _first_error(meta_errors)
        raise SchemaError(shown, _pointer(err.absolute_path), err.message)
    json_schema_errors = list(Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(data))
    if json_schema_errors:
        err = _first_error(json_schema_errors)
        raise SchemaError(shown, _pointer(err.absolute_path), err.message)
    with contextlib.suppress(OSError):  # a read-only cache only costs the next process the check
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()


def _parameters(props: dict[str, Any]) -> dict[str, Parameter]:
    return {
        name: Parameter(
            name=name,
            schema=spec,
            placement=spec["x-placement"],
            provenance_kind=spec["x-provenance"]["kind"],
            provenance_source=spec["x-provenance"]["source"],
        )
        for name, spec in props.items()
    }


def load_surface(path: Path, schemas: Path | None = None) -> Surface:
    """Load and validate one surface schema file."""
    schemas = schemas or path.parent
    data = read_json(path)
    _check(path, data, schemas)
    meta = data["x-surface"]
    embeddings = data.get("$defs", {}).get("embeddings", {}).get("properties", {})
    return Surface(
        name=meta["name"],
        title=data["title"],
        path=path,
        schema=data,
        endpoint=meta["endpoint"],
        unknown_keys=meta["unknown-keys"],
        parameters=_parameters(data["properties"]),
        embeddings=_parameters(embeddings),
        refusal_statuses=frozenset(meta.get("refusal-statuses", (400, 422))),
    )


def _folder(schemas: Path) -> dict[str, Surface]:
    """The surfaces of one folder; its meta-schema, else the built-in one. Loaded once per
    version of its files: checking every schema against the meta-schema, nested structure
    included, is the catalogue's main cost, and every command asks for surfaces often."""
    meta = schemas if (schemas / META_SCHEMA).is_file() else paths.BUILTIN_SCHEMAS
    files = [*sorted(schemas.glob("*.json")), meta / META_SCHEMA]
    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files if f.is_file())
    return dict(_loaded_folder(schemas, meta, stamp))


@lru_cache(maxsize=32)
def _loaded_folder(schemas: Path, meta: Path, stamp: tuple[tuple[str, int, int], ...]) -> dict[str, Surface]:
    surfaces: dict[str, Surface] = {}
    for path in sorted(schemas.glob("*.json")):
        surface = load_surface(path, meta)
        if surface.name in surfaces:
            raise SchemaError(_display(path), "/x-surface/name", f"surface {surface.name!r} is defined twice")
        surfaces[surface.name] = surface
    return surfaces


def load_catalogue(schemas: Path | None = None) -> dict[str, Surface]:
    """Every surface, by name: the built-in catalogue with the project's schemas/ over it (a
    surface of the same name replaces the built-in one), or the one folder ``schemas``. Fails
    on the first malformed file."""
    folders = [schemas] if schemas is not None else paths.schema_dirs()
    surfaces: dict[str, Surface] = {}
    for folder in folders:
        surfaces.update(_folder(folder))
    if not surfaces:
        raise SchemaError(_display(folders[-1]), "", "no surface schemas (*.json) found")
    return surfaces


RESPONSE_SCHEMAS = tuple(
    f"{name}{level}"
    for name in ("chat-completion", "chat-completion-chunk", "embedding-list", "error-envelope")
    for level in ("", ".letter")
)


@cache
def _response_stamps() -> Path:
    """Where a response schema that passed JSON Schema's own check leaves a stamp named by its
    bytes, in a folder named by what checked it (jsonschema and the meta-schemas it ships in
    jsonschema-specifications): every process asks for the response schemas, and checking
    them was a fixed cost of each. A file that fails is checked every time."""
    checkers = f"responses jsonschema {version('jsonschema')} specifications {version('jsonschema-specifications')}"
    return paths.harness_cache() / "checked-schemas" / hashlib.sha256(checkers.encode()).hexdigest()[:32]


@cache
def response_schema(name: str) -> Draft202012Validator:
    """A validator for ``responses/<name>.schema.json``: the project's, else the built-in one."""
    relative = Path("responses") / f"{name}.schema.json"
    path = next(
        (d / relative for d in reversed(paths.schema_dirs()) if (d / relative).is_file()),
        paths.BUILTIN_SCHEMAS / relative,
    )
    data = read_json(path)
    stamp = _response_stamps() / hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    if not stamp.is_file():
        try:
            Draft202012Validator.check_schema(data)
        except JsonSchemaError as err:
            raise SchemaError(_display(path), _pointer(err.absolute_path), err.message) from err
        with contextlib.suppress(OSError):  # a read-only cache only costs the next process the check
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.touch()
    return Draft202012Validator(data)


def check_response_schemas() -> None:
    """Load every response schema now: a broken one is a tool error before a run, not an
    exception inside a check halfway through it."""
    for name in RESPONSE_SCHEMAS:
        response_schema(name)


def surface_named(name: str) -> Surface:
    """The surface called ``name``; one line naming the known ones when there is none."""
    catalogue = load_catalogue()
    if name not in catalogue:
        raise ConfigError(f"unknown schema {name!r}; known surfaces: {', '.join(sorted(catalogue))}")
    return catalogue[name]
