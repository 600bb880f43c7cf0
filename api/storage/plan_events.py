"""Data access for the audit log of plans: one appended row per month's plan answered.

A row says who planned (unit, role, key id), with which model, for which
month, how many clients, a hash of the request, and the plan by pseudonymous
client id. Clients' profiles and histories are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from api.storage.logs import page_query, purge_before
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


def get_plan_event(connection: Connection, *, request_id: str) -> PlanEvent | None:
    row = (
        connection.execute(select(plan_events).where(plan_events.c.request_id == request_id))
        .mappings()
        .first()
    )
    return None if row is None else PlanEvent(**row)


def list_plan_events(
    connection: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    unit: str | None = None,
    month: str | None = None,
    model_version: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[PlanEvent]:
    """Plans in the order they were written, from after `after_id` on; None filters nothing."""
    query = page_query(
        plan_events,
        since=since,
        until=until,
        after_id=after_id,
        limit=limit,
        equal={"unit": unit, "month": month, "model_version": model_version},
    )
    return [PlanEvent(**row) for row in connection.execute(query).mappings()]


def purge_plan_events(connection: Connection, *, older_than: datetime) -> int:
    """Retention: delete plans written before `older_than`."""
    return purge_before(connection, plan_events, older_than=older_than)
