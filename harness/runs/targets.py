"""Which provider is held to which surface, with which model, on which route. A provider is
held to its own surface; it may also be held to others (``also_held_to`` in providers.toml,
``--hold PROVIDER=SURFACE``): the integrator's question "does X honour the semantics my code
was written for?". An entry listing several ``models`` gives a column per model, a router's
``routes`` a column per pinned upstream. Each is a column of the reports, with its own
cassette and baseline, named ``provider[+route][:model][@surface]``
(``providers.column_name``): an entry with one model and no routes keeps ``provider`` for its
own surface and ``provider@surface`` otherwise."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.checks.findings import Finding
from harness.checks.judges import Judgement
from harness.engine import build_record
from harness.errors import ConfigError
from harness.providers import Provider, file_stem, resolve_provider
from harness.providers import column_name as entry_column_name
from harness.results import Record, Verdict
from harness.schema import Surface, surface_named


def column_name(provider: Provider, surface: Surface, model: str | None = None, route: str | None = None) -> str:
    """The column of ``provider`` held to ``surface`` with ``model`` (default: its plain one,
    or its first) pinned to ``route``: the model is named unless it is the entry's plain one."""
    other = "" if surface.name == provider.schema_name else surface.name
    return entry_column_name(provider.name, model=_named(provider, model), route=route or "", surface=other)


def _named(provider: Provider, model: str | None) -> str:
    """``model`` as a column names it: "" for the entry's plain model."""
    model = model or provider.default_model
    return "" if model == provider.plain_model else model


@dataclass(frozen=True)
class Target:
    """One column: a provider held to one surface, with one of its models (None: its plain
    one, or its first when it lists several), pinned to one of its routes (None: unpinned)."""

    provider: Provider
    surface: Surface
    model: str | None = None
    route: str | None = None

    @property
    def column(self) -> str:
        return column_name(self.provider, self.surface, self.model, self.route)

    @property
    def model_name(self) -> str:
        """The model every request of the column names."""
        return self.model or self.provider.default_model

    @property
    def cassette_folder(self) -> str:
        """Its cassettes' folder under cassettes/: the column without its surface, as one file
        name (the surface names the file); the provider's name for its plain model unpinned."""
        return file_stem(
            entry_column_name(self.provider.name, model=_named(self.provider, self.model), route=self.route or "")
        )


def expand(provider: Provider, surface: Surface, models: Iterable[str] | None = None) -> list[Target]:
    """``provider`` held to ``surface``: a column per model (those of ``models`` it serves,
    or all) and per route (or one unpinned column without routes)."""
    wanted = None if models is None else set(models)
    chosen = [m for m in provider.served_models if wanted is None or m in wanted]
    routes: list[str | None] = list(provider.routes) or [None]
    return [Target(provider, surface, model, route) for model in chosen for route in routes]


def select_models(providers: Iterable[Provider], models: list[str] | None) -> list[str] | None:
    """``--model``: the names, each served by one of ``providers``; an unknown one is a usage
    error (one line, exit 2), not a silent run of nothing."""
    if not models:
        return None
    chosen = list(providers)
    known = {m for provider in chosen for m in provider.served_models}
    unknown = [m for m in models if m not in known]
    if unknown:
        entries = ", ".join(p.name for p in chosen) or "none"
        raise ConfigError(
            f"--model {unknown[0]!r}: no chosen provider serves it (providers: {entries}; "
            f"models: {', '.join(sorted(known)) or 'none'})"
        )
    return list(dict.fromkeys(models))


def parse_hold(text: str) -> tuple[str, str]:
    """``PROVIDER=SURFACE`` from the command line."""
    provider, sep, surface = text.partition("=")
    if not sep or not provider.strip() or not surface.strip():
        raise ConfigError(f"--hold {text!r}: expected PROVIDER=SURFACE, e.g. llamacpp-local=openrouter")
    return provider.strip(), surface.strip()


def targets_of(
    provider: Provider, holds: Iterable[tuple[str, str]] = (), models: Iterable[str] | None = None
) -> list[Target]:
    """``provider`` held to its own surface, then to each other surface asked for (once each),
    a column per model (of ``models``, or all) and route."""
    names = [provider.schema_name, *provider.also_held_to]
    names += [surface for name, surface in holds if name == provider.name]
    chosen = None if models is None else list(models)
    return [target for name in dict.fromkeys(names) for target in expand(provider, surface_named(name), chosen)]


def conformance_targets(
    providers: dict[str, Provider],
    chosen: list[Provider],
    holds: list[tuple[str, str]],
    schema: str | None = None,
    models: list[str] | None = None,
) -> tuple[list[Target], list[Target]]:
    """The columns of a run: those to run (every surface of each chosen provider, or ``schema``
    alone for each when given; every model and route, or the models ``models`` names) and
    those shown as documented only (every column of the others)."""
    for name, _ in holds:
        resolve_provider(name, providers)  # an unknown name is a usage error, not a silent no-op
    wanted = select_models(chosen, models)

    def columns(provider: Provider, names: list[str] | None) -> list[Target]:
        if schema:
            return expand(provider, surface_named(schema), names)
        return targets_of(provider, holds, names)

    run = [target for provider in chosen for target in columns(provider, wanted)]
    # By name: a chosen provider may carry overrides (--no-seed, --probe-mode) its entry lacks.
    others = [p for p in providers.values() if p.name not in {c.name for c in chosen}]
    documented = [target for provider in others for target in targets_of(provider, holds)]
    if wanted is not None:  # the chosen providers' models --model left out are documented only
        ran = {target.column for target in run}
        documented += [t for provider in chosen for t in columns(provider, None) if t.column not in ran]
    unique(run + documented)
    return run, documented


def unique(targets: list[Target]) -> list[Target]:
    """``targets``, each column named once: two that share a name (a model named like another
    column, ``a@openai``) would share records, a cassette and a baseline."""
    seen: dict[str, Target] = {}
    for target in targets:
        other = seen.setdefault(target.column, target)
        if other is not target and other != target:
            raise ConfigError(f"two columns are both named {target.column!r}: rename a model or a route")
    return targets


def not_run_record(target: Target, why: str) -> Record:
    """The one record of a column that was not run, saying why."""
    finding = Finding(Judgement(Verdict.NOT_RUN, why), check="setup", param="*", case_id=f"not-run.{target.column}")
    return build_record(finding, provider=target.column, surface=target.surface)
