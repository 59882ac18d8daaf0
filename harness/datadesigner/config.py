"""Data Designer's model-config classes, as pydantic models with Data Designer's own rules.

Accepted file shapes (YAML or JSON, as Data Designer writes them): a bare list of model
configs, or a mapping with ``model_configs:`` (and optionally ``model_providers:``, whose
``extra_body`` is merged over the model's). Each model config has ``alias``, ``model``,
``provider`` and ``inference_parameters`` with a ``generation_type``; a distribution is
``{distribution_type: uniform|manual, params: {...}}``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import ConfigError, read_text_file

# The request keys Data Designer sets itself; an extra_body key with one of these names
# silently overwrites it (extra_body is merged last).
STANDARD_FIELDS = frozenset(
    {"model", "messages", "temperature", "top_p", "max_tokens", "input", "encoding_format", "dimensions"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UniformParams(_Strict):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> UniformParams:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be less than high ({self.high})")
        return self


class UniformDistribution(_Strict):
    distribution_type: Literal["uniform"] = "uniform"
    params: UniformParams

    def extremes(self) -> list[float]:
        """The ends of the interval: every value in between lies in a range iff both do."""
        return [self.params.low, self.params.high]

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.params.low, self.params.high)


class ManualParams(_Strict):
    values: list[float] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> ManualParams:
        if self.weights is None:
            return self
        if len(self.weights) != len(self.values):
            raise ValueError(f"weights has {len(self.weights)} entries but values has {len(self.values)}")
        if any(w < 0 for w in self.weights):
            raise ValueError("weights must not be negative")
        total = sum(self.weights)
        if total <= 0:
            raise ValueError("weights must not all be zero")
        self.weights = [w / total for w in self.weights]  # Data Designer normalises them
        return self


class ManualDistribution(_Strict):
    distribution_type: Literal["manual"] = "manual"
    params: ManualParams

    def extremes(self) -> list[float]:
        return list(self.params.values)

    def sample(self, rng: random.Random) -> float:
        return rng.choices(self.params.values, weights=self.params.weights)[0]


Distribution = Annotated[UniformDistribution | ManualDistribution, Field(discriminator="distribution_type")]
Sampled = float | Distribution


def _in_range(value: Sampled, low: float, high: float, name: str) -> Sampled:
    points = [value] if isinstance(value, int | float) else value.extremes()
    bad = [p for p in points if not low <= p <= high]
    if bad:
        raise ValueError(f"{name} must be between {low} and {high}, got {bad[0]}")
    return value


class _Common(_Strict):
    max_parallel_requests: int = Field(default=4, ge=1)
    timeout: int | None = Field(default=None, ge=1)
    extra_body: dict[str, Any] | None = None


class ChatCompletionInferenceParams(_Common):
    generation_type: Literal["chat-completion"] = "chat-completion"
    temperature: Sampled | None = None
    top_p: Sampled | None = None
    max_tokens: int | None = Field(default=None, ge=1)

    @field_validator("temperature")
    @classmethod
    def _temperature(cls, value: Sampled | None) -> Sampled | None:
        return None if value is None else _in_range(value, 0.0, 2.0, "temperature")

    @field_validator("top_p")
    @classmethod
    def _top_p(cls, value: Sampled | None) -> Sampled | None:
        return None if value is None else _in_range(value, 0.0, 1.0, "top_p")


class EmbeddingInferenceParams(_Common):
    generation_type: Literal["embedding"] = "embedding"
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None


class ImageInferenceParams(_Common):
    generation_type: Literal["image"] = "image"


InferenceParams = Annotated[
    ChatCompletionInferenceParams | EmbeddingInferenceParams | ImageInferenceParams,
    Field(discriminator="generation_type"),
]


class ModelConfig(_Strict):
    alias: str
    model: str
    provider: str | None = None
    inference_parameters: InferenceParams = Field(default_factory=ChatCompletionInferenceParams)

    @model_validator(mode="before")
    @classmethod
    def _default_generation_type(cls, data: Any) -> Any:
        params = data.get("inference_parameters") if isinstance(data, dict) else None
        if isinstance(params, dict) and "generation_type" not in params:
            data = {**data, "inference_parameters": {**params, "generation_type": "chat-completion"}}
        return data


class ModelProvider(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    extra_body: dict[str, Any] | None = None


class ConfigFile(BaseModel):
    path: Path
    models: list[ModelConfig]
    providers: dict[str, ModelProvider]


# pydantic names union branches in error locations; a person knows the field, not the branch.
_BRANCHES = frozenset({"chat-completion", "embedding", "image", "uniform", "manual", "float", "int"})


def _one_line(path: Path, alias: str, err: ValidationError) -> str:
    # A union reports one error per branch; the rule Data Designer states (a value error) or
    # else the deepest location is the one that explains the problem.
    errors = err.errors()
    first = next((e for e in errors if e["type"] == "value_error"), max(errors, key=lambda e: len(e["loc"])))
    loc = [str(p) for p in first["loc"] if str(p) not in _BRANCHES and "[" not in str(p)]
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{path}: model config {alias!r}: {'.'.join(loc)}: {message}"


def _yaml_problem(err: yaml.YAMLError) -> str:
    """PyYAML's message on one line, with the line and column it points at (1-based)."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).split("\n")[0]
    where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def load_config_file(path: Path) -> ConfigFile:
    text = read_text_file(path)
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(err)}") from err
    raw_models = data.get("model_configs") if isinstance(data, dict) else data
    if not isinstance(raw_models, list) or not raw_models:
        raise ConfigError(f"{path}: expected a list of model configs or a 'model_configs:' list")
    models = []
    for index, raw in enumerate(raw_models):
        alias = raw.get("alias", f"#{index}") if isinstance(raw, dict) else f"#{index}"
        try:
            models.append(ModelConfig.model_validate(raw))
        except ValidationError as err:
            raise ConfigError(_one_line(path, str(alias), err)) from err
    providers: dict[str, ModelProvider] = {}
    for raw in (data.get("model_providers") or []) if isinstance(data, dict) else []:
        try:
            provider = ModelProvider.model_validate(raw)
        except ValidationError as err:
            raise ConfigError(f"{path}: model_providers: {err.errors()[0]['msg']}") from err
        providers[provider.name] = provider
    return ConfigFile(path=path, models=models, providers=providers)


def merged_extra_body(model: ModelConfig, providers: dict[str, ModelProvider]) -> dict[str, Any]:
    """Data Designer's merge: the provider's extra_body over the model's."""
    merged = dict(model.inference_parameters.extra_body or {})
    provider = providers.get(model.provider or "")
    if provider is not None and provider.extra_body:
        merged.update(provider.extra_body)
    return merged


def collisions(extra_body: dict[str, Any]) -> list[str]:
    return sorted(k for k in extra_body if k in STANDARD_FIELDS)
