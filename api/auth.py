"""API keys: their form, their hash, and who a request comes from.

A key is ``plk_<key id>_<secret>``: the key id (public, printed by `polku
keys create` and used to revoke) finds the row, and the SHA-256 of the whole
key is compared with the stored hash in constant time. The secret has 256
random bits, so a plain (unsalted, fast) hash is enough: nobody can guess
keys from a leaked table. Only the hash is stored; the key is shown once.

Every key carries a role and a unit (office). Which roles may call a route
is declared on the route (`api.access`): a caseworker asks for
recommendations and records decisions, a planner plans a month's seats
(POST /v1/plans), an evaluator reads the audit logs and the reports, a data
scientist reads the model, an administrator does all but recommend and
decide, and runs the service.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import Connection, Engine

from api.storage.engine import read_transaction, write_transaction
from api.storage.keys import KeyRow, find_key, insert_key, list_keys, revoke_key

KEY_PREFIX: Final = "plk"
KEY_PATTERN: Final = re.compile(r"plk_(k[0-9a-f]{12})_([A-Za-z0-9_-]{43})")
UNIT_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_DUMMY_HASH: Final = hashlib.sha256(b"no such key").hexdigest()


class Role(StrEnum):
    caseworker = "caseworker"
    planner = "planner"
    evaluator = "evaluator"
    data_scientist = "data_scientist"
    admin = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request comes from; everything server-owned about it comes from here."""

    key_id: str
    role: Role
    unit: str


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    key: str
    role: Role
    unit: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(engine: Engine, *, role: Role | str, unit: str, demo: bool = False) -> NewKey:
    """Create and store a key; the returned `key` is the only time it exists in the clear."""
    role = Role(role)
    if not UNIT_PATTERN.fullmatch(unit):
        raise ValueError(
            "unit must be 1-64 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. espoo-leppavaara)"
        )
    key_id = "k" + secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    assert KEY_PATTERN.fullmatch(key)
    with write_transaction(engine) as connection:
        insert_key(
            connection,
            key_id=key_id,
            key_hash=hash_key(key),
            role=role.value,
            unit=unit,
            demo=demo,
            created_at=datetime.now(UTC),
        )
    return NewKey(key_id=key_id, key=key, role=role, unit=unit)


def revoke(engine: Engine, *, key_id: str) -> bool:
    with write_transaction(engine) as connection:
        return revoke_key(connection, key_id=key_id, revoked_at=datetime.now(UTC))


def keys(engine: Engine) -> list[KeyRow]:
    with read_transaction(engine) as connection:
        return list_keys(connection)


def authenticate(engine: Engine, key: str, *, allow_demo: bool) -> Caller | None:
    """The caller holding `key`, or None for a malformed, unknown, revoked or refused key."""
    if KEY_PATTERN.fullmatch(key) is None:
        return None
    with read_transaction(engine) as connection:
        return authenticate_on(connection, key, allow_demo=allow_demo)


def authenticate_on(connection: Connection, key: str, *, allow_demo: bool) -> Caller | None:
    """`authenticate` inside a transaction the caller already holds."""
    match = KEY_PATTERN.fullmatch(key)
    if match is None:
        return None
    row = find_key(connection, key_id=match.group(1))
    stored = row.key_hash if row is not None else _DUMMY_HASH
    if not hmac.compare_digest(stored, hash_key(key)) or row is None:
        return None
    if not row.active or (row.demo and not allow_demo):
        return None
    return Caller(key_id=row.key_id, role=Role(row.role), unit=row.unit)
