"""Data access for API keys: rows hold a hash of the key, never the key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from api.storage.tables import api_keys


@dataclass(frozen=True, slots=True)
class KeyRow:
    key_id: str
    key_hash: str
    role: str
    unit: str
    demo: bool
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def insert_key(
    connection: Connection,
    *,
    key_id: str,
    key_hash: str,
    role: str,
    unit: str,
    demo: bool,
    created_at: datetime,
) -> None:
    connection.execute(
        insert(api_keys).values(
            key_id=key_id, key_hash=key_hash, role=role, unit=unit, demo=demo, created_at=created_at
        )
    )


# Built once (it runs on every authenticated request): see api.storage.control.
_FIND_KEY = select(api_keys).where(api_keys.c.key_id == bindparam("key_id"))


def find_key(connection: Connection, *, key_id: str) -> KeyRow | None:
    row = connection.execute(_FIND_KEY, {"key_id": key_id}).mappings().first()
    return None if row is None else KeyRow(**row)


def list_keys(connection: Connection) -> list[KeyRow]:
    rows = connection.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id))
    return [KeyRow(**row) for row in rows.mappings()]


def revoke_key(connection: Connection, *, key_id: str, revoked_at: datetime) -> bool:
    """Revoke an active key; False when there is no such active key."""
    result = connection.execute(
        update(api_keys)
        .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=revoked_at)
    )
    return result.rowcount == 1
