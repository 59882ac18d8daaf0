"""The static check of a Data Designer config against a provider's documented surface:
every value the config can send (both ends of a uniform interval, every manual value, every
extra_body key after the provider-level merge) is in range and in the right place."""

from __future__ import annotations

from functools import partial
from typing import Any

from jsonschema import Draft202012Validator

from harness.checks.findings import Finding
from harness.checks.judges import Judgement
from harness.datadesigner.config import (
    DROPPED_KEYS,
    ConfigFile,
    as_json,
    collisions,
    extremes,
    generation_type,
    merged_extra_body,
)
from harness.engine import build_record
from harness.results import Record, Verdict
from harness.schema import Surface
from harness.schema.model import Parameter

CHECK = "config-static"


def _judge(param: Parameter, values: list[Any]) -> tuple[Verdict, str]:
    validator = Draft202012Validator(param.schema)
    bad = [(v, next(iter(validator.iter_errors(v)))) for v in values if not validator.is_valid(v)]
    if bad:
        value, error = bad[0]
        return Verdict.REJECTED, f"{param.name}={value!r} is documented as invalid: {error.message}"
    shown = ", ".join(repr(v) for v in values)
    return Verdict.ACCEPTED, f"{param.name}: {shown} within the documented surface"


def _record(
    provider: str,
    surface: Surface,
    alias: str,
    key: str,
    verdict: Verdict,
    detail: str,
    value: Any = None,
    suffix: str = "",
) -> Record:
    finding = Finding(
        Judgement(verdict, f"[{alias}] {detail}"),
        value=value,
        check=CHECK,
        param=key,
        label=alias,
        case_id=f"{CHECK}.{alias}.{key}{suffix}",
    )
    return build_record(finding, provider=provider, surface=surface)


def _extra_key(
    provider: str, surface: Surface, alias: str, key: str, value: Any, params: dict[str, Parameter]
) -> Record:
    param = params.get(key)
    if param is None:
        fate = {
            "reject": "the provider rejects unknown keys: requests will fail",
            "ignore": "the provider ignores unknown keys: it will be silently dropped",
            "forward": "the provider forwards unknown keys: the effect depends on the backend",
            "unspecified": "the provider does not say what it does with unknown keys",
        }[surface.unknown_keys]
        verdict = Verdict.REJECTED if surface.unknown_keys == "reject" else Verdict.INCONCLUSIVE
        return _record(provider, surface, alias, key, verdict, f"extra_body.{key} is not documented; {fate}", value)
    verdict, detail = _judge(param, [value])
    if verdict is Verdict.ACCEPTED and param.placement == "standard":
        detail += " (a standard key: it could be set without extra_body)"
    return _record(provider, surface, alias, key, verdict, f"extra_body: {detail}", value)


def static_records(config: ConfigFile, provider: str, surface: Surface) -> list[Record]:
    records: list[Record] = []
    for model in config.models:
        records.extend(_model_records(config, model, provider, surface))
    return records


def _model_records(config: ConfigFile, model: Any, provider: str, surface: Surface) -> list[Record]:
    params = model.inference_parameters
    alias = model.alias
    note = partial(_record, provider, surface, alias)  # every record of this model config
    out: list[Record] = []
    extra = {k: v for k, v in merged_extra_body(model, config.providers).items() if k not in DROPPED_KEYS}
    for key in collisions(extra):
        out.append(
            note(
                key,
                Verdict.INCONCLUSIVE,
                f"extra_body.{key} silently overwrites the request's own {key!r}: Data Designer merges extra_body last",
                extra[key],
                ".collision",
            )
        )
    if generation_type(model) == "embedding":
        documented = surface.embeddings
        if not documented:
            out.append(
                note(
                    "(endpoint)",
                    Verdict.REJECTED,
                    f"the {surface.name} surface documents no embeddings endpoint",
                )
            )
            return out
        for key, value in (("encoding_format", params.encoding_format), ("dimensions", params.dimensions)):
            if value is None:
                continue
            if key not in documented:
                out.append(
                    note(
                        key,
                        Verdict.INCONCLUSIVE,
                        f"{key} is not documented for {surface.name}'s embeddings",
                        value,
                    )
                )
            else:
                verdict, detail = _judge(documented[key], [value])
                out.append(note(key, verdict, detail, value))
        for key, value in extra.items():
            out.append(_extra_key(provider, surface, alias, key, value, documented))
        return out
    if generation_type(model) == "chat-completion":
        for key in ("temperature", "top_p", "max_tokens"):
            value = getattr(params, key)
            if value is None or key in extra:
                continue
            param = surface.parameters.get(key)
            if param is None:
                out.append(
                    note(
                        key,
                        Verdict.INCONCLUSIVE,
                        f"{key} is not documented by {surface.name}",
                        None,
                    )
                )
                continue
            points = [value] if key == "max_tokens" else extremes(value)
            verdict, detail = _judge(param, points)
            out.append(
                note(
                    key,
                    verdict,
                    detail,
                    as_json(value),
                )
            )
    for key, value in extra.items():
        out.append(_extra_key(provider, surface, alias, key, value, surface.parameters))
    return out
