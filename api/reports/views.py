"""GET /v1/reports/services: the service report of the served model's run.

`polku report services --log` writes the report (JSON and its HTML page)
with the run of the version it was scored by; the API serves what is logged
there (read through `training.registry.served`), JSON or HTML by `Accept`,
as it serves the fairness report. The report carries its own data window and
suppresses its own small cells; this endpoint serves it as it is.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import Role
from api.deps import CallerDep, ServedModelDep, access
from api.info.views import wants_html
from api.problems import Problem
from api.responses import problems
from model.json_values import json_value

router = APIRouter(prefix="/v1", tags=["model"])


@router.get(
    "/reports/services",
    summary="The service report logged with the served model's run (JSON or HTML by Accept)",
    responses={
        **problems(400, 401, 403, 422, 404, 503),
        200: {
            "description": "the report",
            "content": {
                "application/json": {"schema": {"type": "object"}, "example": {"volumes": {}}},
                "text/html": {"schema": {"type": "string"}, "example": "<!doctype html>..."},
            },
        },
    },
    **access(Role.evaluator, Role.admin),
)
def get_service_report(request: Request, caller: CallerDep, model: ServedModelDep) -> Response:
    """The report `polku report services --log` logged with the served version's run.

    Read once per loaded model and kept; 404 while the run has none (a report
    logged later is read on the next request).
    """
    cache: dict[tuple[str, str, str], dict[str, Any]] = request.app.state.__dict__.setdefault(
        "service_reports", {}
    )
    key = (model.name, model.version, model.loaded_at.isoformat())
    source = request.app.state.holder.source
    entry = cache.get(key)
    if entry is None:
        report = source.service_report(model.served)
        if not report:
            raise Problem(
                404,
                "no-service-report",
                "No service report",
                f"the run of model {model.name} version {model.version} has no service report "
                "yet (polku report services --log writes one)",
            )
        cache.clear()
        entry = cache[key] = {"report": report, "page": None}
    if wants_html(request.headers.get("accept", "")):
        if entry["page"] is None:
            entry["page"] = source.service_page(model.served)
        if entry["page"] is None:
            raise Problem(
                404,
                "no-service-report",
                "No service report page",
                f"the run of model {model.name} version {model.version} has no service report page",
            )
        return HTMLResponse(entry["page"])
    return Response(
        orjson.dumps(json_value(entry["report"]), option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    )
