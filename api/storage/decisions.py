"""Data access for caseworkers' decisions: appended, never updated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, exists, func, insert, select
from sqlalchemy.orm import aliased

from api.storage.tables import audit_events, decisions


@dataclass(frozen=True, slots=True)
class DecisionRow:
    decision_id: str
    request_id: str
    created_at: datetime
    unit: str
    role: str
    key_id: str
    idempotency_key: str
    body_hash: str
    chosen_service: str
    recommended_service: str
    chosen_rank: int | None
    reason_code: str | None
    comment: str | None
    corrects: str | None
    id: int | None = None


def insert_decision(connection: Connection, *, decision: DecisionRow) -> int:
    values = {name: getattr(decision, name) for name in DecisionRow.__slots__ if name != "id"}
    result = connection.execute(insert(decisions).values(**values).returning(decisions.c.id))
    return int(result.scalar_one())


def find_by_idempotency_key(
    connection: Connection, *, unit: str, idempotency_key: str
) -> DecisionRow | None:
    row = (
        connection.execute(
            select(decisions).where(
                decisions.c.unit == unit, decisions.c.idempotency_key == idempotency_key
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else DecisionRow(**row)


def get_decision(connection: Connection, *, decision_id: str) -> DecisionRow | None:
    row = (
        connection.execute(select(decisions).where(decisions.c.decision_id == decision_id))
        .mappings()
        .first()
    )
    return None if row is None else DecisionRow(**row)


def list_decisions(
    connection: Connection,
    *,
    unit: str | None = None,
    request_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[DecisionRow]:
    """Decisions in the order they were written; `unit` None means every unit."""
    query = select(decisions).order_by(decisions.c.id).limit(limit)
    if unit is not None:
        query = query.where(decisions.c.unit == unit)
    if request_id is not None:
        query = query.where(decisions.c.request_id == request_id)
    if since is not None:
        query = query.where(decisions.c.created_at >= since)
    if until is not None:
        query = query.where(decisions.c.created_at < until)
    if after_id is not None:
        query = query.where(decisions.c.id > after_id)
    return [DecisionRow(**row) for row in connection.execute(query).mappings()]


def decisions_for_requests(
    connection: Connection, *, request_ids: Sequence[str]
) -> dict[str, list[DecisionRow]]:
    """Every decision on the given recommendations, grouped by request id, oldest first."""
    out: dict[str, list[DecisionRow]] = {rid: [] for rid in request_ids}
    if not request_ids:
        return out
    query = (
        select(decisions)
        .where(decisions.c.request_id.in_(list(request_ids)))
        .order_by(decisions.c.id)
    )
    for row in connection.execute(query).mappings():
        out[row["request_id"]].append(DecisionRow(**row))
    return out


def recent_decisions(
    connection: Connection, *, unit: str | None, limit: int
) -> list[tuple[DecisionRow, str]]:
    """The latest decisions of `unit` (None: every unit), newest first, with their client ids."""
    query = (
        select(decisions, audit_events.c.client_id)
        .join(audit_events, audit_events.c.request_id == decisions.c.request_id)
        .order_by(decisions.c.id.desc())
        .limit(limit)
    )
    if unit is not None:
        query = query.where(decisions.c.unit == unit)
    out = []
    for row in connection.execute(query).mappings():
        fields = {name: row[decisions.c[name]] for name in DecisionRow.__slots__}
        out.append((DecisionRow(**fields), str(row[audit_events.c.client_id])))
    return out


def count_decisions(connection: Connection, *, request_id: str) -> int:
    """How many decisions (corrections included) a recommendation has."""
    query = select(func.count()).select_from(decisions).where(decisions.c.request_id == request_id)
    return int(connection.execute(query).scalar_one())


def starts_since(connection: Connection, *, since: datetime) -> dict[str, int]:
    """Per chosen service, the decisions made since `since` that no later decision corrects."""
    corrected = aliased(decisions)
    query = (
        select(decisions.c.chosen_service, func.count())
        .where(decisions.c.created_at >= since)
        .where(~exists().where(corrected.c.corrects == decisions.c.decision_id))
        .group_by(decisions.c.chosen_service)
    )
    return {str(service): int(count) for service, count in connection.execute(query)}
