"""Which column is graded against which (``--reference``, ``reference = "..."`` in
providers.toml), on which surface, and a recorded reference (``--reference-run DIR``) brought
into the run folder. The comparison itself is ``harness.reporting.reference``.

Both columns are held to the same surface: the one given (``--schema``), else the first surface
the candidate is held to that the reference is also held to (llama.cpp and vLLM are both held to
``openai``: their shipped cassettes answer for it), else the reference's own surface."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from harness.checks.registry import load_families
from harness.errors import ConfigError
from harness.providers import Provider, resolve_provider
from harness.reporting.reference import DEFAULT_POLICY, POLICIES, REFERENCE_RECORDS, Pairing
from harness.reporting.runlog import column_dates
from harness.results import Record, ResultsWriter, read_results
from harness.runs.targets import Target, targets_of
from harness.schema import surface_named


@dataclass(frozen=True)
class ReferencePair:
    """A candidate provider and its reference, held to one surface."""

    candidate: Target
    reference: Target
    policy: str


def parse_reference(text: str) -> tuple[str | None, str]:
    """``REF`` (every candidate of the run) or ``CANDIDATE=REF`` from the command line."""
    candidate, sep, reference = text.partition("=")
    if not sep:
        return None, text.strip()
    if not candidate.strip() or not reference.strip():
        raise ConfigError(f"--reference {text!r}: expected REF or CANDIDATE=REF, e.g. llamacpp-local=vllm-local")
    return candidate.strip(), reference.strip()


def shared_surface(candidate: Provider, reference: Provider, schema: str | None = None) -> str:
    if schema:
        return schema
    theirs = {t.surface.name for t in targets_of(reference)}
    ours = [t.surface.name for t in targets_of(candidate)]
    return next((name for name in ours if name in theirs), reference.schema_name)


def reference_pairs(
    providers: dict[str, Provider],
    candidates: list[Provider],
    references: list[str],
    policy: str | None,
    schema: str | None = None,
) -> list[ReferencePair]:
    """Every pair to grade: those asked for on the command line, else each candidate's
    ``reference`` in providers.toml. A provider is never its own reference."""
    if policy is not None and policy not in POLICIES:
        raise ConfigError(f"--policy {policy!r}: must be one of {', '.join(POLICIES)}")
    wanted: list[tuple[Provider, Provider]] = []
    if references:
        for text in references:
            name, ref = parse_reference(text)
            reference = resolve_provider(ref, providers)
            # CANDIDATE=REF grades that candidate when the run has it (a run of other
            # providers is not widened by it); REF alone grades every candidate.
            chosen = [c for c in candidates if c.name == resolve_provider(name, providers).name] if name else candidates
            wanted += [(c, reference) for c in chosen if c.name != reference.name]
    else:
        wanted = [(c, resolve_provider(c.reference, providers)) for c in candidates if c.reference]
    pairs = []
    seen: set[tuple[str, str]] = set()
    for candidate, reference in wanted:
        if (candidate.name, reference.name) in seen:
            continue
        seen.add((candidate.name, reference.name))
        if candidate.name == reference.name:
            raise ConfigError(f"providers.{candidate.name}.reference: a provider cannot be its own reference")
        surface = surface_named(shared_surface(candidate, reference, schema))
        chosen_policy = policy or candidate.reference_policy or DEFAULT_POLICY
        pairs.append(ReferencePair(Target(candidate, surface), Target(reference, surface), chosen_policy))
    return pairs


def read_recorded(run: Path, column: str) -> tuple[list[Record], str]:
    """The reference column's records in a previous run folder, and when that run was made
    (checked before anything is sent: a wrong folder is a one-line error, not a wasted run)."""
    source = run / "results.jsonl"
    if not source.is_file():
        raise ConfigError(f"--reference-run {run}: no results.jsonl there (a run folder of the reference)")
    everything = read_results(source)
    records = [r for r in everything if r.provider == column]
    if not records:
        found = sorted({r.provider for r in everything})
        raise ConfigError(f"--reference-run {run}: no {column!r} column there (it has: {', '.join(found) or 'none'})")
    dated = column_dates(run).get(column)
    return records, dated or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(source.stat().st_mtime))


def recorded_reference(run: Path, column: str, out: Path) -> str:
    """Copy the reference column's records from a previous run folder into ``out`` (as
    ``reference.jsonl``, apart from the run's own records, so the gate does not judge them);
    return the date that run was made."""
    records, date = read_recorded(run, column)
    writer = ResultsWriter(out / REFERENCE_RECORDS)
    for record in records:
        writer.write(record)
    writer.close()
    return date


def pairing_of(pair: ReferencePair, run: Path | None, date: str) -> Pairing:
    return Pairing(
        candidate=pair.candidate.column,
        reference=pair.reference.column,
        policy=pair.policy,
        run=str(run) if run is not None else "",
        date=date,
    )


GRADED_CHECK = "tool-agreement"


def graded_checks(checks: list[str] | None) -> list[str]:
    """The checks of a graded column: those asked for (all enabled ones by default) and the
    tool prompts, which are sent only where an answer is compared with a reference's."""
    names = checks or [name for name, check in load_families().items() if check.enabled]
    return names if GRADED_CHECK in names else [*names, GRADED_CHECK]
