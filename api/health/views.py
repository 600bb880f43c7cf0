"""GET /health/live and GET /health/ready (no authentication; no personal data)."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import Field

from api.common import ModelRef, ResponseModel
from api.deps import EngineDep, HolderDep, SettingsDep, access
from api.storage.control import control_state
from api.storage.engine import database_problem, read_transaction

router = APIRouter(prefix="/health", tags=["health"])


class Live(ResponseModel):
    status: Literal["live"] = Field(description="the process answers", examples=["live"])


class Ready(ResponseModel):
    status: Literal["ready", "not_ready"] = Field(
        description="ready to answer recommendations", examples=["ready"]
    )
    model: ModelRef | None = Field(
        description="the model being served", examples=[{"name": "polku-router", "version": "3"}]
    )
    database: Literal["ok", "unavailable"] = Field(
        description="the database answers", examples=["ok"]
    )
    paused: bool | None = Field(
        description="recommendations are paused (null when the database is down)", examples=[False]
    )
    reasons: list[str] = Field(
        description="why not ready, or why the newest model is not the one serving",
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
def ready(engine: EngineDep, holder: HolderDep, settings: SettingsDep) -> Response:
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
    return Response(
        orjson.dumps(body),
        status_code=200 if ok else 503,
        media_type="application/json",
        headers=headers,
    )
