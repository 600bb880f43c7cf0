"""POST /v1/decisions, GET /v1/decisions, GET /v1/decisions/{decision_id}."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import Response

from api.auth import Role
from api.common import UUID_PATTERN, as_utc
from api.decisions.schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    DecisionList,
    DecisionOut,
    DecisionRequest,
)
from api.decisions.service import decision_out, record_decision, visible_unit
from api.deps import CallerDep, EngineDep, SettingsDep, access
from api.paging import Cursor, Limit, Since, Until, start_after
from api.problems import Problem
from api.responses import AUTHENTICATED, problems
from api.routing import LargeBodiesOffLoop
from api.storage.decisions import DecisionRow, get_decision, list_decisions
from api.storage.engine import read_transaction

router = APIRouter(prefix="/v1", tags=["decisions"], route_class=LargeBodiesOffLoop)


@router.post(
    "/decisions",
    status_code=201,
    response_model=DecisionOut,
    summary="Record the caseworker's decision on a recommendation",
    responses=problems(*AUTHENTICATED, 404, 409, 503),
    **access(Role.caseworker),
)
def post_decision(
    body: DecisionRequest,
    caller: CallerDep,
    engine: EngineDep,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str,
        Header(
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="a fresh unique key per decision (e.g. a UUID); retries send the same key",
            examples=["0d9c7a52-6a3e-4a8e-b6f1-3c2d1e0f9a8b"],
        ),
    ],
) -> Response:
    """Append the decision; the same Idempotency-Key and body replay the first answer.

    `reason_code` is required when `chosen_service` is not rank 1 of the
    recommendation. Decisions are never changed: send a new one with
    `corrects` to correct an earlier one. A recommendation of another unit
    is not found (404). Decisions are recorded even while recommendations
    are paused.
    """
    answer, replayed = record_decision(
        body,
        caller=caller,
        idempotency_key=idempotency_key,
        engine=engine,
        max_decisions=settings.max_decisions_per_recommendation,
    )
    headers = {"Location": f"/v1/decisions/{answer['decision_id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        orjson.dumps(answer), status_code=201, media_type="application/json", headers=headers
    )


@router.get(
    "/decisions",
    response_model=DecisionList,
    summary="Decisions of the caller's unit (every unit for admin)",
    responses=problems(*AUTHENTICATED, 404, 503),
    **access(Role.caseworker, Role.admin),
)
def get_decisions(
    caller: CallerDep,
    engine: EngineDep,
    request_id: Annotated[
        str | None,
        Query(
            description="only decisions on this recommendation",
            examples=["3f2b6c1e-8a4d-4f6e-9b1a-2c3d4e5f6a7b"],
            max_length=36,
        ),
    ] = None,
    unit: Annotated[
        str | None,
        Query(
            description="admin: only this unit (caseworkers always see their own)",
            examples=["espoo-leppavaara"],
            max_length=64,
        ),
    ] = None,
    since: Since = None,
    until: Until = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response:
    scope = visible_unit(caller)
    if scope is not None and unit is not None and unit != scope:
        rows = []
    else:
        with read_transaction(engine) as connection:

            def visible(decision_id: str) -> DecisionRow | None:
                last = get_decision(connection, decision_id=decision_id)
                return last if last is not None and scope in (None, last.unit) else None

            after_id = start_after(cursor, visible)
            rows = list_decisions(
                connection,
                unit=scope if scope is not None else unit,
                request_id=request_id,
                since=as_utc(since),
                until=as_utc(until),
                after_id=after_id,
                limit=limit,
            )
    # The cursor is the last item's own id, not the table's row number, which
    # would tell a unit how many decisions the other units recorded meanwhile.
    page = {
        "items": [decision_out(row) for row in rows],
        "next_cursor": rows[-1].decision_id if len(rows) == limit else None,
    }
    return Response(orjson.dumps(page), media_type="application/json")


@router.get(
    "/decisions/{decision_id}",
    response_model=DecisionOut,
    summary="One decision (of the caller's unit; any unit for admin)",
    responses=problems(*AUTHENTICATED, 404, 503),
    **access(Role.caseworker, Role.admin),
)
def get_one_decision(
    decision_id: Annotated[
        str,
        Path(
            pattern=UUID_PATTERN,
            description="decision_id from POST /v1/decisions",
            examples=["6a1f0a0e-3c1b-4c5e-8f0a-1b2c3d4e5f60"],
        ),
    ],
    caller: CallerDep,
    engine: EngineDep,
) -> Response:
    with read_transaction(engine) as connection:
        row = get_decision(connection, decision_id=decision_id)
    scope = visible_unit(caller)
    if row is None or (scope is not None and row.unit != scope):
        raise Problem(404, "not-found", "Not found", "no decision with this id in your unit")
    return Response(orjson.dumps(decision_out(row)), media_type="application/json")
