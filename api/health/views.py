"""GET /health/live and GET /health/ready (no authentication; no personal data).

Anyone may ask whether the service is ready, and learns only that: the
model being served, the database's state and why it is not ready (registry
error texts) go to a caller with a valid key, of any role, and to the log
(when the reasons change), not to whoever can reach the port.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy import Engine

from api.auth import authenticate
from api.common import ModelRef, ResponseModel
from api.deps import EngineDep, HolderDep, SettingsDep, access
from api.gate import bearer_key
from api.settings import Settings
from api.storage.control import control_state
from api.storage.engine import database_problem, read_transaction

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/health", tags=["health"])


class Live(ResponseModel):
    status: Literal["live"] = Field(description="the process answers", examples=["live"])


class Ready(ResponseModel):
    status: Literal["ready", "not_ready"] = Field(
        description="ready to answer recommendations", examples=["ready"]
    )
    model: ModelRef | None = Field(
        default=None,
        description="with a key: the model being served",
        examples=[{"name": "polku-router", "version": "3"}],
    )
    database: Literal["ok", "unavailable"] | None = Field(
        default=None, description="with a key: the database answers", examples=["ok"]
    )
    paused: bool | None = Field(
        default=None,
        description="with a key: recommendations are paused (null when the database is down)",
        examples=[False],
    )
    reasons: list[str] | None = Field(
        default=None,
        description="with a key: why not ready, or why the newest model is not the one serving",
        examples=[["polku-router at alias champion could not be served: GoldenCaseError: ..."]],
    )


@router.get("/live", response_model=Live, summary="Liveness", **access(public=True))
def live() -> Response:
    return Response(orjson.dumps({"status": "live"}), media_type="application/json")


@router.get(
    "/ready",
    response_model=Ready,
    summary="Readiness: a model is loaded and the database answers",
    responses={503: {"description": "not ready; reasons say why", "model": Ready}},
    **access(public=True),
)
def ready(
    request: Request, engine: EngineDep, holder: HolderDep, settings: SettingsDep
) -> Response:
    reasons: list[str] = []
    model = holder.current
    if model is None:
        reasons.append(holder.last_error or "no model is loaded yet")
    elif holder.last_error:
        reasons.append(
            f"serving version {model.version}; the newest attempt failed: {holder.last_error}"
        )
    problem = database_problem(engine, busy_timeout_ms=settings.db_busy_timeout_ms)
    paused: bool | None = None
    if problem is not None:
        reasons.append(problem)
    else:
        with read_transaction(engine) as connection:
            paused = control_state(connection).paused
    ok = model is not None and problem is None
    body: dict[str, Any] = {
        "status": "ready" if ok else "not_ready",
        "model": {"name": model.name, "version": model.version} if model else None,
        "database": "ok" if problem is None else "unavailable",
        "paused": paused,
        "reasons": reasons,
    }
    headers = {} if ok else {"Retry-After": str(settings.retry_after_seconds)}
    if reasons != getattr(request.app.state, "ready_reasons", []):
        request.app.state.ready_reasons = reasons
        for reason in reasons:
            logger.warning("readiness: %s", reason)
    key = bearer_key(request.headers.get("authorization"))
    if key is None or problem is not None or not _valid(engine, key, settings):
        body = {"status": body["status"]}
    return Response(
        orjson.dumps(body),
        status_code=200 if ok else 503,
        media_type="application/json",
        headers=headers,
    )


def _valid(engine: Engine, key: str, settings: Settings) -> bool:
    return authenticate(engine, key, allow_demo=settings.allow_demo_keys) is not None
