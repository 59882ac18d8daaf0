"""Read ``providers.toml`` into validated ``Provider`` objects."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness import paths
from harness.errors import ConfigError, read_text_file
from harness.redaction import remember_secret

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# A column's name: ``provider[+route][:model][@surface]`` (see ``column_name``). The three
# separators are refused in provider names, ``+``, ``:`` and ``@`` in routes, so the entry a
# column belongs to is the name up to the first of them, whatever its model is called.
ROUTE_SEP, MODEL_SEP, SURFACE_SEP = "+", ":", "@"
SEPARATORS = ROUTE_SEP + MODEL_SEP + SURFACE_SEP


@dataclass(frozen=True)
class Endpoints:
    """Where a provider answers: its base URL, and /embeddings' when served elsewhere."""

    base_url: str
    embeddings_base_url: str | None = None
    # Headers every request there must carry, set at launch (a gateway told where its
    # upstream listens); they go over the entry's own headers.
    headers: dict[str, str] = field(default_factory=dict)


class LaunchSpec(BaseModel):
    """How to start a local server (see ``harness.local.launcher``)."""

    model_config = ConfigDict(extra="forbid")
    server: Literal["llama-server", "llama-cpp-python", "vllm", "transformers", "litellm", "portkey", "smg"]
    embeddings: bool = False
    # For a gateway (litellm, portkey, smg): the local server started behind it.
    upstream_server: Literal["llama-server", "llama-cpp-python", "vllm"] | None = None

    @property
    def makes_key(self) -> bool:
        """The server is started with a key of its own making that every request must carry
        (LiteLLM's proxy will not start without a master key)."""
        return self.server == "litellm"

    @model_validator(mode="after")
    def _gateway_has_upstream(self) -> LaunchSpec:
        gateway = self.server in ("litellm", "portkey", "smg")
        if gateway and self.upstream_server is None:
            raise ValueError(f"the gateway {self.server!r} needs upstream_server (the local server behind it)")
        if not gateway and self.upstream_server is not None:
            raise ValueError(f"upstream_server is for gateways; {self.server!r} is not one")
        if gateway and self.embeddings:
            raise ValueError("embeddings are not served through a gateway here")
        return self


