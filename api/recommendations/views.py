"""POST /v1/recommendations."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.auth import Role
from api.deps import (
    BearerDep,
    EngineDep,
    HolderDep,
    SettingsDep,
    access,
    check_caller,
    require_model,
)
from api.problems import unavailable, validation_problem
from api.recommendations.schemas import RecommendationRequest, RecommendationResponse
from api.recommendations.service import check_as_of, check_request, recommend, today
from api.responses import AUTHENTICATED, problems
from api.serving import ModelHolder
from api.settings import Settings
from api.storage.control import control_state
from api.storage.engine import read_transaction, writer_busy

router = APIRouter(prefix="/v1", tags=["recommendations"])

ROLES = frozenset({Role.caseworker})


@router.post(
    "/recommendations",
    response_model=RecommendationResponse,
    summary="Ranked next services for one client, with explanations",
    responses=problems(*AUTHENTICATED, 503),
    **access(*ROLES, in_route=True),
)
async def post_recommendations(
    body: RecommendationRequest,
    request: Request,
    credentials: BearerDep,
    engine: EngineDep,
    holder: HolderDep,
    settings: SettingsDep,
) -> Response:
    """Rank every eligible candidate (no_new_service included) and return the first `k`.

    Every answer is written to the audit log before it is sent; its
    `request_id` is what a decision refers to. While recommendations are
    paused (POST /v1/admin/pause) or no model is loaded, the answer is 503
    with Retry-After, never a default ranking.
    """
    # The work is synchronous (scoring, SQLite). When this worker answers no
    # other recommendation, the database is a local SQLite file and no other
    # writer holds it, it is done on the event loop: nothing else waits for
    # the loop, and the hop to a worker thread and back costs about 0.2 ms of
    # a 3 ms request. Otherwise (concurrent requests; another writer, such as
    # a purge, that the audit write would wait for; PostgreSQL, whose network
    # waits must never hold the loop) it runs in the thread pool, where audit
    # writes that overlap are committed together and the loop keeps serving.
    state = request.app.state
    inline = (
        state.recommendations_in_flight == 0
        and engine.dialect.name == "sqlite"
        and not writer_busy(engine)
    )
    state.recommendations_in_flight += 1
    try:
        if inline:
            return _answer(body, request, credentials, engine, holder, settings)
        return await run_in_threadpool(
            _answer, body, request, credentials, engine, holder, settings
        )
    finally:
        state.recommendations_in_flight -= 1


def _answer(
    body: RecommendationRequest,
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    engine: Engine,
    holder: ModelHolder,
    settings: Settings,
) -> Response:
    # The caller and the pause switch in one transaction, in this thread (api.deps).
    with read_transaction(engine) as connection:
        caller = check_caller(connection, credentials, settings, request, ROLES)
        state = control_state(connection)
    if state.paused:
        why = f" ({state.reason})" if state.reason else ""
        raise unavailable(
            "paused",
            "Recommendations are paused",
            f"an administrator paused recommendations{why}; decisions can still be recorded",
            settings.retry_after_seconds,
        )
    model = require_model(holder, settings)
    if state.reload_generation > model.generation:
        holder.request_reload(state.reload_generation)
    now = today()
    as_of = body.as_of or now
    future = check_as_of(as_of, now)
    if future:
        raise validation_problem(future, detail=future[0].message)
    errors = check_request(body, model, as_of)
    if errors:
        raise validation_problem(errors)
    answer = recommend(
        body,
        model=model,
        as_of=as_of,
        request_id=request.state.request_id,
        caller=caller,
        engine=engine,
    )
    return Response(orjson.dumps(answer), media_type="application/json")
