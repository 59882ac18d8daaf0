"""Where the project's data lives: providers.toml, schemas/ (its own surfaces, over the
built-in catalogue shipped in the package), cassettes/, reports/.

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


# The surfaces and response schemas shipped in the package.
BUILTIN_SCHEMAS = Path(__file__).resolve().parent / "schemas"


def schemas_dir() -> Path:
    """The project's own schemas/: surfaces it adds, or overrides by name."""
    return project_root() / "schemas"


def schema_dirs() -> list[Path]:
    """Where surfaces come from, later over earlier: the built-in catalogue, then the project's."""
    own = schemas_dir()
    return [BUILTIN_SCHEMAS] + ([own] if own.is_dir() and own.resolve() != BUILTIN_SCHEMAS else [])


def cassettes_dir() -> Path:
    return project_root() / "cassettes"


def reports_dir() -> Path:
    return project_root() / "reports"


def providers_file() -> Path:
    return project_root() / "providers.toml"
