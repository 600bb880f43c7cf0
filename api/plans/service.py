"""Plans: check the whole request first, then features, the programme and the schedule.

Every problem is collected with its field path before anything is planned: a
month before this one, a client twice, seats for a service the served
catalogue does not have (or twice), and every data-contract rule a client's
history breaks (the same checks as a recommendation's). A refused request
leaves nothing behind. A plan answered is written to the audit log of plans
(`api.storage.plan_events`) before it is sent: who asked, the model, the
month, a hash of the request and the plan by pseudonymous client id, never a
client's profile or history.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import Engine

from api.auth import Caller
from api.plans.schemas import PlanRequest
from api.problems import FieldError, validation_problem
from api.recommendations.schemas import RecommendationRequest
from api.recommendations.service import check_request, features_of
from api.serving import LoadedModel
from api.storage.engine import write_transaction
from api.storage.plan_events import PlanEvent, insert_plan_event
from model.errors import PlanningError
from model.planning.month import plan_month
from model.planning.programme import PlanOptions


def check_plan(request: PlanRequest, model: LoadedModel, today: date) -> list[FieldError]:
    """Every rule the request breaks, with field paths."""
    errors: list[FieldError] = []
    if request.month < f"{today:%Y-%m}":
        errors.append(
            FieldError(
                "body",
                "month",
                f"{request.month} is in the past (today is {today.isoformat()}, "
                "Europe/Helsinki); plan this month or a later one",
                "month_in_past",
            )
        )
    first: dict[str, int] = {}
    for i, item in enumerate(request.clients):
        client_id = item.client.client_id
        if client_id in first:
            errors.append(
                FieldError(
                    "body",
                    f"clients.{i}.client.client_id",
                    f"the same client as clients.{first[client_id]}; plan each client once",
                    "duplicate_client",
                )
            )
        else:
            first[client_id] = i
        for error in check_request(_as_recommendation(item, today), model, today):
            errors.append(
                FieldError(error.location, f"clients.{i}.{error.field}", error.message, error.code)
            )
    services = set(model.services)
    given: dict[str, int] = {}
    for i, entry in enumerate(request.seats):
        if entry.service not in services:
            errors.append(
                FieldError(
                    "body",
                    f"seats.{i}.service",
                    "not a service of the served catalogue (GET /v1/services)",
                    "unknown_service",
                )
            )
        elif entry.service in given:
            errors.append(
                FieldError(
                    "body",
                    f"seats.{i}.service",
                    f"the seats of {entry.service} are given twice (first in seats.{given[entry.service]})",
                    "duplicate_service",
                )
            )
        else:
            given[entry.service] = i
    return errors


def _as_recommendation(item: Any, as_of: date) -> RecommendationRequest:
    # Already validated field by field; only the cross-field rules remain to check.
    return RecommendationRequest.model_construct(
        client=item.client, episodes=item.episodes, outcomes=item.outcomes, as_of=as_of, k=3
    )


def plan(request: PlanRequest, *, model: LoadedModel, today: date) -> dict[str, Any]:
    """The checked request planned: 422 listing every problem, else the answer body."""
    errors = check_plan(request, model, today)
    if errors:
        raise validation_problem(errors, detail=errors[0].message if len(errors) == 1 else None)
    rows = [features_of(_as_recommendation(item, today), model, today) for item in request.clients]
    features = pd.DataFrame(rows)
    features.insert(0, "client_id", [item.client.client_id for item in request.clients])
    seats = {s.code: s.monthly_capacity for s in model.router.catalogue.services}
    seats.update({entry.service: entry.seats for entry in request.seats})
    options = PlanOptions(
        balance=request.balance, pace=request.pace, max_shortfall=request.max_shortfall
    )
    try:
        planned = plan_month(
            model.router, features, month=request.month, seats=seats, options=options, as_of=today
        )
    except PlanningError as exc:
        raise validation_problem(
            [FieldError("body", "clients", str(exc), "not_plannable")]
        ) from None
    frame = planned.frame()
    used = planned.seats_used()
    clients = [
        {
            "client_id": row.client_id,
            "planned_service": row.planned_service,
            "own_best": row.own_best,
            "uplift_planned": float(row.uplift_planned),
            "uplift_best": float(row.uplift_best),
            "uplift_given_up": float(row.uplift_given_up),
            "status": row.status,
            "start_date": row.start_date or None,
            "expected_wait_days": None
            if np.isnan(row.expected_wait_days)
            else float(row.expected_wait_days),
        }
        for row in frame.itertuples(index=False)
    ]
    return {
        "model": {"name": model.name, "version": model.version},
        "month": request.month,
        "as_of": today.isoformat(),
        "uplift_total": float(frame["uplift_planned"].sum()),
        "uplift_best_total": float(frame["uplift_best"].sum()),
        "seats": [
            {"service": code, "seats": seats.get(code), "planned": used.get(code, 0)}
            for code in model.router.catalogue.service_codes
        ],
        "clients": clients,
    }


def plan_recorded(
    request: PlanRequest,
    *,
    model: LoadedModel,
    today: date,
    caller: Caller,
    engine: Engine,
    request_id: str,
) -> dict[str, Any]:
    """Plan, write the plan's audit event, return the answer body.

    The answer exists only once its event is committed: if the write fails,
    the caller gets an error, never an unlogged plan. A refused request
    raises before anything is written.
    """
    body = plan(request, model=model, today=today)
    event = PlanEvent(
        request_id=request_id,
        created_at=datetime.now(UTC),
        unit=caller.unit,
        role=caller.role.value,
        key_id=caller.key_id,
        model_name=model.name,
        model_version=model.version,
        model_run_id=model.served.run_id,
        month=request.month,
        as_of=today,
        clients=len(request.clients),
        input_hash=plan_hash(request, today),
        output={
            "options": {
                "seats": [{"service": s.service, "seats": s.seats} for s in request.seats],
                "max_shortfall": request.max_shortfall,
                "balance": request.balance,
                "pace": request.pace,
            },
            **{key: body[key] for key in ("uplift_total", "uplift_best_total", "seats", "clients")},
        },
    )
    with write_transaction(engine) as connection:
        insert_plan_event(connection, event=event)
    return body


def plan_hash(request: PlanRequest, today: date) -> str:
    """SHA-256 of the canonical request and the day it was planned on."""
    document = request.model_dump(mode="json")
    document["as_of"] = today.isoformat()
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
