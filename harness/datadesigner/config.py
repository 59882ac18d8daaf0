"""A Data Designer setup, loaded and validated by Data Designer itself (the `data-designer`
extra, 0.9.6): its files, its classes, its messages. Nothing here re-implements its rules, so
a file it refuses is refused here with its words, and a file it wrote is accepted.

The files are Data Designer's own: ``model_configs.yaml`` (a ``model_configs:`` list) and
``model_providers.yaml`` (a ``providers:`` list), by default in ``$DATA_DESIGNER_HOME`` or
``~/.data-designer``. Without a providers file, its built-in providers (nvidia, openai,
openrouter) are the ones it would write there on first use.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.errors import ConfigError, read_text_file

PACKAGE = "data-designer==0.9.6"
MISSING = (
    f"check-config runs Data Designer's own code: pip install 'provider-compat-harness[data-designer]' ({PACKAGE})"
)

# The request keys Data Designer sets itself; an extra_body key with one of these names
# silently overwrites it (extra_body is merged into the body last).
STANDARD_FIELDS = frozenset(
    {"model", "messages", "temperature", "top_p", "max_tokens", "input", "encoding_format", "dimensions"}
)
# Keys its generate() removes from the call and from extra_body (engine/models/facade.py):
# never sent, so never judged.
DROPPED_KEYS = frozenset({"n"})


def data_designer_home() -> Path:
    """Where Data Designer keeps its files (config/utils/constants.py: no ~ expansion)."""
    return Path(os.getenv("DATA_DESIGNER_HOME", str(Path.home() / ".data-designer")))


def _modules() -> Any:
    try:
        from data_designer.config import models
    except ImportError as err:
        raise ConfigError(MISSING) from err
    return models


@dataclass(frozen=True)
class ConfigFile:
    """The model configs of one file and the providers they resolve against (by name)."""

    path: Path
    models: list[Any]  # data_designer.config.models.ModelConfig
    providers: dict[str, Any]  # name -> data_designer.config.models.ModelProvider
    providers_path: Path | None  # None: Data Designer's built-in providers
    registry: Any  # its ModelProviderRegistry of those providers
    stand_ins: frozenset[str] = frozenset()  # provider names it lacks, added as bare entries (--provider)


# pydantic names union branches in error locations; a person knows the field, not the branch.
_BRANCHES = frozenset({"float", "int", "UniformDistribution", "ManualDistribution"})


def _first_error(err: ValidationError) -> str:
    """The error that explains: the rule Data Designer states (a value error) over the other
    branches of a union, where it is and why, without the branch names."""
    errors = err.errors()
    first = next((e for e in errors if e["type"] == "value_error"), errors[0])
    where = ".".join(str(p) for p in first["loc"] if str(p) not in _BRANCHES)
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _refused(path: Path, err: Exception, alias: str | None = None) -> ConfigError:
    """Data Designer's refusal on one line."""
    who = f"model config {alias!r}: " if alias else ""
    if isinstance(err, ValidationError):
        return ConfigError(f"{path}: Data Designer refuses it: {who}{_first_error(err)}")
    text = " ".join(str(err).split())
    return ConfigError(f"{path}: Data Designer refuses it: {who}{type(err).__name__}: {text}")


def _refusing_alias(path: Path) -> tuple[str, Exception] | None:
    """Which model config Data Designer refuses, validating each alone with its own class."""
    from data_designer.config.utils.io_helpers import load_config_file as read

    try:
        raw = read(path).get("model_configs")
    except Exception:
        return None
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            _modules().ModelConfig.model_validate(item)
        except ValidationError as err:
            alias = item.get("alias") if isinstance(item, dict) else None
            return str(alias or f"#{index}"), err
    return None


