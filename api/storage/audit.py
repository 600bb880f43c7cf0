"""Data access for the audit log: one appended row per recommendation answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from api.storage.tables import audit_events


@dataclass(frozen=True, slots=True)
class AuditEvent:
    request_id: str
    created_at: datetime
    client_id: str
    unit: str
    role: str
    key_id: str
    model_name: str
    model_version: str
    model_run_id: str | None
    as_of: date
    language: str
    k: int
    input_hash: str
    features: dict[str, Any]
    output: dict[str, Any]
    id: int | None = None


def insert_audit_event(connection: Connection, *, event: AuditEvent) -> int:
    values = {name: getattr(event, name) for name in AuditEvent.__slots__ if name != "id"}
    result = connection.execute(insert(audit_events).values(**values).returning(audit_events.c.id))
    return int(result.scalar_one())


def get_audit_event(connection: Connection, *, request_id: str) -> AuditEvent | None:
    row = (
        connection.execute(select(audit_events).where(audit_events.c.request_id == request_id))
        .mappings()
        .first()
    )
    return None if row is None else AuditEvent(**row)


def list_audit_events(
    connection: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    unit: str | None = None,
    model_version: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Events in the order they were written, from after `after_id` on."""
    query = select(audit_events).order_by(audit_events.c.id).limit(limit)
    if since is not None:
        query = query.where(audit_events.c.created_at >= since)
    if until is not None:
        query = query.where(audit_events.c.created_at < until)
    if unit is not None:
        query = query.where(audit_events.c.unit == unit)
    if model_version is not None:
        query = query.where(audit_events.c.model_version == model_version)
    if after_id is not None:
        query = query.where(audit_events.c.id > after_id)
    return [AuditEvent(**row) for row in connection.execute(query).mappings()]


def purge_audit_events(connection: Connection, *, older_than: datetime) -> int:
    """Retention: delete events (and, by cascade, their decisions) written before `older_than`."""
    result = connection.execute(delete(audit_events).where(audit_events.c.created_at < older_than))
    return int(result.rowcount)
