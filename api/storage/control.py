"""The stop switch and reload requests, as an append-only log of control events.

The current state is derived, never stored in place: paused when the latest
pause-or-resume event is a pause; the reload generation is the id of the
latest reload event, which every worker compares with the generation of the
model it serves (so a reload asked of one worker reaches all of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

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


def control_state(connection: Connection) -> ControlState:
    """The switch and the reload generation; one statement once a switch was ever set."""
    generation = (
        select(func.coalesce(func.max(control_events.c.id), 0))
        .where(control_events.c.action == "reload")
        .scalar_subquery()
    )
    switch = connection.execute(
        select(
            control_events.c.action,
            control_events.c.reason,
            control_events.c.created_at,
            generation.label("generation"),
        )
        .where(control_events.c.action.in_(("pause", "resume")))
        .order_by(control_events.c.id.desc())
        .limit(1)
    ).first()
    if switch is None:
        reloads = connection.execute(select(generation)).scalar_one()
        return ControlState(paused=False, reason=None, since=None, reload_generation=int(reloads))
    paused = switch.action == "pause"
    return ControlState(
        paused=paused,
        reason=switch.reason if paused else None,
        since=switch.created_at,
        reload_generation=int(switch.generation),
    )
