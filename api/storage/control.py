"""The stop switch and reload requests, as an append-only log of control events.

The current state is derived, never stored in place: paused when the latest
pause-or-resume event is a pause; the reload generation is the id of the
latest reload event, which every worker compares with the generation of the
model it serves (so a reload asked of one worker reaches all of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, true

from api.storage.tables import control_events


@dataclass(frozen=True, slots=True)
class ControlState:
    paused: bool
    reason: str | None
    since: datetime | None
    reload_generation: int


def record_control_event(
    connection: Connection, *, action: str, reason: str | None, key_id: str | None, at: datetime
) -> int:
    result = connection.execute(
        insert(control_events)
        .values(action=action, reason=reason, key_id=key_id, created_at=at)
        .returning(control_events.c.id)
    )
    return int(result.scalar_one())


# Built once: a statement built per call costs more than running it (SQLAlchemy
# must derive its cache key every time), and this runs on every recommendation.
_RELOADS = (
    select(func.coalesce(func.max(control_events.c.id), 0).label("generation"))
    .where(control_events.c.action == "reload")
    .subquery()
)
_SWITCH = (
    select(control_events.c.action, control_events.c.reason, control_events.c.created_at)
    .where(control_events.c.action.in_(("pause", "resume")))
    .order_by(control_events.c.id.desc())
    .limit(1)
    .subquery()
)
_STATE = select(
    _RELOADS.c.generation, _SWITCH.c.action, _SWITCH.c.reason, _SWITCH.c.created_at
).select_from(_RELOADS.outerjoin(_SWITCH, true()))


def control_state(connection: Connection) -> ControlState:
    """The switch and the reload generation, in one statement."""
    row = connection.execute(_STATE).one()
    paused = row.action == "pause"
    return ControlState(
        paused=paused,
        reason=row.reason if paused else None,
        since=row.created_at,
        reload_generation=int(row.generation),
    )
