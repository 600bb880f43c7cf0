"""POST /v1/admin/pause, /v1/admin/resume, /v1/admin/reload (admin)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Body
from fastapi.responses import Response

from api.admin.schemas import PauseRequest, ReloadOutcome, SwitchState
from api.auth import Role
from api.deps import CallerDep, EngineDep, HolderDep, access
from api.responses import AUTHENTICATED, problems
from api.routing import LargeBodiesOffLoop
from api.storage.control import control_state, record_control_event
from api.storage.engine import write_transaction

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=LargeBodiesOffLoop)


def _switch(engine: EngineDep, *, action: str, reason: str | None, key_id: str) -> Response:
    with write_transaction(engine) as connection:
        record_control_event(
            connection, action=action, reason=reason, key_id=key_id, at=datetime.now(UTC)
        )
        state = control_state(connection)
    logger.warning("recommendations %s by key %s", "paused" if state.paused else "resumed", key_id)
    body = {
        "paused": state.paused,
        "reason": state.reason,
        "since": state.since.isoformat().replace("+00:00", "Z") if state.since else None,
    }
    return Response(orjson.dumps(body), media_type="application/json")


@router.post(
    "/pause",
    response_model=SwitchState,
    summary="Stop switch: pause recommendations (decisions still work)",
    responses=problems(*AUTHENTICATED, 503),
    **access(Role.admin),
)
def pause(
    caller: CallerDep, engine: EngineDep, body: Annotated[PauseRequest | None, Body()] = None
) -> Response:
    """Every worker answers recommendations with 503 until resumed (decisions still work)."""
    return _switch(
        engine, action="pause", reason=body.reason if body else None, key_id=caller.key_id
    )


@router.post(
    "/resume",
    response_model=SwitchState,
    summary="Resume recommendations",
    responses=problems(*AUTHENTICATED, 503),
    **access(Role.admin),
)
def resume(caller: CallerDep, engine: EngineDep) -> Response:
    return _switch(engine, action="resume", reason=None, key_id=caller.key_id)


@router.post(
    "/reload",
    response_model=ReloadOutcome,
    summary="Load the alias again; a version that fails keeps the last good model serving",
    responses=problems(*AUTHENTICATED, 503),
    **access(Role.admin),
)
def reload(caller: CallerDep, engine: EngineDep, holder: HolderDep) -> Response:
    """Loads and checks the alias's version now in this worker; the others follow on their next request."""
    with write_transaction(engine) as connection:
        generation = record_control_event(
            connection, action="reload", reason=None, key_id=caller.key_id, at=datetime.now(UTC)
        )
    holder.note_generation(generation)
    outcome = holder.load(generation=generation)
    serving = outcome.serving
    body = {
        "outcome": "loaded" if outcome.loaded else "kept",
        "serving": {"name": serving.name, "version": serving.version} if serving else None,
        "error": outcome.error,
    }
    return Response(orjson.dumps(body), media_type="application/json")
