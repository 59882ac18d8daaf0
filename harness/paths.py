"""Where the project's data lives: schemas/, providers.toml, cassettes/, reports/.

The harness works on a project folder the way nox works on a noxfile: the nearest folder
at or above the current directory that has a ``providers.toml``, else $HARNESS_ROOT, else
the checkout this package was installed from.
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
    return Path(__file__).resolve().parent.parent


def schemas_dir() -> Path:
    return project_root() / "schemas"


def cassettes_dir() -> Path:
    return project_root() / "cassettes"


def reports_dir() -> Path:
    return project_root() / "reports"


def providers_file() -> Path:
    return project_root() / "providers.toml"
