"""A table of text values by key in a SQLite file of the harness's cache: what ``judged`` and
``answers`` keep between processes. Only ever an optimisation: when the file cannot be opened,
read or written (a read-only disk, a lock held too long) every lookup misses and every write is
dropped, and the caller computes what it would have found."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path


class KeptTable:
    """One table (``key TEXT PRIMARY KEY, value TEXT``), opened on first use."""

    def __init__(self, path: Path, table: str, timeout: float, sync_each: bool = True) -> None:
        self.path, self._table, self._timeout, self._sync_each = path, table, timeout, sync_each
        self._db: sqlite3.Connection | None = None
        self._broken = False

    def _connection(self) -> sqlite3.Connection | None:
        if self._db is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                if not self._sync_each:
                    # A value lost after a crash is only computed again.
                    db.execute("PRAGMA synchronous=NORMAL")
                db.execute(f"CREATE TABLE IF NOT EXISTS {self._table} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self._db = db
            except (OSError, sqlite3.Error):
                self._broken = True
        return self._db

    def get(self, key: str) -> str | None:
        db = self._connection()
        if db is None:
            return None
        try:
            row = db.execute(f"SELECT value FROM {self._table} WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            self._broken = True
            return None
        return str(row[0]) if row else None

    def put(self, items: Iterable[tuple[str, str]]) -> None:
        """Keep these values; a key already kept keeps its value."""
        db = self._connection()
        if db is None:
            return
        try:
            db.executemany(f"INSERT OR IGNORE INTO {self._table} VALUES (?, ?)", items)
        except sqlite3.Error:
            self._broken = True

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
