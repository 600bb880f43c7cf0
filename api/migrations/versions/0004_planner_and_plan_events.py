"""The planner role, and the audit log of plans (`plan_events`, append-only).

SQLite changes a CHECK constraint only by copying the table. Dropping the
old `api_keys` would delete, by cascade, the console sessions that refer to
it, so they are kept aside for the copy and put back.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from api.storage.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_ROLES = ("caseworker", "evaluator", "data_scientist", "admin")
NEW_ROLES = ("caseworker", "planner", "evaluator", "data_scientist", "admin")
Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Document = sa.JSON().with_variant(JSONB(), "postgresql")


def _role_check(roles: tuple[str, ...]) -> str:
    return f"role IN ({', '.join(repr(r) for r in roles)})"


def _api_keys(roles: tuple[str, ...]) -> sa.Table:
    """`api_keys` as revision 0001 made it, with `roles` allowed."""
    return sa.Table(
        "api_keys",
        sa.MetaData(),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("demo", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(_role_check(roles), name="ck_api_keys_role"),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )


def _allow_roles(roles: tuple[str, ...]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_api_keys_role"), "api_keys", type_="check")
        op.create_check_constraint(op.f("ck_api_keys_role"), "api_keys", _role_check(roles))
        return
    op.execute("CREATE TEMPORARY TABLE kept_console_sessions AS SELECT * FROM console_sessions")
    with op.batch_alter_table("api_keys", recreate="always", copy_from=_api_keys(roles)):
        pass
    op.execute("DELETE FROM console_sessions")
    op.execute("INSERT INTO console_sessions SELECT * FROM kept_console_sessions")
    op.execute("DROP TABLE kept_console_sessions")


def upgrade() -> None:
    _allow_roles(NEW_ROLES)
    op.create_table(
        "plan_events",
        sa.Column("id", Serial, autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(50), nullable=False),
        sa.Column("model_run_id", sa.String(64), nullable=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("output", Document, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_events")),
        sa.UniqueConstraint("request_id", name=op.f("uq_plan_events_request_id")),
    )
    op.create_index("ix_plan_events_created_at", "plan_events", ["created_at"])
    op.create_index("ix_plan_events_unit_created_at", "plan_events", ["unit", "created_at"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":  # polku_refuse_update() is revision 0001's
        op.execute(
            "CREATE TRIGGER plan_events_append_only BEFORE UPDATE ON plan_events "
            "FOR EACH ROW EXECUTE FUNCTION polku_refuse_update()"
        )
    elif dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER plan_events_append_only BEFORE UPDATE ON plan_events BEGIN "
            "SELECT RAISE(ABORT, 'plan_events is append-only: write a new row instead'); END"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS plan_events_append_only ON plan_events")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS plan_events_append_only")
    op.drop_index("ix_plan_events_unit_created_at", table_name="plan_events")
    op.drop_index("ix_plan_events_created_at", table_name="plan_events")
    op.drop_table("plan_events")
    # Planner keys cannot be kept under the old rule: they are deleted with their sessions.
    op.execute("DELETE FROM api_keys WHERE role = 'planner'")
    _allow_roles(OLD_ROLES)
