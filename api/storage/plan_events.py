"""Data access for the audit log of plans: one appended row per month's plan answered.

A row says who planned (unit, role, key id), with which model, for which
month, how many clients, a hash of the request, and the plan by pseudonymous
client id. Clients' profiles and histories are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from api.storage.tables import plan_events


@dataclass(frozen=True, slots=True)
class PlanEvent:
    request_id: str
    created_at: datetime
    unit: str
    role: str
    key_id: str
    model_name: str
    model_version: str
    model_run_id: str | None
    month: str
    as_of: date
    clients: int
    input_hash: str
    output: dict[str, Any]
    id: int | None = None


_COLUMNS = tuple(name for name in PlanEvent.__slots__ if name != "id")


def insert_plan_event(connection: Connection, *, event: PlanEvent) -> int:
    values = {name: getattr(event, name) for name in _COLUMNS}
    result = connection.execute(insert(plan_events).values(**values).returning(plan_events.c.id))
    return int(result.scalar_one())


def list_plan_events(
    connection: Connection, *, unit: str | None = None, limit: int = 100
) -> list[PlanEvent]:
    """Plans in the order they were written; `unit` None means every unit."""
    query = select(plan_events).order_by(plan_events.c.id).limit(limit)
    if unit is not None:
        query = query.where(plan_events.c.unit == unit)
    return [PlanEvent(**row) for row in connection.execute(query).mappings()]


def purge_plan_events(connection: Connection, *, older_than: datetime) -> int:
    """Retention: delete plans written before `older_than`."""
    result = connection.execute(delete(plan_events).where(plan_events.c.created_at < older_than))
    return int(result.rowcount)
