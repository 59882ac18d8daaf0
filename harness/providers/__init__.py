"""Providers: ``providers.toml`` parsed into ``Provider`` objects. Data, not classes: a new
provider is a few lines of TOML."""

from harness.providers.registry import (
    Endpoints,
    LaunchSpec,
    PriceSpec,
    Provider,
    column_name,
    entry_of,
    file_stem,
    load_providers,
    resolve_provider,
)

__all__ = [
    "Endpoints",
    "LaunchSpec",
    "PriceSpec",
    "Provider",
    "column_name",
    "entry_of",
    "file_stem",
    "load_providers",
    "resolve_provider",
]
