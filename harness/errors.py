"""Tool errors: the harness could not do its job (bad schema, config, usage, cassette).

A provider breaking its documentation is never one of these: that is a verdict
(see ``harness.results``). Every tool error renders as one line and exits with 2.
"""

from __future__ import annotations

from pathlib import Path


class HarnessError(Exception):
    """Base of every tool error. ``str(err)`` is the one line shown to the user."""

    exit_code = 2


class SchemaError(HarnessError):
    """A schema file is unreadable or breaks the meta-schema."""

    def __init__(self, path: str, pointer: str, message: str) -> None:
        self.path = path
        self.pointer = pointer
        super().__init__(f"{path}: {pointer or '/'}: {message}")


class ConfigError(HarnessError):
    """providers.toml, a flag, or the environment is wrong (names what to do)."""


class CassetteError(HarnessError):
    """A recorded cassette cannot be read."""


class CheckError(HarnessError):
    """A check raised: a bug in the harness, reported as one line and exit 2, never a verdict."""


def read_text_file(path: Path, what: str = "text") -> str:
    """A file the user gave us, as UTF-8 text; one line naming it when it is not readable or not
    UTF-8 (a binary file, another encoding)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 {what} (byte 0x{err.object[err.start]:02x} at offset {err.start})"
        ) from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from err
