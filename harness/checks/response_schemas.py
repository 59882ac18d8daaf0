"""Response schemas: every 2xx body and every error body of the run, validated against the
schemas in ``schemas/responses/``. Runs after every other unit, over all their exchanges."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.checks.judges import Judgement
from harness.checks.probing import record
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record, Verdict
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
        validator = response_schema(schema)
        bodies = exchange.chunks if schema == "chat-completion-chunk" else [exchange.json]
        error = next((e for body in bodies for e in validator.iter_errors(body)), None)
        if error is not None:
            group.bad += 1
            if group.bad == 1:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                group.example, group.reason = exchange, f"{where}: {error.message}"[:300]
        elif group.example is None:
            group.example = exchange


async def validate_all(ctx: CheckContext, tally: SchemaTally) -> list[Record]:
    records = []
    for schema, group in sorted(tally.groups.items()):
        example = [group.example] if group.example is not None else []
        if not group.bad:
            records.append(
                record(
                    ctx,
                    "response-schema",
                    f"({schema})",
                    Judgement(Verdict.ACCEPTED, f"all {group.total} bodies match the {schema} schema"),
                    example,
                    "all",
                )
            )
        else:
            records.append(
                record(
                    ctx,
                    "response-schema",
                    f"({schema})",
                    Judgement(
                        Verdict.SERVER_ERROR,
                        f"{group.bad} of {group.total} bodies break the {schema} schema, e.g. {group.reason}",
                    ),
                    example,
                    "all",
                )
            )
    return records


@check("response-schema", "every response body matches the OpenAI response schemas", after_others=True)
def response_schemas(ctx: CheckContext) -> list[Unit]:
    tally = SchemaTally()
    ctx.send.observe(tally.add)
    return [Unit("response-schema", "(responses)", lambda: validate_all(ctx, tally))]
