"""What a run measured, in the forms clients read: per column, OpenRouter's
``supported_parameters`` list and a LiteLLM proxy deployment (``model_list`` entry). Pure:
records in, plain data out; the command writes it (``harness.commands.export``).

One reading of the evidence serves both. A parameter of a column is

- left out when a failing verdict concerns a documented use of it: a value documented as valid
  refused (OVER_STRICT), no effect where one must be (IGNORED, of an effect or of its documented
  default), a 5xx, or a gateway that drops, clamps, translates, adds, breaks or refuses it.
  A failing verdict on a value documented as *invalid* (LENIENT, or a 5xx instead of a 4xx)
  breaks no documented use: it is noted, and the parameter is judged on the rest. A left-out
  parameter is also to be dropped from requests (LiteLLM's ``additional_drop_params``) where
  sending it is of no use: it is ignored, or no documented use of it worked. A failing default
  alone is not a reason to drop it (omitting it is what fails);
- supported when, besides, a record shows it HONOURED (its effect observed, against a control),
  or, where no effect is observable (every record judges acceptance alone: ranges, structure,
  a gateway forwarding it), a documented use ACCEPTED. A parameter the harness has an effect
  probe for (``probed``) whose run did not include it (``--checks range``) is undecided, not
  "no effect observable". A parameter whose effect was seen (HONOURED by a check other than
  ``default``, which is about omitting it) is never dropped: some use of it works (``n``,
  honoured, though ignored when streamed);
- otherwise left out as undecided (an effect probe that was INCONCLUSIVE, NOT_RECORDED ...):
  support is claimed only from evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from harness.reporting.litellm_params import UNSUPPORTED
from harness.results import FAILING, Record, Verdict

# The request itself, not a parameter a client chooses to send.
REQUEST_FIELDS = frozenset({"model", "messages", "input"})
# Verdicts that say a documented use of the parameter does not work. A gateway's refusal is
# conforming as a gateway (it tells the client) but the parameter is still not usable through it.
BREAKS = FAILING | {Verdict.REFUSED}
# A documented use that worked, and verdicts that say the parameter, sent, has no effect.
WORKED = frozenset({Verdict.HONOURED, Verdict.ACCEPTED, Verdict.PASSED})
LOST = frozenset({Verdict.IGNORED, Verdict.DROPPED})
# Verdicts of a documented use that judge acceptance alone (no effect was observable).
ACCEPTANCE = frozenset({Verdict.ACCEPTED, Verdict.PASSED, Verdict.REJECTED})
# The check of a parameter's documented default: its failure is about omitting the parameter,
# so dropping the parameter from requests would not mend it.
DEFAULT_CHECK = "default"
OMITTED = "omitted"  # the label of the matrix case that leaves the parameter out
# The checks that observe a parameter's effect (rather than its acceptance alone).
EFFECT_CHECKS = frozenset({"effect", "passthrough", "equivalence", "determinism"})
# The router's own finding (replies from another upstream than pinned): about the route, not
# about the parameter (`provider`) it is filed under.
ROUTE_CHECK = "route"


def _by_check(records: list[Record]) -> str:
    """``IGNORED by default, OVER_STRICT by range``: each verdict with the checks that gave it."""
    checks: dict[str, list[str]] = {}
    for record in records:
        names = checks.setdefault(record.verdict.value, [])
        if record.check not in names:
            names.append(record.check)
    return ", ".join(f"{verdict} by {', '.join(names)}" for verdict, names in checks.items())


@dataclass(frozen=True)
class ParameterEvidence:
    """What one column's records show about one parameter."""

    param: str
    supported: bool
    why: str  # the evidence, e.g. "HONOURED by effect, default" or "IGNORED by tools"
    drop: bool = False  # sending it is of no use: a gateway in front should remove it
    notes: str = ""  # failing verdicts on values documented as invalid, which do not decide

    @classmethod
    def of(cls, param: str, records: list[Record], probed: bool = False) -> ParameterEvidence:
        """``probed``: the harness has an effect probe for the parameter (``EFFECT_CHECKS``)."""
        # The range check's "omitted" case sends no value: it shows nothing of the parameter.
        sent = [r for r in records if r.label != OMITTED]
        documented_use = [r for r in sent if r.expect != "reject"]
        invalid = [r for r in sent if r.expect == "reject" and r.verdict in BREAKS]
        notes = _by_check(invalid) + " on values documented as invalid" if invalid else ""
        breaking = [r for r in documented_use if r.verdict in BREAKS]
        worked = any(r.verdict in WORKED for r in documented_use)
        honoured = [r for r in documented_use if r.verdict is Verdict.HONOURED]
        if breaking:
            sending = [r for r in breaking if r.check != DEFAULT_CHECK]
            # Dropped where sending it is of no use: its effect is lost, or no documented use
            # of it worked, and no use of it was seen to work. A parameter some valid values of
            # which are refused is left out of the supported list but kept: the values that
            # work still do.
            # (A default HONOURED is about omitting the parameter: it shows no use of sending it.)
            used = any(r.check != DEFAULT_CHECK for r in honoured)
            drop = not used and (any(r.verdict in LOST for r in sending) or (bool(sending) and not worked))
            return cls(param, False, _by_check(breaking), drop, notes)
        if honoured:
            return cls(param, True, _by_check(honoured), notes=notes)
        accepted = [r for r in documented_use if r.verdict in (Verdict.ACCEPTED, Verdict.PASSED)]
        if accepted and all(r.verdict in ACCEPTANCE for r in documented_use):
            if probed and not any(r.check in EFFECT_CHECKS for r in records):
                why = _by_check(accepted) + "; its effect probes were not in the run"
                return cls(param, False, "undecided: " + why, notes=notes)
            return cls(param, True, _by_check(accepted) + " (no effect observable)", notes=notes)
        undecided = [r for r in documented_use if r.verdict not in ACCEPTANCE] or sent or records
        return cls(param, False, "undecided: " + _by_check(undecided), notes=notes)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"supported": self.supported, "why": self.why}
        if self.drop:
            data["drop"] = True
        if self.notes:
            data["notes"] = self.notes
        return data


