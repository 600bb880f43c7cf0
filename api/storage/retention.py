"""Retention: audit events (with their decisions, by cascade) and plans past the period are deleted.

The only deletes of the append-only logs; run at start and by `polku db purge`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from api.storage.audit import purge_audit_events
from api.storage.plan_events import purge_plan_events


@dataclass(frozen=True, slots=True)
class Purged:
    audit_events: int
    plan_events: int


def purge_expired(connection: Connection, *, older_than: datetime) -> Purged:
    """Delete the recommendations (and their decisions) and plans written before `older_than`."""
    return Purged(
        audit_events=purge_audit_events(connection, older_than=older_than),
        plan_events=purge_plan_events(connection, older_than=older_than),
    )
