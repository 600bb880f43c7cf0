"""What the appended logs (recommendations' audit events, plans) share: paging and retention.

Both logs are read oldest first, by the id they were written with, and
filtered by the time they were written and by equal columns; retention
deletes what was written before a moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, Select, Table, delete, select


def page_query(
    table: Table,
    *,
    since: datetime | None,
    until: datetime | None,
    after_id: int | None,
    limit: int,
    equal: Mapping[str, object | None],
) -> Select:
    """Rows written in [since, until) after row `after_id`, oldest first; None filters nothing."""
    query = select(table).order_by(table.c.id).limit(limit)
    if since is not None:
        query = query.where(table.c.created_at >= since)
    if until is not None:
        query = query.where(table.c.created_at < until)
    for column, value in equal.items():
        if value is not None:
            query = query.where(table.c[column] == value)
    if after_id is not None:
        query = query.where(table.c.id > after_id)
    return query


def purge_before(connection: Connection, table: Table, *, older_than: datetime) -> int:
    """Delete the rows written before `older_than`; how many went."""
    result = connection.execute(delete(table).where(table.c.created_at < older_than))
    return int(result.rowcount)
