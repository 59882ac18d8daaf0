"""Where the project's data lives: providers.toml, schemas/ (its own surfaces, over the
built-in catalogue), cassettes/, reports/.

The harness works on a project folder the way nox works on a noxfile: $HARNESS_ROOT, else the
nearest folder at or above the current directory that has a ``providers.toml``, else the
current directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    env = os.environ.get("HARNESS_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "providers.toml").is_file():
            return folder
    return here


def harness_cache() -> Path:
    """$XDG_CACHE_HOME/harness (default ~/.cache/harness): what the harness keeps between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harness"


def _builtin_schemas() -> Path:
    """The built-in catalogue (surfaces, meta-schema, response schemas). It lives in the
    repository's top-level schemas/; a wheel ships it as the package data ``harness/_schemas``
    (setup.py maps the one to the other). From a checkout (an editable install, or the source
    tree on sys.path) there is no ``_schemas`` beside this file: the checkout's schemas/ is it."""
    package = Path(__file__).resolve().parent
    shipped = package / "_schemas"
    return shipped if shipped.is_dir() else package.parent / "schemas"


BUILTIN_SCHEMAS = _builtin_schemas()


def schemas_dir() -> Path:
    """The project's own schemas/: surfaces it adds, or overrides by name."""
    return project_root() / "schemas"


def schema_dirs() -> list[Path]:
    """Where surfaces come from, later over earlier: the built-in catalogue, then the project's.
    In this repository's own checkout the project's schemas/ is the built-in catalogue itself,
    so it is read once, not laid over itself."""
    own = schemas_dir()
    return [BUILTIN_SCHEMAS] + ([own] if own.is_dir() and own.resolve() != BUILTIN_SCHEMAS else [])


def cassettes_dir() -> Path:
    return project_root() / "cassettes"


def reports_dir() -> Path:
    return project_root() / "reports"


def providers_file() -> Path:
    return project_root() / "providers.toml"