@dataclass
class ColumnEvidence:
    """One column of a run: where it was measured and what each parameter showed."""

    column: str
    surface: str
    model: str  # the model name its requests sent
    api_base: str  # where its chat requests went ("" when no record kept a request)
    params: dict[str, ParameterEvidence] = field(default_factory=dict)

    @property
    def supported(self) -> list[str]:
        return sorted(name for name, p in self.params.items() if p.supported)

    @property
    def dropped(self) -> list[str]:
        return sorted(name for name, p in self.params.items() if p.drop)


def _where(records: list[Record]) -> tuple[str, str]:
    """The model and the API root of the column's chat requests, as sent."""
    for record in records:
        for exchange in record.evidence.get("exchanges") or []:
            url = str(exchange.get("url") or "")
            request = exchange.get("request")
            if url.endswith("/chat/completions") and isinstance(request, dict) and request.get("model"):
                api_base = url.removesuffix("/chat/completions")
                # A server the harness started is recorded on port 0 (it takes a free port each
                # run): no address a client could reach, so none is exported.
                if urlsplit(api_base).port == 0:
                    api_base = ""
                return str(request["model"]), api_base
    return "", ""


def measured_columns(
    records: list[Record], parameters: dict[str, set[str]], probed: dict[str, set[str]] | None = None
) -> list[ColumnEvidence]:
    """Every column that ran (a column with only a NOT_RUN record did not), each parameter of
    its surface (``parameters``: surface -> the names it documents) judged on its records;
    ``probed``: surface -> the parameters the harness has an effect probe for there."""
    grouped: dict[str, list[Record]] = {}
    for record in records:
        grouped.setdefault(record.provider, []).append(record)
    columns = []
    for column, mine in sorted(grouped.items()):
        if all(r.verdict is Verdict.NOT_RUN for r in mine):
            continue
        surface = mine[0].surface
        documented = parameters.get(surface, set()) - REQUEST_FIELDS
        per_param: dict[str, list[Record]] = {}
        for record in mine:
            if record.param in documented and record.check != ROUTE_CHECK:
                per_param.setdefault(record.param, []).append(record)
        model, api_base = _where(mine)
        evidence = ColumnEvidence(column, surface, model, api_base)
        effects = (probed or {}).get(surface, set())
        evidence.params = {
            name: ParameterEvidence.of(name, group, name in effects) for name, group in sorted(per_param.items())
        }
        columns.append(evidence)
    return columns


def supported_parameters(columns: list[ColumnEvidence], run: dict[str, Any]) -> dict[str, Any]:
    """OpenRouter's ``/models`` shape (``data``: one object per model with its ``id`` and
    ``supported_parameters``), one object per column, each with the evidence behind its list;
    ``run`` names where it came from."""
    return {
        "run": run,
        "data": [
            {
                "id": column.column,
                "name": f"{column.column} (held to {column.surface})",
                "model": column.model,
                "surface": column.surface,
                "supported_parameters": column.supported,
                "evidence": {name: p.to_json() for name, p in column.params.items()},
            }
            for column in columns
        ],
    }


def litellm_deployment(
    column: ColumnEvidence, provider_prefix: str, key_env: str, pin: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A LiteLLM proxy ``model_list`` entry for the column: its model through LiteLLM's
    ``provider_prefix``; ``allowed_openai_params`` the supported parameters LiteLLM would refuse
    or drop for that prefix; ``additional_drop_params`` those whose sending fails; a route
    column's pin (``pin``: OpenRouter's ``provider`` object) in ``extra_body``, so every request
    goes to the upstream the evidence came from. The key is named (``os.environ/NAME``,
    LiteLLM's reference to an environment variable), never written."""
    params: dict[str, Any] = {"model": f"{provider_prefix}/{column.model}"}
    if column.api_base:
        params["api_base"] = column.api_base
    if key_env:
        params["api_key"] = f"os.environ/{key_env}"
    if pin:
        params["extra_body"] = {"provider": pin}
    allowed = [name for name in column.supported if name in UNSUPPORTED[provider_prefix]]
    if allowed:
        params["allowed_openai_params"] = allowed
    if column.dropped:
        params["additional_drop_params"] = column.dropped
    return {"model_name": column.column, "litellm_params": params}


def litellm_why(column: ColumnEvidence, provider_prefix: str) -> list[str]:
    """One comment line per parameter the entry allows or drops, with the evidence."""
    lines = []
    if not column.api_base:
        lines.append(f"{column.column}: no api_base (the harness started its server on a port of its own): set yours")
    for name in column.supported:
        if name in UNSUPPORTED[provider_prefix]:
            lines.append(f"{column.column}: allow {name} ({column.params[name].why})")
    for name in column.dropped:
        lines.append(f"{column.column}: drop {name} ({column.params[name].why})")
    return lines
