"""Every report of a run folder, rendered from its records (``results.jsonl``) and run log
(``runs.jsonl``) alone: the CLI, the pytest plugin's controller and check-config write the
same files, and ``harness report DIR`` re-renders any of them."""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.providers import Provider, entry_of, load_providers
from harness.reporting.html import write_html
from harness.reporting.junit import write_junit
from harness.reporting.markdown import write_markdown
from harness.reporting.reference import gradings_of
from harness.reporting.runlog import read_run_log
from harness.reporting.summary import Cell, per_provider, summarise
from harness.results import Record, read_results
from harness.schema import load_catalogue


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a run's records are read and rendered: they are
    plain data, all alive until the reports are written, and every full collection meanwhile
    would walk all of them (every field of every record is an object) to free nothing. What is
    garbage is still freed by reference counting; cycles wait until the collector is back."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def write_reports(out: Path, meta: dict[str, Any]) -> tuple[list[Record], list[Cell]]:
    """Render every report of ``out/results.jsonl`` into ``out``."""
    with collector_paused():
        return _write_reports(out, meta)


def _write_reports(out: Path, meta: dict[str, Any]) -> tuple[list[Record], list[Cell]]:
    records = read_results(out / "results.jsonl")
    cells = summarise(records)
    gradings = gradings_of(out, records)
    catalogue = load_catalogue()
    surfaces: dict[str, str] = {}
    for record in records:
        surfaces.setdefault(record.provider, record.surface)
    sent = read_run_log(out)
    totals = per_provider(records, sent)
    providers = _providers_or_empty()
    meta = {
        **meta,
        "sent": sent,
        # A provider+route:model@surface column needs its provider's key.
        "key_envs": {
            column: providers[entry_of(column)].api_key_env for column in surfaces if entry_of(column) in providers
        },
        "requests": sum(t.requests for t in totals.values()),
        "tokens": sum(t.completion_tokens for t in totals.values()),
    }
    (out / "summary.json").write_text(json.dumps([c.to_json() for c in cells], indent=1) + "\n", encoding="utf-8")
    if gradings:
        graded = [
            {
                **g.pairing.to_json(),
                "tool_agreement": g.tools.to_json() if g.tools else None,
                "cells": [c.to_json() for c in g.cells],
            }
            for g in gradings
        ]
        (out / "grading-summary.json").write_text(json.dumps(graded, indent=1) + "\n", encoding="utf-8")
    write_junit(cells, out / "junit.xml", float(meta.get("elapsed_s", 0.0)), gradings=gradings)
    write_markdown(records, cells, meta, out / "summary.md", gradings)
    write_html(records, cells, catalogue, surfaces, meta, out / "report.html", gradings)
    return records, cells


def _providers_or_empty() -> dict[str, Provider]:
    """Reports render without a providers.toml (a folder copied elsewhere): no key names then."""
    try:
        return load_providers()
    except ConfigError:
        return {}
