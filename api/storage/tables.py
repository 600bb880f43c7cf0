"""The database tables (SQLAlchemy Core). API schemas live elsewhere.

- `api_keys`: one row per key; only a SHA-256 hash of the secret is stored.
- `audit_events`: one row per recommendation answered. Append-only.
- `plan_events`: one row per month's plan answered (POST /v1/plans): who,
  the model, the month, a hash of the request and the plan by pseudonymous
  client id; never a client's profile or history. Append-only.
- `decisions`: one row per caseworker decision, referring to an audit event.
  Append-only: a correction is a new row (`corrects` names the earlier one).
  `(unit, idempotency_key)` is unique; `body_hash` tells a replay from a
  reuse of the key for another body.
- `console_sessions`: sign-ins to the console (a hash of the cookie), ended on
  sign-out, idle timeout or a revoked key; deleted once expired.
- `control_events`: the stop switch and reload requests (pause, resume,
  reload), append-only; the latest pause or resume is the current state.

Append-only is enforced by the database too: the migrations add triggers
that refuse UPDATE on `audit_events`, `decisions`, `control_events` and
`plan_events`.
Deletes happen only through retention (`api.storage.retention`).

Schema changes go through Alembic migrations in `api/migrations/`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

ROLES: Final = ("caseworker", "planner", "evaluator", "data_scientist", "admin")
CONTROL_ACTIONS: Final = ("pause", "resume", "reload")
APPEND_ONLY_TABLES: Final = ("audit_events", "decisions", "control_events", "plan_events")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT identity on PostgreSQL; INTEGER PRIMARY KEY (the rowid) on SQLite.
Serial = BigInteger().with_variant(Integer(), "sqlite")
Document = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Timestamp = UTCDateTime()


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("unit", String(64), nullable=False),
    Column("demo", Boolean, nullable=False, server_default=false()),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
    CheckConstraint(_one_of("role", ROLES), name="role"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("request_id", String(36), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
    Column("client_id", String(100), nullable=False),
    Column("unit", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(50), nullable=False),
    Column("model_run_id", String(64), nullable=True),
    Column("as_of", Date, nullable=False),
    Column("language", String(2), nullable=False),
    Column("k", Integer, nullable=False),
    Column("input_hash", String(64), nullable=False),
    Column("features", Document, nullable=False),
    Column("output", Document, nullable=False),
    Index("ix_audit_events_created_at", "created_at"),
    Index("ix_audit_events_unit_created_at", "unit", "created_at"),
    Index("ix_audit_events_model_version", "model_version"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("decision_id", String(36), nullable=False, unique=True),
    Column(
        "request_id",
        String(36),
        ForeignKey("audit_events.request_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created_at", Timestamp, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("chosen_service", String(64), nullable=False),
    Column("recommended_service", String(64), nullable=False),
    Column("chosen_rank", Integer, nullable=True),
    Column("reason_code", String(32), nullable=True),
    Column("comment", Text, nullable=True),
    Column(
        "corrects",
        String(36),
        ForeignKey("decisions.decision_id", ondelete="CASCADE"),
        nullable=True,
    ),
    UniqueConstraint("unit", "idempotency_key", name="uq_decisions_unit_idempotency_key"),
    Index("ix_decisions_request_id", "request_id"),
    Index("ix_decisions_unit_id", "unit", "id"),
    # the month's starts per service (api.capacity)
    Index("ix_decisions_created_at", "created_at"),
    Index("ix_decisions_corrects", "corrects"),
)

plan_events = Table(
    "plan_events",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("request_id", String(36), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(50), nullable=False),
    Column("model_run_id", String(64), nullable=True),
    Column("month", String(7), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("clients", Integer, nullable=False),
    Column("input_hash", String(64), nullable=False),
    Column("output", Document, nullable=False),
    Index("ix_plan_events_created_at", "created_at"),
    Index("ix_plan_events_unit_created_at", "unit", "created_at"),
)

control_events = Table(
    "control_events",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("action", String(16), nullable=False),
    Column("reason", String(500), nullable=True),
    Column("key_id", String(32), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    CheckConstraint(_one_of("action", CONTROL_ACTIONS), name="action"),
)

# Console sign-ins: a row per session, found by a hash of its cookie (the
# cookie's value is never stored). Rows are updated (last use, end), so this
# table is not append-only; ended and expired rows are deleted.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("key_id", String(32), ForeignKey("api_keys.key_id", ondelete="CASCADE"), nullable=False),
    Column("role", String(20), nullable=False),
    Column("unit", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("last_seen_at", Timestamp, nullable=False),
    Column("ended_at", Timestamp, nullable=True),
    Index("ix_console_sessions_last_seen_at", "last_seen_at"),
)
