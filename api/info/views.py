"""GET /v1/services, GET /v1/model, GET /v1/reports/fairness."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import Role
from api.capacity import availability, seats_json
from api.deps import CallerDep, EngineDep, ServedModelDep, SettingsDep, access
from api.info.schemas import ModelInfo, ServiceList
from api.problems import Problem
from api.recommendations.service import now
from api.reports.logged import REPORT_READERS, fairness_page
from api.responses import problems
from model.json_values import json_value
from model.vocab import LANGUAGES

router = APIRouter(prefix="/v1", tags=["model"])

AUTH_ONLY = (400, 401, 403, 422, 429)
Language = Annotated[
    Literal[LANGUAGES],  # type: ignore[valid-type]
    Query(description="language of names and descriptions", examples=["fi"]),
]
EVERY_ROLE = tuple(Role)


@router.get(
    "/services",
    response_model=ServiceList,
    summary="The service catalogue of the served model, localised",
    responses=problems(*AUTH_ONLY, 503),
    **access(*EVERY_ROLE),
)
def get_services(
    caller: CallerDep, model: ServedModelDep, engine: EngineDep, language: Language = "fi"
) -> Response:
    """The catalogue, with the seats left this month and the wait a client can expect now.

    Seats left count the decisions recorded this month (Europe/Helsinki) that
    chose the service, in every unit, since a service's seats are shared; a
    corrected decision counts once, as its correction (`api.capacity`).
    """
    catalogue = model.router.catalogue
    seats = availability(engine, now(), fresh=True)
    services = [
        {
            "code": service.code,
            "name": service.name[language],
            "description": service.description[language],
            "eligibility": service.eligibility.source,
            "typical_duration_days": service.typical_duration_days,
            "monthly_capacity": service.monthly_capacity,
            "expected_wait_days": service.expected_wait_days,
            **seats_json(seats.of(service)),
        }
        for service in (*catalogue.services, catalogue.no_new_service)
    ]
    body = {
        "language": language,
        "model": {"name": model.name, "version": model.version},
        "catalogue": catalogue.source,
        "services": services,
    }
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/model",
    response_model=ModelInfo,
    summary="The served model: version, training window, evaluation, model card",
    responses=problems(*AUTH_ONLY, 503),
    **access(*EVERY_ROLE),
)
def get_model(caller: CallerDep, model: ServedModelDep, settings: SettingsDep) -> Response:
    router_ = model.router
    window = router_.metadata.get("training_window")
    body = {
        "name": model.name,
        "version": model.version,
        "alias": None if settings.model_version else settings.model_alias,
        "run_id": model.served.run_id,
        "learner": router_.metadata.get("learner"),
        "loaded_at": model.loaded_at.isoformat().replace("+00:00", "Z"),
        "training_window": _window(window),
        "target": router_.config.target,
        "horizon_days": router_.config.horizon_days,
        "catalogue": router_.catalogue.source,
        "actions": list(model.actions),
        "extra_features": dict(model.extras),
        "evaluation": json_value(dict(model.served.evaluation)),
        "card": json_value(dict(model.served.card)) if model.served.card else None,
    }
    return Response(
        orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), media_type="application/json"
    )


def _window(window: Any) -> dict[str, Any] | None:
    """The router's training window as the API names it.

    The pipeline records the window as ``{"from": ..., "to": ...}``
    (`training.pipeline.result.decision_window`); the API answers with
    ``start`` and ``end``, which read better in JSON clients.
    """
    if isinstance(window, Mapping):
        start = window.get("from", window.get("start"))
        end = window.get("to", window.get("end"))
        return {"start": _text(start), "end": _text(end)}
    return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@router.get(
    "/reports/fairness",
    summary="The fairness report of the served model's run (JSON or HTML by Accept)",
    responses={
        **problems(*AUTH_ONLY, 404, 503),
        200: {
            "description": "the report",
            "content": {
                "application/json": {"schema": {"type": "object"}, "example": {"groups": {}}},
                "text/html": {"schema": {"type": "string"}, "example": "<!doctype html>..."},
            },
        },
    },
    **access(*REPORT_READERS),
)
def get_fairness_report(request: Request, caller: CallerDep, model: ServedModelDep) -> Response:
    """The report logged with the run that trained the served model.

    Cells under the small-cell threshold are suppressed by the report itself;
    this endpoint serves it as it is. 404 when the run has no report yet.
    """
    report = model.fairness
    if not report:
        raise Problem(
            404,
            "no-fairness-report",
            "No fairness report",
            f"the run of model {model.name} version {model.version} has no fairness report yet",
        )
    if wants_html(request.headers.get("accept", "")):
        page = fairness_page(request.app.state, model)
        if page is not None:
            return HTMLResponse(page)
    return Response(
        orjson.dumps(json_value(report), option=orjson.OPT_NON_STR_KEYS),
        media_type="application/json",
    )


def wants_html(accept: str) -> bool:
    """HTML when the client prefers text/html to JSON (by order and q-values)."""
    best: dict[str, float] = {}
    for position, part in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        weight = q - position * 1e-6
        for kind, names in (
            ("html", ("text/html", "application/xhtml+xml")),
            ("json", ("application/json", "*/*", "application/*")),
        ):
            if media.lower() in names:
                best[kind] = max(best.get(kind, -1.0), weight)
    return best.get("html", -1.0) > best.get("json", -1.0) and best.get("html", 0.0) > 0
