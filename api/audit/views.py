"""GET /v1/audit (admin, evaluator)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.audit.schemas import AuditList
from api.auth import Role
from api.common import as_utc
from api.deps import CallerDep, EngineDep, access
from api.paging import Cursor, Limit, Since, Until, bad_cursor
from api.responses import AUTHENTICATED, problems
from api.storage.audit import AuditEvent, get_audit_event, list_audit_events
from api.storage.decisions import DecisionRow, decisions_for_requests
from api.storage.engine import read_transaction

router = APIRouter(prefix="/v1", tags=["audit"])


def _iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _event(event: AuditEvent, decisions: list[DecisionRow]) -> dict[str, Any]:
    return {
        "request_id": event.request_id,
        "created_at": _iso(event.created_at),
        "client_id": event.client_id,
        "unit": event.unit,
        "role": event.role,
        "key_id": event.key_id,
        "model": {
            "name": event.model_name,
            "version": event.model_version,
            "run_id": event.model_run_id,
        },
        "as_of": event.as_of.isoformat(),
        "language": event.language,
        "k": event.k,
        "input_hash": event.input_hash,
        "features": event.features,
        "output": event.output,
        "decisions": [
            {
                "decision_id": d.decision_id,
                "chosen_service": d.chosen_service,
                "follows_recommendation": d.chosen_service == d.recommended_service,
                "reason_code": d.reason_code,
                "corrects": d.corrects,
                "created_at": _iso(d.created_at),
            }
            for d in decisions
        ],
    }


@router.get(
    "/audit",
    response_model=AuditList,
    summary="The audit log: every recommendation answered, with its decisions",
    responses=problems(*AUTHENTICATED, 404, 503),
    **access(Role.admin, Role.evaluator),
)
def get_audit(
    caller: CallerDep,
    engine: EngineDep,
    since: Since = None,
    until: Until = None,
    unit: Annotated[
        str | None,
        Query(description="only this unit", examples=["espoo-leppavaara"], max_length=64),
    ] = None,
    model_version: Annotated[
        str | None,
        Query(description="only answers of this model version", examples=["3"], max_length=50),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response:
    """Events oldest first. Comments of decisions are not shown here (GET /v1/decisions, admin)."""
    with read_transaction(engine) as connection:
        after_id = None
        if cursor:
            last = get_audit_event(connection, request_id=cursor)
            if last is None:
                raise bad_cursor()
            after_id = last.id
        events = list_audit_events(
            connection,
            since=as_utc(since),
            until=as_utc(until),
            unit=unit,
            model_version=model_version,
            after_id=after_id,
            limit=limit,
        )
        decisions = decisions_for_requests(connection, request_ids=[e.request_id for e in events])
    page = {
        "items": [_event(e, decisions[e.request_id]) for e in events],
        "next_cursor": events[-1].request_id if len(events) == limit else None,
    }
    return Response(orjson.dumps(page), media_type="application/json")
