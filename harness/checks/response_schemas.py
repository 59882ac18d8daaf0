"""Response schemas: every 2xx body and every error body of the run, validated against the
schemas in ``schemas/responses/``. Runs after every other unit, over all their exchanges."""

from __future__ import annotations

from harness.checks.probing import record
from harness.checks.registry import CheckContext, Unit, check
from harness.results import Record, Verdict
from harness.schema import response_schema
from harness.transport import Exchange


def _violations(exchanges: list[Exchange], schema: str) -> tuple[int, list[tuple[Exchange, str]]]:
    validator = response_schema(schema)
    bad = []
    for exchange in exchanges:
        bodies = exchange.chunks if schema == "chat-completion-chunk" else [exchange.json]
        for body in bodies:
            error = next(iter(validator.iter_errors(body)), None)
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                bad.append((exchange, f"{where}: {error.message}"))
                break
    return len(exchanges), bad


async def validate_all(ctx: CheckContext) -> list[Record]:
    seen = [e for e in ctx.send.exchanges if e.json is not None or e.chunks]
    embeddings = [e for e in seen if e.url.rstrip("/").endswith("/embeddings")]
    chats = [e for e in seen if e not in embeddings]
    groups = {
        "chat-completion": [e for e in chats if e.ok and not e.chunks],
        "chat-completion-chunk": [e for e in chats if e.ok and e.chunks],
        "embedding-list": [e for e in embeddings if e.ok],
        "error-envelope": [e for e in seen if e.client_error or e.server_error],
    }
    records = []
    for schema, exchanges in groups.items():
        if not exchanges:
            continue
        total, bad = _violations(exchanges, schema)
        if not bad:
            records.append(
                record(
                    ctx,
                    "response-schema",
                    f"({schema})",
                    Verdict.ACCEPTED,
                    f"all {total} bodies match the {schema} schema",
                    exchanges[:1],
                    "all",
                )
            )
            continue
        example, reason = bad[0]
        verdict = Verdict.SERVER_ERROR
        records.append(
            record(
                ctx,
                "response-schema",
                f"({schema})",
                verdict,
                f"{len(bad)} of {total} bodies break the {schema} schema, e.g. {reason}",
                [example],
                "all",
            )
        )
    return records


@check("response-schema", "every response body matches the OpenAI response schemas", after_others=True)
def response_schemas(ctx: CheckContext) -> list[Unit]:
    return [Unit("response-schema", "(responses)", lambda: validate_all(ctx))]
