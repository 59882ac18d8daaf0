"""Run folders: where a run writes its results and reports."""

from __future__ import annotations

import time
from pathlib import Path

from harness import paths
from harness.errors import ConfigError


def writable_folder(path: Path, flag: str = "--out") -> Path:
    """``path`` as a run folder: created if missing; one line if it is a file or read-only."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path}: exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".harness-write-test"
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"{flag} {path}: cannot write there: {err.strerror}") from err
    return path


def new_run_dir(label: str) -> Path:
    """``reports/<UTC time>-<label>``, never an existing folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    folder = paths.reports_dir() / f"{stamp}-{label}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = paths.reports_dir() / f"{stamp}-{label}-{suffix}"
    return folder
