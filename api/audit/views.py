"""GET /v1/audit and GET /v1/audit/plans: the audit logs, for evaluators and admins.

Planners plan but do not read the log of plans: it holds every unit's plans
and the oversight of them is the evaluators' (docs/api.md, "Who reads the
audit log").
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.audit.schemas import AuditList, PlanAuditList
from api.auth import Role
from api.common import Month, as_utc
from api.deps import CallerDep, EngineDep, access
from api.paging import Cursor, Limit, Since, Until, start_after
from api.responses import AUTHENTICATED, problems
from api.storage.audit import AuditEvent, get_audit_event, list_audit_events
from api.storage.decisions import DecisionRow, decisions_for_requests
from api.storage.engine import read_transaction
from api.storage.plan_events import PlanEvent, get_plan_event, list_plan_events

router = APIRouter(prefix="/v1", tags=["audit"])

Unit = Annotated[
    str | None,
    Query(description="only this unit", examples=["espoo-leppavaara"], max_length=64),
]
ModelVersion = Annotated[
    str | None,
    Query(description="only answers of this model version", examples=["3"], max_length=50),
]


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
    unit: Unit = None,
    model_version: ModelVersion = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response:
    """Events oldest first. Comments of decisions are not shown here (GET /v1/decisions, admin)."""
    with read_transaction(engine) as connection:
        after_id = start_after(
            cursor, lambda request_id: get_audit_event(connection, request_id=request_id)
        )
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


def _plan(event: PlanEvent) -> dict[str, Any]:
    return {
        "request_id": event.request_id,
        "created_at": _iso(event.created_at),
        "unit": event.unit,
        "role": event.role,
        "key_id": event.key_id,
        "model": {
            "name": event.model_name,
            "version": event.model_version,
            "run_id": event.model_run_id,
        },
        "month": event.month,
        "as_of": event.as_of.isoformat(),
        "client_count": event.clients,
        "input_hash": event.input_hash,
        "output": event.output,
    }


@router.get(
    "/audit/plans",
    response_model=PlanAuditList,
    summary="The audit log of plans: every month's plan answered, by pseudonymous client id",
    responses=problems(*AUTHENTICATED, 404, 503),
    **access(Role.admin, Role.evaluator),
)
def get_plan_audit(
    caller: CallerDep,
    engine: EngineDep,
    since: Since = None,
    until: Until = None,
    unit: Unit = None,
    month: Annotated[
        Month | None, Query(description="only plans of this month, YYYY-MM", examples=["2026-12"])
    ] = None,
    model_version: ModelVersion = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response:
    """Every unit's plans, oldest first; clients by pseudonymous id only.

    One item per plan answered by POST /v1/plans: who planned, with which
    model, the month, the options asked and the plan answered (a refused
    request left none).
    """
    with read_transaction(engine) as connection:
        after_id = start_after(
            cursor, lambda request_id: get_plan_event(connection, request_id=request_id)
        )
        events = list_plan_events(
            connection,
            since=as_utc(since),
            until=as_utc(until),
            unit=unit,
            month=month,
            model_version=model_version,
            after_id=after_id,
            limit=limit,
        )
    page = {
        "items": [_plan(e) for e in events],
        "next_cursor": events[-1].request_id if len(events) == limit else None,
    }
    return Response(orjson.dumps(page), media_type="application/json")
