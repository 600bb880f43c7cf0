"""POST /v1/recommendations, and a recommendation read back: as answered, and for the client."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.auth import Role
from api.common import REQUEST_ID_EXAMPLE, UUID_PATTERN
from api.console.explanation import client_explanation, decisions_on, explanation_text
from api.console.pages import render
from api.deps import (
    BearerDep,
    CallerDep,
    EngineDep,
    HolderDep,
    SettingsDep,
    access,
    check_caller,
)
from api.recommendations.schemas import (
    RecommendationRequest,
    RecommendationResponse,
    StoredRecommendation,
)
from api.recommendations.service import answer_checked
from api.recommendations.stored import find_event, stored_answer
from api.responses import AUTHENTICATED, problems
from api.routing import LargeBodiesOffLoop
from api.serving import ModelHolder
from api.settings import Settings
from api.storage.control import control_state
from api.storage.engine import read_transaction, writer_busy
from model.vocab import LANGUAGES

router = APIRouter(prefix="/v1", tags=["recommendations"], route_class=LargeBodiesOffLoop)

ROLES = frozenset({Role.caseworker})
RequestId = Annotated[
    str,
    Path(
        pattern=UUID_PATTERN,
        description="request_id of the recommendation (X-Request-ID of its answer)",
        examples=[REQUEST_ID_EXAMPLE],
    ),
]
ExplanationLanguage = Annotated[
    Literal[LANGUAGES],  # type: ignore[valid-type]
    Query(description="language of the explanation", examples=["fi"]),
]


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
    # the loop, and the hop to a worker thread and back is a noticeable share
    # of a short request. Otherwise (concurrent requests; another writer, such as
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
    answer = answer_checked(
        body,
        caller=caller,
        state=state,
        holder=holder,
        settings=settings,
        engine=engine,
        request_id=request.state.request_id,
    )
    request.app.state.limits.audit.written()
    return Response(orjson.dumps(answer), media_type="application/json")


@router.get(
    "/recommendations/{request_id}",
    response_model=StoredRecommendation,
    summary="A recommendation as it was answered, from the audit log",
    responses=problems(*AUTHENTICATED, 404, 503),
    **access(Role.caseworker, Role.admin),
)
def get_recommendation(request_id: RequestId, caller: CallerDep, engine: EngineDep) -> Response:
    """What POST /v1/recommendations answered, with when and in which language.

    A caseworker sees the recommendations of their own unit; another unit's
    is not found (404). An administrator sees every unit's.
    """
    event = find_event(engine, request_id, caller)
    return Response(orjson.dumps(stored_answer(event)), media_type="application/json")


@router.get(
    "/recommendations/{request_id}/explanation",
    response_class=HTMLResponse,
    summary="The client's explanation of a recommendation, a printable page",
    responses={
        200: {
            "description": "the explanation as a printable HTML page",
            "content": {"text/html": {}},
        },
        **problems(*AUTHENTICATED, 404, 503),
    },
    **access(Role.caseworker, Role.admin),
)
def get_explanation(
    request_id: RequestId,
    caller: CallerDep,
    engine: EngineDep,
    holder: HolderDep,
    language: ExplanationLanguage = "fi",
) -> HTMLResponse:
    """What was suggested and why in plain words, who decided what, how to ask for a review.

    For the client (EU AI Act Art. 86, GDPR Art. 15): no scores and no model
    internals. The same page as the console's, without its menus.
    """
    event = find_event(engine, request_id, caller)
    document = client_explanation(event, decisions_on(engine, event), language, holder.current)
    return render("explanation_page.html", language, {"text": explanation_text(document)})
