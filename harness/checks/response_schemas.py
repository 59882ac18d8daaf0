"""Response schemas, at two levels reported apart: every 2xx body and every error body of the
run, read by the reference client (``response-schema``: the official openai SDK reads the
recorded bytes, ``judges.client_level``; ``responses/<name>.schema.json`` documents that level
and still judges embeddings lists) and held to the letter of OpenAI's documented schema
(``response-letter``: each kind of departure its own finding, with a count, an example and
whether the SDK tolerates it, ``judges.letter``). A body that clients read but that breaks the
letter is its own finding, not a pass. An error inside a 200 is neither: its own group,
failed. Both run after every other unit, over all their exchanges."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.checks.cost import NOTHING
from harness.checks.findings import Finding
from harness.checks.judged import JudgedBodies
from harness.checks.judges import Judgement
from harness.checks.judges.client_level import read_chat
from harness.checks.judges.letter import KINDS, REFERENCE_DOES, deviations, fails, schema_of
from harness.checks.judges.outcome import in_band_error
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Verdict
from harness.schema import response_schema
from harness.transport import Exchange

ERROR_IN_200 = "error-in-200"


@dataclass
class _Group:
    total: int = 0
    bad: int = 0
    example: Exchange | None = None  # the first body, or the first that breaks the schema
    reason: str = ""


@dataclass
class SchemaTally:
    """Judges each exchange as it completes (O(1) memory however long the run)."""

    level: str = ""  # "" (what clients read) or ".letter" (the documented schema)
    judged: JudgedBodies | None = None  # a replay's judgements kept between processes
    groups: dict[str, _Group] = field(default_factory=dict)  # by schema
    kinds: dict[tuple[str, str], _Group] = field(default_factory=dict)  # the letter: by schema and kind

    def add(self, exchange: Exchange) -> None:
        schema = schema_of(exchange)
        if schema is None:
            return
        error = in_band_error(exchange)
        if error is not None:
            _count(self.groups.setdefault(ERROR_IN_200, _Group()), exchange, error.describe())
            return
        group = self.groups.setdefault(schema, _Group())
        if self.level:
            group.total += 1
            departures = self.judged.deviations(exchange, schema) if self.judged else deviations(exchange, schema)
            for deviation in departures:
                _count(self.kinds.setdefault((schema, deviation.kind), _Group()), exchange, deviation.where)
            if group.example is None:
                group.example = exchange
        elif schema != "embedding-list":
            read = self.judged.client_read(exchange) if self.judged else read_chat(exchange)
            _count(group, exchange, "" if read.usable else read.reason)
        else:
            validator = response_schema(schema)
            found = next(iter(validator.iter_errors(exchange.json)), None)
            where = "/".join(str(p) for p in found.absolute_path) or "(root)" if found is not None else ""
            _count(group, exchange, f"{where}: {found.message}" if found is not None else "")


def _count(group: _Group, exchange: Exchange, reason: str) -> None:
    group.total += 1
    if reason:
        group.bad += 1
        if group.bad == 1:
            group.example, group.reason = exchange, reason[:300]
    elif group.example is None:
        group.example = exchange


def _client_level(schema: str, group: _Group) -> Judgement:
    if schema == ERROR_IN_200:
        return Judgement(
            Verdict.SERVER_ERROR,
            f"{group.bad} 2xx replies carry an error (the SDK raises APIError on a streamed one; no client "
            f"can use any), e.g. {group.reason}",
        )
    if schema == "embedding-list":
        if not group.bad:
            return Judgement(Verdict.ACCEPTED, f"all {group.total} bodies match the {schema} schema")
        return Judgement(
            Verdict.SERVER_ERROR, f"{group.bad} of {group.total} bodies break the {schema} schema, e.g. {group.reason}"
        )
    if not group.bad:
        return Judgement(Verdict.ACCEPTED, f"the OpenAI SDK reads all {group.total} {schema} bodies")
    return Judgement(
        Verdict.SERVER_ERROR,
        f"{group.bad} of {group.total} {schema} bodies break what the OpenAI SDK's users read, e.g. {group.reason}",
    )


def letter_judgement(schema: str, kind_name: str, group: _Group, total: int) -> Judgement:
    """One kind of departure from the letter: a failure unless the reference does it too or it is
    vendor fields (listed, for information)."""
    kind = KINDS[kind_name]
    tolerated = "the OpenAI SDK tolerates it" if kind.tolerated else "the OpenAI SDK's users cannot read it"
    said = f"{group.bad} of {total} {schema} bodies: {kind.what}; {tolerated}; e.g. {group.reason}"
    if not kind.failing:
        return Judgement(Verdict.ACCEPTED, f"informational: {said}")
    if kind_name in REFERENCE_DOES:
        return Judgement(
            Verdict.ACCEPTED,
            f"the reference does this too (api.openai.com: {REFERENCE_DOES[kind_name]}): {said}",
        )
    return Judgement(Verdict.SERVER_ERROR, said)


async def validate_all(tally: SchemaTally, check_name: str) -> list[Finding]:
    if tally.judged is not None:
        tally.judged.save()
    findings = []
    for schema, group in sorted(tally.groups.items()):
        example = [group.example] if group.example is not None else []
        kinds = sorted((kind, g) for (s, kind), g in tally.kinds.items() if s == schema)
        if not tally.level or schema == ERROR_IN_200:
            judgement = _client_level(schema, group)
        else:
            for kind, found in kinds:
                shown = [found.example] if found.example is not None else []
                judged = letter_judgement(schema, kind, found, group.total)
                findings.append(Finding(judged, shown, check=check_name, param=f"({schema}: {kind})", label="all"))
            if any(fails(kind) for kind, _ in kinds):
                continue  # each failing kind is its own finding, above
            reported = f" (reported apart: {', '.join(kind for kind, _ in kinds)})" if kinds else ""
            judgement = Judgement(
                Verdict.ACCEPTED,
                f"no failing departure from the letter of OpenAI's documented {schema} schema in "
                f"{group.total} bodies{reported}",
            )
        findings.append(Finding(judgement, example, check=check_name, param=f"({schema})", label="all"))
    return findings


def _units(ctx: CheckContext, check_name: str, level: str) -> list[Unit]:
    tally = SchemaTally(level, ctx.judged_bodies)
    ctx.send.observe(tally.add)
    # It reads what the others sent: it sends nothing itself.
    return [Unit(check_name, "(responses)", lambda: validate_all(tally, check_name), lambda _profile: NOTHING)]


@check("response-schema", "every response body is read by OpenAI's SDK as its users need", reads_all=True)
def response_schemas(ctx: CheckContext) -> list[Unit]:
    return _units(ctx, "response-schema", "")


@check("response-letter", "every response body holds to OpenAI's documented schema, by kind", reads_all=True)
def response_letter(ctx: CheckContext) -> list[Unit]:
    return _units(ctx, "response-letter", ".letter")
