"""Workflows behind `harness run` and friends (filled in by the engine)."""

from __future__ import annotations

from typing import Any


def add_run_commands(sub: Any) -> None:
    return None
