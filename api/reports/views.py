"""GET /v1/reports/services and /v1/reports/followup: the run reports of the served model.

`polku report services --log` and `polku report followup ... --log` write
their report (JSON and its HTML page) with the run of the version it is
about; the API serves what is logged there (read through
`training.registry.served`), JSON or HTML by `Accept`, as it serves the
fairness report. Each report carries its own period and suppresses its own
small cells; these endpoints serve it as it is.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import CallerDep, ServedModelDep, access
from api.info.views import wants_html
from api.problems import Problem
from api.reports.logged import (
    FOLLOWUP_REPORT,
    REPORT_READERS,
    SERVICE_REPORT,
    RunReport,
    run_report,
    run_report_page,
)
from api.responses import problems
from api.serving import LoadedModel
from model.json_values import json_value

router = APIRouter(prefix="/v1", tags=["model"])


def _responses(example: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {
        **problems(400, 401, 403, 422, 404, 503),
        200: {
            "description": "the report",
            "content": {
                "application/json": {"schema": {"type": "object"}, "example": example},
                "text/html": {"schema": {"type": "string"}, "example": "<!doctype html>..."},
            },
        },
    }


@router.get(
    "/reports/services",
    summary="The service report logged with the served model's run (JSON or HTML by Accept)",
    responses=_responses({"volumes": {}}),
    **access(*REPORT_READERS),
)
def get_service_report(request: Request, caller: CallerDep, model: ServedModelDep) -> Response:
    """The report `polku report services --log` logged with the served version's run.

    Read once per loaded model and kept (`api.reports.logged`); 404 while the
    run has none (a report logged later is read on the next request).
    """
    return _served(request, model, SERVICE_REPORT)


@router.get(
    "/reports/followup",
    summary="The follow-up report logged with the served model's run (JSON or HTML by Accept)",
    responses=_responses({"advice": {"verdict": "wait"}}),
    **access(*REPORT_READERS),
)
def get_followup_report(request: Request, caller: CallerDep, model: ServedModelDep) -> Response:
    """The report `polku report followup --log` logged with the served version's run: the
    decisions recorded through the API joined with the outcomes that arrived since, and
    whether to retrain.

    Read once per loaded model and kept (`api.reports.logged`); 404 while the
    run has none (a report logged later is read on the next request).
    """
    return _served(request, model, FOLLOWUP_REPORT)


def _served(request: Request, model: LoadedModel, kind: RunReport) -> Response:
    state = request.app.state
    report = run_report(state, model, kind)
    if report is None:
        raise _missing(model, kind, "")
    if wants_html(request.headers.get("accept", "")):
        page = run_report_page(state, model, kind)
        if page is None:
            raise _missing(model, kind, " page")
        return HTMLResponse(page)
    return Response(
        orjson.dumps(json_value(report), option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    )


def _missing(model: LoadedModel, kind: RunReport, what: str) -> Problem:
    run = f"the run of model {model.name} version {model.version}"
    detail = (
        f"{run} has no {kind.title} page"
        if what
        else f"{run} has no {kind.title} yet ({kind.command} writes one)"
    )
    return Problem(404, kind.missing, f"No {kind.title}{what}", detail)
