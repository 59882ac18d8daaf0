"""Which provider is held to which surface. A provider is held to its own surface; it may
also be held to others (``also_held_to`` in providers.toml, ``--hold PROVIDER=SURFACE``): the
integrator's question "does X honour the semantics my code was written for?". Each pair is
a column of the reports, named ``provider`` for its own surface and ``provider@surface``
otherwise, with its own cassette and baseline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.checks.findings import Finding
from harness.checks.judges import Judgement
from harness.engine import build_record
from harness.errors import ConfigError
from harness.providers import Provider, resolve_provider
from harness.results import Record, Verdict
from harness.schema import Surface, surface_named


def column_name(provider: Provider, surface: Surface) -> str:
    return provider.name if surface.name == provider.schema_name else f"{provider.name}@{surface.name}"


@dataclass(frozen=True)
class Target:
    """One column: a provider held to one surface."""

    provider: Provider
    surface: Surface

    @property
    def column(self) -> str:
        return column_name(self.provider, self.surface)


def parse_hold(text: str) -> tuple[str, str]:
    """``PROVIDER=SURFACE`` from the command line."""
    provider, sep, surface = text.partition("=")
    if not sep or not provider.strip() or not surface.strip():
        raise ConfigError(f"--hold {text!r}: expected PROVIDER=SURFACE, e.g. llamacpp-local=openrouter")
    return provider.strip(), surface.strip()


def targets_of(provider: Provider, holds: Iterable[tuple[str, str]] = ()) -> list[Target]:
    """``provider`` held to its own surface, then to each other surface asked for (once each)."""
    names = [provider.schema_name, *provider.also_held_to]
    names += [surface for name, surface in holds if name == provider.name]
    return [Target(provider, surface_named(name)) for name in dict.fromkeys(names)]


def conformance_targets(
    providers: dict[str, Provider], chosen: list[Provider], holds: list[tuple[str, str]], schema: str | None = None
) -> tuple[list[Target], list[Target]]:
    """The columns of a run: those to run (every surface of each chosen provider, or ``schema``
    alone for each when given) and those shown as documented only (every surface of the others)."""
    for name, _ in holds:
        resolve_provider(name, providers)  # an unknown name is a usage error, not a silent no-op
    if schema:
        run = [Target(provider, surface_named(schema)) for provider in chosen]
    else:
        run = [target for provider in chosen for target in targets_of(provider, holds)]
    others = [p for p in providers.values() if p not in chosen]
    return run, [target for provider in others for target in targets_of(provider, holds)]


def not_run_record(target: Target, why: str) -> Record:
    """The one record of a column that was not run, saying why."""
    finding = Finding(Judgement(Verdict.NOT_RUN, why), check="setup", param="*", case_id=f"not-run.{target.column}")
    return build_record(finding, provider=target.column, surface=target.surface)
