"""scipy's answers to a replay's statistical tests, kept between processes.

A seed-free column's verdicts rest on tests over samples (``judges.statistics``), and in a
replay the samples are the recorded ones: every replay asks scipy the same questions. Importing
scipy.stats alone was the largest fixed cost of a replay, paid by every process that replays a
seed-free column. ``KeptAnswers`` answers a question asked before from a store, and computes
(importing scipy) only what it has not seen.

An answer is keyed by the question (the test's name and its arguments, floats written exactly)
and by everything that computes it: the source of ``judges.statistics``, the versions of scipy
and numpy, and this harness's version; a change to any of them is a new key, never a stale
answer. Answers are kept as their exact text (``repr``), so a kept answer is the computed one,
bit for bit. Only replays use it: a live run's samples are new, and keeping their tests would
grow the store without end.

The store is a SQLite file in the harness's cache (``$XDG_CACHE_HOME/harness``), beside the
judged bodies (``checks.judged``). It is only ever an optimisation: when it cannot be opened,
read or written, the answer is computed, and nothing about a verdict changes.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import __version__, paths
from harness.checks.judges import statistics
from harness.checks.store import KeptTable

STORE = "statistics-answers.sqlite"


@functools.cache
def code_digest() -> str:
    """What an answer depends on besides its question: the tests' code, the libraries that do
    the arithmetic, and this harness's version."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(Path(str(statistics.__file__)).read_bytes())
    for library in ("scipy", "numpy"):
        try:
            found = importlib.metadata.version(library)
        except importlib.metadata.PackageNotFoundError:
            found = "absent"
        digest.update(f"{library} {found};".encode())
    digest.update(__version__.encode())
    return digest.hexdigest()


def question_key(name: str, args: tuple[Any, ...]) -> str:
    """The question and the code digest; JSON writes a float by ``repr``, exactly."""
    text = json.dumps([code_digest(), name, args], separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


class KeptAnswers:
    """A ``statistics.Recall`` over the store: an answer looked up, else computed and kept."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.harness_cache() / STORE
        self._table = KeptTable(self.path, "answers", timeout=2, sync_each=False)

    def _get(self, key: str) -> float | None:
        found = self._table.get(key)
        try:
            return float(found) if found is not None else None
        except ValueError:
            return None

    def _put(self, key: str, value: float) -> None:
        self._table.put([(key, repr(value))])

    def __call__(self, name: str, args: tuple[Any, ...], compute: Callable[[], float]) -> float:
        key = question_key(name, args)
        found = self._get(key)
        if found is not None:
            return found
        value = compute()
        self._put(key, value)
        return value

    def close(self) -> None:
        self._table.close()
