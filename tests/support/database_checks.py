"""What the database holds after the load: decisions by key, and its integrity checks."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from api.storage.engine import make_engine


@dataclass(frozen=True)
class StoredDecision:
    decision_id: str
    unit: str
    idempotency_key: str
    request_id: str
    chosen_service: str
    audit_request_id: str | None  # None: the audit event it refers to is missing


def stored_decisions(engine: Engine) -> list[StoredDecision]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT d.decision_id, d.unit, d.idempotency_key, d.request_id, "
                "d.chosen_service, a.request_id AS audit_request_id "
                "FROM decisions d LEFT JOIN audit_events a ON a.request_id = d.request_id"
            )
        ).all()
    return [StoredDecision(*row) for row in rows]


def audit_request_ids(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return {row[0] for row in connection.execute(text("SELECT request_id FROM audit_events"))}


def integrity_problems(url: str) -> list[str]:
    """Problems the database finds in itself; empty when sound.

    SQLite: ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check`` on a
    fresh connection (which also recovers the write-ahead log).
    PostgreSQL: constraints not validated, decisions without their audit
    event or corrected decision, duplicate idempotency keys per unit, and,
    when the amcheck extension can be used, ``bt_index_check`` (with
    ``heapallindexed``) of every index of the API's tables.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database or "")
        try:
            problems = [
                str(row[0])
                for row in connection.execute("PRAGMA integrity_check")
                if row[0] != "ok"
            ]
            problems += [
                f"foreign key: {row}" for row in connection.execute("PRAGMA foreign_key_check")
            ]
        finally:
            connection.close()
        return problems
    engine = make_engine(url, pool_size=1)
    try:
        return _postgres_problems(engine)
    finally:
        engine.dispose()


_POSTGRES_QUERIES = {
    "constraint not validated": "SELECT conname FROM pg_constraint c "
    "JOIN pg_namespace n ON n.oid = c.connamespace "
    "WHERE n.nspname = current_schema() AND NOT c.convalidated",
    "decision without its audit event": "SELECT d.decision_id FROM decisions d "
    "LEFT JOIN audit_events a ON a.request_id = d.request_id WHERE a.id IS NULL",
    "correction of a missing decision": "SELECT d.decision_id FROM decisions d "
    "LEFT JOIN decisions e ON e.decision_id = d.corrects "
    "WHERE d.corrects IS NOT NULL AND e.id IS NULL",
    "idempotency key stored twice": "SELECT unit, idempotency_key FROM decisions "
    "GROUP BY unit, idempotency_key HAVING count(*) > 1",
    "request id audited twice": "SELECT request_id FROM audit_events "
    "GROUP BY request_id HAVING count(*) > 1",
}


def _postgres_problems(engine: Engine) -> list[str]:
    problems: list[str] = []
    with engine.connect() as connection:
        for what, query in _POSTGRES_QUERIES.items():
            problems += [f"{what}: {row}" for row in connection.execute(text(query))]
        schema = connection.execute(
            text(
                "SELECT n.nspname FROM pg_extension e "
                "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'"
            )
        ).scalar()
        if schema is None:
            return problems
        indexes = connection.execute(
            text(
                "SELECT i.indexrelid::regclass::text FROM pg_index i "
                "JOIN pg_class t ON t.oid = i.indrelid "
                "JOIN pg_namespace n ON n.oid = t.relnamespace "
                "WHERE n.nspname = current_schema() "
                "AND t.relname IN ('audit_events', 'decisions', 'api_keys', 'control_events')"
            )
        ).scalars()
        for index in indexes:
            try:
                connection.execute(
                    text(f'SELECT "{schema}".bt_index_check(CAST(:index AS regclass), true)'),
                    {"index": index},
                )
            except DBAPIError as exc:
                problems.append(f"index {index}: {type(exc.orig).__name__}")
                connection.rollback()
    return problems


def enable_amcheck(engine: Engine) -> bool:
    """Install amcheck when the role may (a superuser on a server that ships it)."""
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA public"))
    except DBAPIError:
        return False
    return True
