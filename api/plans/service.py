"""Plans: check the whole request first, then features, the programme and the schedule.

Every problem is collected with its field path before anything is planned: a
month before this one, a client twice, seats for a service the served
catalogue does not have (or twice), and every data-contract rule a client's
history breaks (the same checks as a recommendation's). A plan is an answer,
not a record: nothing is stored, so a refused request leaves nothing behind.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from api.plans.schemas import PlanRequest
from api.problems import FieldError, validation_problem
from api.recommendations.schemas import RecommendationRequest
from api.recommendations.service import check_request, features_of
from api.serving import LoadedModel
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