class PriceSpec(BaseModel):
    """``price = { input = ..., output = ... }``: US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    input: float = Field(ge=0)
    output: float = Field(ge=0)


class Provider(BaseModel):
    """One ``[providers.NAME]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    base_url: str
    # The model: ``model`` names one; ``models`` several, a column each. Both may be set when
    # ``model`` is one of ``models``: its columns keep the entry's plain names (an entry that
    # grows a second model moves no cassette or baseline of its first).
    model: str = ""
    models: list[str] = Field(default_factory=list)
    # A router's upstreams to pin (OpenRouter's provider slugs: "deepinfra", "together" ...):
    # a column each, every request carrying provider = {order = [route], allow_fallbacks = false}.
    routes: list[str] = Field(default_factory=list)
    api_key_env: str = ""
    schema_name: str = Field(alias="schema")
    # Other surfaces to hold it to as well, each a column of its own in the conformance report.
    also_held_to: list[str] = Field(default_factory=list)
    max_parallel_requests: int = Field(default=4, ge=1, le=256)
    timeout: float = Field(default=60.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)
    # Where /embeddings is served when it is not base_url (a separate embedding deployment).
    embeddings_base_url: str | None = None
    launch: LaunchSpec | None = None
    # How sampling probes prove an effect: "auto" measures whether the seed reproduces;
    # "seeded" or "seed-free" forces one way (see harness.checks.judges.profile).
    probe_mode: Literal["auto", "seeded", "seed-free"] = "auto"
    send_seed: bool = True  # false: no request carries `seed` (for providers that refuse it)
    # At most this many structural cases (one request each) per surface it is held to.
    structure_budget: int = Field(default=150, ge=0, le=2000)
    # A gateway: the provider it forwards to. The `gateway` check sends the same probe through
    # it and to this provider directly (and, where the harness launches this provider, reads
    # what the gateway forwarded through a recording tap in between).
    upstream: str | None = None
    # Another provider this one is graded against (harness.reporting.reference), and the policy:
    # "parity" fails every difference, "self-hosted" only broken and ignored (the default).
    reference: str | None = None
    reference_policy: Literal["parity", "self-hosted"] | None = None
    # The context window a request gets, in tokens, where known: the context check sends a
    # prompt past it (on a hosted model of 128k tokens that costs; state it where it is small).
    context_tokens: int | None = Field(default=None, ge=16)
    # The request parameters the served model's chat template reads (reasoning_effort,
    # chat_template_kwargs, thinking): where one leaves the prompt unchanged, the template check
    # can then say the server dropped it, not that the template ignores it.
    template_reads: list[str] = Field(default_factory=list)
    # The sampling values the served model's generation_config.json sets (temperature, top_p ...):
    # the default check tries each as a candidate beside the documented and engine defaults and
    # says which one the server applies. For a local vLLM entry the launcher serves a copy of the
    # generated model with exactly these values in its generation_config.json.
    model_defaults: dict[str, float] = Field(default_factory=dict)
    # What it costs (`harness plan` gives the most money a run can spend at this price), and
    # the most a run may spend on it: past either, units are not started (NOT_RUN, "budget
    # reached"). The command line's --budget-requests / --budget-usd go over these.
    price: PriceSpec | None = None
    budget_requests: int | None = Field(default=None, ge=1)
    budget_usd: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _models_named(self) -> Provider:
        if not self.model and not self.models:
            raise ValueError('needs a model: set model = "..." (or models = [...] for several)')
        if self.model and self.models and self.model not in self.models:
            raise ValueError(f"model {self.model!r} is not one of models; set one of the two, or list it in models")
        for kind, names in (("models", self.models), ("routes", self.routes)):
            if len(set(names)) != len(names) or not all(name.strip() for name in names):
                raise ValueError(f"{kind}: each name once, none empty")
        bad = next((r for r in self.routes if any(sep in r for sep in SEPARATORS)), None)
        if bad is not None:
            raise ValueError(f"route {bad!r}: cannot contain {' '.join(SEPARATORS)} (they separate a column's parts)")
        several = len(self.models) > 1 or bool(self.routes)
        if several and self.upstream is not None:
            # The gateway check sends the same probe through and direct: to one upstream model.
            raise ValueError("a gateway (upstream = ...) serves one model on one route: no models or routes")
        return self

    @model_validator(mode="after")
    def _seeded_needs_seed(self) -> Provider:
        if self.probe_mode == "seeded" and not self.send_seed:
            raise ValueError("probe_mode = 'seeded' needs a seed: it cannot go with send_seed = false")
        return self

    @model_validator(mode="after")
    def _usd_needs_price(self) -> Provider:
        if self.budget_usd is not None and self.price is None:
            raise ValueError(
                "budget_usd needs a price: set price = { input = ..., output = ... } (USD per million tokens)"
            )
        return self

    @model_validator(mode="after")
    def _model_defaults_served(self) -> Provider:
        # The launcher writes the values into the model only where it serves one in Hugging Face
        # format to vLLM; elsewhere they would state defaults no launched model has.
        if self.model_defaults and self.launch is not None and self.launch.server != "vllm":
            raise ValueError(f"model_defaults are served by the launcher for vllm only, not {self.launch.server!r}")
        return self

    @property
    def is_local(self) -> bool:
        return self.launch is not None

    @property
    def served_models(self) -> list[str]:
        """Every model of the entry, a column each (``model`` first when both are set)."""
        return list(dict.fromkeys([self.model, *self.models] if self.model else self.models))

    @property
    def plain_model(self) -> str | None:
        """The model whose columns carry no model in their name: ``model``, or the one model
        of ``models``; None when ``models`` lists several without ``model``."""
        if self.model:
            return self.model
        return self.models[0] if len(self.models) == 1 else None

    @property
    def default_model(self) -> str:
        """The model where no column is named: the plain one, else the first listed."""
        return self.plain_model or self.served_models[0]

    def api_key(self) -> str | None:
        """The key from the environment; ``None`` when the variable is unset or empty."""
        if not self.api_key_env:
            return None
        key: str | None = os.environ.get(self.api_key_env) or None
        if key:
            remember_secret(key)
        return key

    def missing_key(self) -> str | None:
        """The variable to set, when this provider needs a key that is not there."""
        if self.api_key_env and not self.api_key():
            return self.api_key_env
        variables: list[str] = _ENV_REF.findall(self.base_url)
        return next((var for var in variables if not os.environ.get(var)), None)

    def resolved_base_url(self) -> str:
        return substitute_env(self.base_url).rstrip("/")

    def resolved_embeddings_base_url(self) -> str | None:
        if self.embeddings_base_url is None:
            return None
        return substitute_env(self.embeddings_base_url).rstrip("/")

    def resolved_headers(self) -> dict[str, str]:
        return {k: substitute_env(v) for k, v in self.headers.items()}


