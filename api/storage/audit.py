"""Data access for the audit log: one appended row per recommendation answered.

`AuditWriter` appends events with group commit: a request thread that finds
no write under way commits every event waiting at that moment in one
transaction (one fsync), the others wait for their event's commit. Nothing
is acknowledged before its row is committed, so durability is the same as
one transaction per event; under concurrency there are fewer transactions,
fewer waits for SQLite's write lock and fewer fsyncs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from api.storage.engine import HeldWriter
from api.storage.logs import page_query, purge_before
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


# Built once, values bound at execution: a statement built per event with
# `.values(...)` cost more than the insert itself.
_INSERT = insert(audit_events).returning(audit_events.c.id)
_COLUMNS = tuple(name for name in AuditEvent.__slots__ if name != "id")


def insert_audit_event(connection: Connection, *, event: AuditEvent) -> int:
    values = {name: getattr(event, name) for name in _COLUMNS}
    result = connection.execute(_INSERT, values)
    return int(result.scalar_one())


class _Pending:
    __slots__ = ("done", "error", "event")

    def __init__(self, event: AuditEvent) -> None:
        self.event = event
        self.done = False
        self.error: BaseException | None = None


class AuditWriter:
    """Append audit events to `engine`, committing concurrent ones together.

    `write` returns only after the event's transaction committed and raises
    what the database raised for it. When a transaction of several events
    fails, each is tried again alone, so one bad event fails only its own
    request.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = HeldWriter(engine)
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._busy = False

    def close(self) -> None:
        """Close the connection kept for writing; a later write opens another."""
        with self._cond:
            while self._busy:
                self._cond.wait()
            self._writer.close()

    def write(self, event: AuditEvent) -> None:
        item = _Pending(event)
        with self._cond:
            self._pending.append(item)
            while self._busy and not item.done:
                self._cond.wait()
            if not item.done:
                # Lead: commit everything waiting now, this event included.
                self._busy = True
                batch, self._pending = self._pending, []
            else:
                batch = []
        if batch:
            try:
                self._commit(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if item.error is not None:
            raise item.error

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            with self._writer.transaction() as connection:
                for item in batch:
                    insert_audit_event(connection, event=item.event)
        except BaseException as exc:
            if len(batch) == 1:
                batch[0].error = exc
                batch[0].done = True
                return
            for item in batch:
                self._commit([item])
            return
        for item in batch:
            item.done = True


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
    query = page_query(
        audit_events,
        since=since,
        until=until,
        after_id=after_id,
        limit=limit,
        equal={"unit": unit, "model_version": model_version},
    )
    return [AuditEvent(**row) for row in connection.execute(query).mappings()]


def purge_audit_events(connection: Connection, *, older_than: datetime) -> int:
    """Retention: delete events (and, by cascade, their decisions) written before `older_than`."""
    return purge_before(connection, audit_events, older_than=older_than)


def recent_audit_events(connection: Connection, *, unit: str, limit: int) -> list[AuditEvent]:
    """The unit's latest events, newest first."""
    query = (
        select(audit_events)
        .where(audit_events.c.unit == unit)
        .order_by(audit_events.c.id.desc())
        .limit(limit)
    )
    return [AuditEvent(**row) for row in connection.execute(query).mappings()]
