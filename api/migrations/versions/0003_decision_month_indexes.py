"""Indexes for the month's starts per service: decisions by time, and by the decision corrected.

The seats left this month count the decisions since the first of the month
that no later decision corrects (`api.storage.decisions.starts_since`);
without these indexes that query reads every decision once per decision of
the month.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_decisions_created_at", "decisions", ["created_at"])
    op.create_index("ix_decisions_corrects", "decisions", ["corrects"])


def downgrade() -> None:
    op.drop_index("ix_decisions_corrects", table_name="decisions")
    op.drop_index("ix_decisions_created_at", table_name="decisions")
