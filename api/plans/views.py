"""POST /v1/plans: a month's clients awaiting a decision planned into the services' seats."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.auth import Role
from api.deps import CallerDep, EngineDep, HolderDep, SettingsDep, access, require_model
from api.plans.schemas import PlanRequest, PlanResponse
from api.plans.service import plan_recorded
from api.problems import unavailable
from api.recommendations.service import today
from api.responses import AUTHENTICATED, problems
from api.storage.control import control_state
from api.storage.engine import read_transaction

router = APIRouter(prefix="/v1", tags=["plans"])

# A plan weighs many clients against seats every unit shares: it is the work of
# whoever plans the services' use, not of a caseworker deciding for one client.
ROLES = (Role.planner, Role.admin)


@router.post(
    "/plans",
    response_model=PlanResponse,
    summary="Plan a month's clients awaiting a decision into the services' seats",
    responses=problems(*AUTHENTICATED, 503),
    **access(*ROLES),
)
def post_plans(
    body: PlanRequest,
    request: Request,
    caller: CallerDep,
    engine: EngineDep,
    holder: HolderDep,
    settings: SettingsDep,
) -> Response:
    """At most one service per client, the most expected uplift within the seats and the rules.

    Each client's features are computed as of today, exactly as for a
    recommendation. The answer gives every client's planned service, their
    own best option, the uplift given up and the expected wait. Every plan
    answered is written to the audit log of plans first (by pseudonymous
    client id; no profile or history); a refused request stores nothing.
    While recommendations are paused or no model is loaded: 503.
    """
    with read_transaction(engine) as connection:
        state = control_state(connection)
    if state.paused:
        why = f" ({state.reason})" if state.reason else ""
        raise unavailable(
            "paused",
            "Recommendations are paused",
            f"an administrator paused recommendations{why}; plans wait with them",
            settings.retry_after_seconds,
        )
    model = require_model(holder, settings)
    answer = plan_recorded(
        body,
        model=model,
        today=today(),
        caller=caller,
        engine=engine,
        request_id=request.state.request_id,
    )
    return Response(orjson.dumps(answer), media_type="application/json")