def substitute_env(text: str) -> str:
    """``text`` with each ${VAR} replaced by its value, each value remembered as a secret:
    whatever the harness takes from the environment into a request never reaches disk."""

    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1), "")
        remember_secret(found)
        return found

    return _ENV_REF.sub(value, text)


def load_providers(path: Path | None = None) -> dict[str, Provider]:
    path = path or paths.providers_file()
    if not path.is_file():
        raise ConfigError(f"{path}: not found; create it (see README, 'Adding a provider')")
    try:
        raw = tomllib.loads(read_text_file(path))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: malformed TOML: {err}") from err
    tables = raw.get("providers")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no [providers.NAME] tables")
    providers: dict[str, Provider] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: providers.{name}: must be a table")
        if any(sep in name for sep in SEPARATORS):
            raise ConfigError(
                f"{path}: providers.{name}: a name cannot contain {' '.join(SEPARATORS)} "
                "(they separate a column's parts: provider+route:model@surface)"
            )
        if "name" in table:
            raise ConfigError(f"{path}: providers.{name}.name: not a field: the provider's name is its table's")
        try:
            providers[name] = Provider(name=name, **table)
        except ValidationError as err:
            first = err.errors()[0]
            where = "".join(f".{p}" for p in first["loc"])
            raise ConfigError(f"{path}: providers.{name}{where}: {first['msg']}") from err
    for name, provider in providers.items():
        _check_upstream(path, name, provider, providers)
    return providers


def _check_upstream(path: Path, name: str, provider: Provider, providers: dict[str, Provider]) -> None:
    """An upstream names another provider, which is no gateway itself (one layer is judged at a time)."""
    upstream = provider.upstream
    if upstream is None:
        return
    where = f"{path}: providers.{name}.upstream"
    if upstream == name:
        raise ConfigError(f"{where}: a provider cannot be its own upstream")
    if upstream not in providers:
        raise ConfigError(f"{where}: unknown provider {upstream!r}; known providers: {', '.join(sorted(providers))}")
    if providers[upstream].upstream is not None:
        raise ConfigError(f"{where}: {upstream!r} names an upstream itself; a gateway's upstream must be a server")
    behind = provider.launch.upstream_server if provider.launch is not None else None
    served = providers[upstream].launch
    if behind is not None and (served is None or served.server != behind):
        # A launched gateway's direct probes go to its upstream's server: the two must be one.
        raise ConfigError(
            f"{where}: {upstream!r} is not the {behind} its launch table puts behind it (launch.upstream_server)"
        )


def column_name(provider: str, *, model: str = "", route: str = "", surface: str = "") -> str:
    """A column's name: ``provider``, then ``+route`` for a pinned upstream, ``:model`` for a
    model of several, ``@surface`` for another surface than the entry's own (each part only
    where it is set). ``openrouter+deepinfra:meta-llama/llama-3.1-8b-instruct@openai``."""
    name = provider
    if route:
        name += ROUTE_SEP + route
    if model:
        name += MODEL_SEP + model
    if surface:
        name += SURFACE_SEP + surface
    return name


def entry_of(column: str) -> str:
    """The providers.toml entry a column belongs to: its name up to the first separator."""
    return re.split(f"[{re.escape(SEPARATORS)}]", column, maxsplit=1)[0]


def file_stem(column: str) -> str:
    """``column`` as one file or folder name: a model's ``/`` and ``:`` (and anything else a
    file system may refuse) percent-encoded, so no two columns share a file. A name made only
    of letters, digits and ``-_.~@+`` (every column before models) stays as it is."""
    return quote(column, safe="@+")


def resolve_provider(name: str, providers: dict[str, Provider]) -> Provider:
    if name not in providers:
        known = ", ".join(sorted(providers))
        raise ConfigError(f"unknown provider {name!r}; known providers: {known} (edit providers.toml to add one)")
    return providers[name]
