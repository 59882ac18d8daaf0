"""Which providers.toml entry stands for each of Data Designer's providers: the one at the
same endpoint, else the entry for its built-in provider of that name (nvidia, openai,
openrouter); ``--provider`` sends every alias to one entry instead."""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.datadesigner.config import ConfigFile
from harness.errors import ConfigError
from harness.providers import Provider, resolve_provider

# Data Designer's built-in providers (config/default_model_settings.py) -> our entries.
BY_NAME = {"nvidia": "nvidia-nim", "openai": "openai", "openrouter": "openrouter"}


def _endpoint(provider: Provider) -> str | None:
    try:
        return provider.resolved_base_url()
    except ConfigError:  # a ${VARIABLE} that is not set: it matches nothing
        return None


def harness_provider(dd_provider: Any, providers: dict[str, Provider]) -> Provider:
    endpoint = str(dd_provider.endpoint).rstrip("/")
    for provider in providers.values():
        # A local entry's base_url is a placeholder until it is launched: it matches nothing.
        if provider.launch is None and _endpoint(provider) == endpoint:
            return provider
    name = BY_NAME.get(dd_provider.name)
    if name in providers:
        return providers[name]
    raise ConfigError(
        f"Data Designer provider {dd_provider.name!r} ({endpoint}) matches no providers.toml entry by endpoint "
        "or name: add one with that base_url, or pass --provider"
    )


def by_provider(
    config: ConfigFile, providers: dict[str, Provider], chosen: str | None
) -> list[tuple[Provider, ConfigFile]]:
    """The config split by the harness provider each alias is checked against, in file order."""
    groups: dict[str, tuple[Provider, list[Any]]] = {}
    for model in config.models:
        if chosen:
            provider = resolve_provider(chosen, providers)
        else:
            provider = harness_provider(config.providers[model.provider], providers)
        groups.setdefault(provider.name, (provider, []))[1].append(model)
    return [(provider, dataclasses.replace(config, models=models)) for provider, models in groups.values()]
