"""Data access for console sessions: a row per sign-in, found by a hash of the cookie."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, or_, select, update

from api.storage.tables import console_sessions


@dataclass(frozen=True, slots=True)
class SessionRow:
    session_hash: str
    key_id: str
    role: str
    unit: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None


def insert_session(connection: Connection, *, session: SessionRow) -> None:
    values = {name: getattr(session, name) for name in SessionRow.__slots__}
    connection.execute(insert(console_sessions).values(**values))


def find_session(connection: Connection, *, session_hash: str) -> SessionRow | None:
    row = (
        connection.execute(
            select(console_sessions).where(console_sessions.c.session_hash == session_hash)
        )
        .mappings()
        .first()
    )
    return None if row is None else SessionRow(**row)


def touch_session(connection: Connection, *, session_hash: str, at: datetime) -> None:
    connection.execute(
        update(console_sessions)
        .where(console_sessions.c.session_hash == session_hash)
        .values(last_seen_at=at)
    )


def end_session(connection: Connection, *, session_hash: str, at: datetime) -> None:
    connection.execute(
        update(console_sessions)
        .where(
            console_sessions.c.session_hash == session_hash, console_sessions.c.ended_at.is_(None)
        )
        .values(ended_at=at)
    )


def purge_sessions(
    connection: Connection, *, idle_before: datetime, started_before: datetime
) -> int:
    """Delete sessions ended, idle since before `idle_before` or started before `started_before`."""
    result = connection.execute(
        delete(console_sessions).where(
            or_(
                console_sessions.c.ended_at.is_not(None),
                console_sessions.c.last_seen_at < idle_before,
                console_sessions.c.created_at < started_before,
            )
        )
    )
    return int(result.rowcount)