def _readable_yaml(path: Path) -> None:
    """A file a person gave: UTF-8, and YAML, or one line saying where it is not (Data
    Designer's loader would raise a decoding or parser error with a traceback's worth of text)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        yaml.safe_load(read_text_file(path))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err).split("\n")[0]
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML: {problem}{where}") from err


def load_models(path: Path) -> list[Any]:
    _readable_yaml(path)
    models = _modules()
    try:
        loaded: list[Any] = models.load_model_configs(path)
    except ValidationError as err:
        found = _refusing_alias(path)
        raise (_refused(path, found[1], found[0]) if found else _refused(path, err)) from err
    except (ValueError, OSError) as err:
        raise _refused(path, err) from err
    except Exception as err:  # its own errors (InvalidConfigError ...) share no base with ValueError
        if type(err).__module__.startswith("data_designer"):
            raise _refused(path, err) from err
        raise
    return loaded


def load_providers(path: Path | None) -> Any:
    """Data Designer's provider registry (engine/model_provider.py) of a ``providers:`` file, or
    of its built-in providers; duplicate names are refused as the registry refuses them."""
    _modules()
    from data_designer.config.default_model_settings import get_builtin_model_providers
    from data_designer.config.utils.io_helpers import load_config_file
    from data_designer.engine.model_provider import resolve_model_provider_registry

    try:
        if path is None:
            providers = list(get_builtin_model_providers())
        else:
            _readable_yaml(path)
            content = load_config_file(path)
            raw = content.get("providers") if isinstance(content, dict) else None
            if not isinstance(raw, list):
                raise ConfigError(f"{path}: Data Designer refuses it: expected a 'providers:' list")
            providers = [_modules().ModelProvider.model_validate(p) for p in raw]
        return resolve_model_provider_registry(providers)
    except ConfigError:
        raise
    except Exception as err:
        if isinstance(err, ValueError) or type(err).__module__.startswith("data_designer"):
            raise _refused(path or Path("(built-in providers)"), err) from err
        raise


# The endpoint of a provider that stands in for one Data Designer lacks: never sent to (the
# requests go to the --provider entry's endpoints), and it says so if it ever shows.
STAND_IN_ENDPOINT = "http://stand-in-for-check-config-provider.invalid/v1"


def load_config_file(path: Path, providers_path: Path | None = None, stand_in: bool = False) -> ConfigFile:
    """The model configs at ``path`` with their providers: ``providers_path``, else the
    providers file beside the configs in Data Designer's home, else its built-in ones. A
    model whose provider is not among them is refused with Data Designer's message, unless
    ``stand_in`` (``check-config --provider NAME``: the user said where every alias goes):
    then its registry gets a bare entry of that name (no extra_body, no headers) to build the
    requests with, and ``stand_ins`` names it."""
    models = load_models(path)
    if providers_path is None:
        beside = data_designer_home() / "model_providers.yaml"
        providers_path = beside if beside.is_file() else None
    registry = load_providers(providers_path)
    missing: dict[str, Any] = {}
    for model in models:
        try:
            registry.get_provider(model.provider)
        except Exception as err:
            if stand_in:
                bare = _modules().ModelProvider(name=model.provider, endpoint=STAND_IN_ENDPOINT)
                missing.setdefault(model.provider, bare)
                continue
            where = providers_path or Path("(built-in providers)")
            raise ConfigError(
                f"{path}: model config {model.alias!r}: Data Designer cannot resolve it against {where}: {err}"
            ) from err
    if missing:
        from data_designer.engine.model_provider import resolve_model_provider_registry

        registry = resolve_model_provider_registry([*registry.providers, *missing.values()])
    providers = {p.name: p for p in registry.providers}
    return ConfigFile(
        path=path,
        models=models,
        providers=providers,
        providers_path=providers_path,
        registry=registry,
        stand_ins=frozenset(missing),
    )


def generation_type(model: Any) -> str:
    """The model's generation type, its enum's value: chat-completion, embedding or image."""
    kind = model.inference_parameters.generation_type
    return str(getattr(kind, "value", kind))


def is_distribution(value: Any) -> bool:
    return value is not None and not isinstance(value, int | float)


def _kind(distribution: Any) -> str:
    kind = distribution.distribution_type
    return str(getattr(kind, "value", kind))


def extremes(value: Any) -> list[float]:
    """A value's ends: a number itself; a uniform interval's two ends (every value in between
    lies in a range iff both do); each value of a manual distribution."""
    if not is_distribution(value):
        return [value]
    if _kind(value) == "uniform":
        return [value.params.low, value.params.high]
    return list(value.params.values)


def sample(value: Any, rng: random.Random) -> float:
    """A draw like Data Designer's, from ``rng`` (its own draws come from numpy's global state)."""
    if not is_distribution(value):
        return float(value)
    if _kind(value) == "uniform":
        return rng.uniform(value.params.low, value.params.high)
    return float(rng.choices(value.params.values, weights=value.params.weights)[0])


def as_json(value: Any) -> Any:
    return value.model_dump(mode="json") if is_distribution(value) else value


def merged_extra_body(model: Any, providers: dict[str, Any]) -> dict[str, Any]:
    """Data Designer's merge (facade.py): the model's extra_body, then the provider's over it."""
    merged = dict(model.inference_parameters.extra_body or {})
    provider = providers.get(model.provider)
    if provider is not None and provider.extra_body:
        merged.update(provider.extra_body)
    return merged


def collisions(extra_body: dict[str, Any]) -> list[str]:
    return sorted(k for k in extra_body if k in STANDARD_FIELDS)
