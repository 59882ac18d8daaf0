"""Response schemas, at two levels reported apart: every 2xx body and every error body of the
run, validated against what clients need to read it (``response-schema``: the fields the
OpenAI SDK and its users read, ``responses/<name>.schema.json``) and against the letter of
OpenAI's documented schema (``response-letter``: every required field, even where nullable,
``responses/<name>.letter.schema.json``). A body that clients read but that breaks the letter
is its own finding, not a pass. Both run after every other unit, over all their exchanges."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.checks.findings import Finding
from harness.checks.judges import Judgement
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Verdict
from harness.schema import response_schema
from harness.transport import Exchange


@dataclass
class _Group:
    total: int = 0
    bad: int = 0
    example: Exchange | None = None  # the first body, or the first that breaks the schema
    reason: str = ""


@dataclass
class SchemaTally:
    """Validates each exchange as it completes (O(1) memory however long the run)."""

    level: str = ""  # "" (what clients read) or ".letter" (the documented schema)
    groups: dict[str, _Group] = field(default_factory=dict)

    def add(self, exchange: Exchange) -> None:
        if exchange.json is None and not exchange.chunks:
            return
        if exchange.url.rstrip("/").endswith("/embeddings"):
            schema = "embedding-list" if exchange.ok else "error-envelope"
        elif exchange.ok:
            schema = "chat-completion-chunk" if exchange.chunks else "chat-completion"
        elif exchange.client_error or exchange.server_error:
            schema = "error-envelope"
        else:
            return
        group = self.groups.setdefault(schema, _Group())
        group.total += 1
        validator = response_schema(schema + self.level)
        bodies = exchange.chunks if schema == "chat-completion-chunk" else [exchange.json]
        error = next((e for body in bodies for e in validator.iter_errors(body)), None)
        if error is not None:
            group.bad += 1
            if group.bad == 1:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                group.example, group.reason = exchange, f"{where}: {error.message}"[:300]
        elif group.example is None:
            group.example = exchange


async def validate_all(tally: SchemaTally, check_name: str) -> list[Finding]:
    what = "the letter of OpenAI's documented" if tally.level else "the"
    findings = []
    for schema, group in sorted(tally.groups.items()):
        example = [group.example] if group.example is not None else []
        if not group.bad:
            judgement = Judgement(Verdict.ACCEPTED, f"all {group.total} bodies match {what} {schema} schema")
        else:
            judgement = Judgement(
                Verdict.SERVER_ERROR,
                f"{group.bad} of {group.total} bodies break {what} {schema} schema, e.g. {group.reason}",
            )
        findings.append(Finding(judgement, example, check=check_name, param=f"({schema})", label="all"))
    return findings


def _units(ctx: CheckContext, check_name: str, level: str) -> list[Unit]:
    tally = SchemaTally(level)
    ctx.send.observe(tally.add)
    return [Unit(check_name, "(responses)", lambda: validate_all(tally, check_name))]


@check("response-schema", "every response body has what OpenAI's SDK and its users read", after_others=True)
def response_schemas(ctx: CheckContext) -> list[Unit]:
    return _units(ctx, "response-schema", "")


@check("response-letter", "every response body has every field OpenAI documents as required", after_others=True)
def response_letter(ctx: CheckContext) -> list[Unit]:
    return _units(ctx, "response-letter", ".letter")
