"""POST /v1/plans through the real app, model and database (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.recommendations.service import today
from api.storage.engine import read_transaction
from api.storage.plan_events import list_plan_events
from api.storage.tables import audit_events, decisions, plan_events
from tests.support.api_requests import Keys, month_from_now, plan_clients, request_body

pytestmark = pytest.mark.one_app_per_module


def _stored(app: FastAPI) -> tuple[int, ...]:
    with app.state.engine.connect() as connection:
        return tuple(
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (audit_events, decisions, plan_events)
        )


def test_a_plan_keeps_the_seats_and_answers_every_client(client: TestClient, keys: Keys) -> None:
    body = {
        "month": month_from_now(),
        "clients": plan_clients(12),
        "seats": [{"service": "work_trial", "seats": 1}],
    }
    answer = client.post("/v1/plans", json=body, headers=keys.planner)
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert [c["client_id"] for c in plan["clients"]] == [f"P{i:04d}" for i in range(12)]
    for seats in plan["seats"]:
        if seats["seats"] is not None:
            assert seats["planned"] <= seats["seats"]
    assert {s["service"]: s["seats"] for s in plan["seats"]}["work_trial"] == 1
    for c in plan["clients"]:
        assert c["uplift_given_up"] == pytest.approx(c["uplift_best"] - c["uplift_planned"])
        assert c["uplift_given_up"] >= -1e-9
        if c["status"] == "start":
            assert c["start_date"].startswith(body["month"]) or c["start_date"] > body["month"]
            assert c["expected_wait_days"] >= 0
        else:
            assert c["planned_service"] == "no_new_service" and c["start_date"] is None
    assert plan["uplift_total"] <= plan["uplift_best_total"] + 1e-9


def test_planners_and_administrators_plan_and_no_other_role_may(
    app: FastAPI, client: TestClient, keys: Keys
) -> None:
    body = {"month": month_from_now(1), "clients": plan_clients(2)}
    for role, headers in keys.by_role().items():
        before = _stored(app)
        status = client.post("/v1/plans", json=body, headers=headers).status_code
        if role in ("planner", "admin"):
            assert status == 200, role
            assert _stored(app)[2] == before[2] + 1, role
        else:
            assert status == 403, role
            assert _stored(app) == before, role


def test_a_planner_may_read_the_catalogue_but_not_recommend_or_decide(
    client: TestClient, keys: Keys
) -> None:
    assert client.get("/v1/services", headers=keys.planner).status_code == 200
    assert client.get("/v1/model", headers=keys.planner).status_code == 200
    refused = client.post("/v1/recommendations", json=request_body(), headers=keys.planner)
    assert refused.status_code == 403
    decision = {"request_id": "3f2b6c1e-8a4d-4f6e-9b1a-2c3d4e5f6a7b", "chosen_service": "x"}
    headers = {**keys.planner, "Idempotency-Key": "p1"}
    assert client.post("/v1/decisions", json=decision, headers=headers).status_code == 403


def test_a_plan_leaves_an_audit_row_by_pseudonymous_id_only(
    app: FastAPI, client: TestClient, keys: Keys
) -> None:
    body = {
        "month": month_from_now(1),
        "clients": plan_clients(3),
        "seats": [{"service": "work_trial", "seats": 1}],
        "max_shortfall": 0.05,
    }
    answer = client.post("/v1/plans", json=body, headers=keys.planner)
    assert answer.status_code == 200, answer.text
    with read_transaction(app.state.engine) as connection:
        events = list_plan_events(connection, limit=1000)
    event = next(e for e in events if e.request_id == answer.headers["x-request-id"])
    plan = answer.json()
    assert (event.unit, event.role, event.key_id) == ("espoo-a", "planner", keys.ids["planner"])
    assert (event.model_name, event.model_version) == (
        plan["model"]["name"],
        plan["model"]["version"],
    )
    assert (event.month, event.as_of.isoformat(), event.clients) == (
        body["month"],
        plan["as_of"],
        3,
    )
    assert len(event.input_hash) == 64
    assert event.output["clients"] == plan["clients"]
    assert event.output["seats"] == plan["seats"]
    assert event.output["options"] == {
        "seats": [{"service": "work_trial", "seats": 1}],
        "max_shortfall": 0.05,
        "balance": 0.0,
        "pace": 1.0,
    }
    # the plan by pseudonymous id and the options; nothing of a profile or history
    assert _names(event.output) == {
        *("options", "seats", "max_shortfall", "balance", "pace", "service", "planned"),
        *("uplift_total", "uplift_best_total", "clients", "client_id", "planned_service"),
        *("own_best", "uplift_planned", "uplift_best", "uplift_given_up", "status"),
        *("start_date", "expected_wait_days"),
    }


def _names(document: Any) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(document, dict):
        return set(document) | {n for value in document.values() for n in _names(value)}
    if isinstance(document, list):
        return {n for value in document for n in _names(value)}
    return set()


def test_a_plan_while_paused_is_refused_and_stores_nothing(
    app: FastAPI, client: TestClient, keys: Keys
) -> None:
    assert client.post("/v1/admin/pause", headers=keys.admin).status_code == 200
    try:
        before = _stored(app)
        body = {"month": month_from_now(), "clients": plan_clients(1)}
        assert client.post("/v1/plans", json=body, headers=keys.planner).status_code == 503
        assert _stored(app) == before
    finally:
        assert client.post("/v1/admin/resume", headers=keys.admin).status_code == 200


def test_bad_input_is_refused_field_by_field_and_nothing_is_stored(
    app: FastAPI, client: TestClient, keys: Keys
) -> None:
    before = _stored(app)
    clients = plan_clients(3)
    clients[2]["client"]["client_id"] = clients[0]["client"]["client_id"]
    clients[1]["episodes"][0]["service"] = "sauna_course"
    past = date(today().year - 1, 1, 1).strftime("%Y-%m")
    body = {
        "month": past,
        "clients": clients,
        "seats": [{"service": "sauna_course", "seats": 3}, {"service": "work_trial", "seats": 2}],
    }
    answer = client.post("/v1/plans", json=body, headers=keys.planner)
    assert answer.status_code == 422
    problem = answer.json()
    fields = {(e["field"], e["code"]) for e in problem["errors"]}
    assert ("month", "month_in_past") in fields
    assert ("clients.2.client.client_id", "duplicate_client") in fields
    assert ("clients.1.episodes.0.service", "unknown_service") in fields
    assert ("seats.0.service", "unknown_service") in fields
    assert "P0000" not in answer.text
    assert _stored(app) == before


def test_negative_seats_and_a_month_not_written_yyyy_mm_are_refused(
    client: TestClient, keys: Keys
) -> None:
    for change, field in (
        ({"month": "2026-13"}, "month"),
        ({"seats": [{"service": "work_trial", "seats": -1}]}, "seats.0.seats"),
    ):
        body = {"month": month_from_now(), "clients": plan_clients(1), **change}
        answer = client.post("/v1/plans", json=body, headers=keys.planner)
        assert answer.status_code == 422
        assert [e["field"] for e in answer.json()["errors"]] == [field]
    month = client.post(
        "/v1/plans", json={"month": "2026-1", "clients": plan_clients(1)}, headers=keys.planner
    )
    assert "YYYY-MM" in month.json()["errors"][0]["message"]


def test_a_plan_may_carry_more_than_a_recommendation_body_may(
    client: TestClient, keys: Keys, settings: Any
) -> None:
    clients = plan_clients(1)
    body = {"month": month_from_now(), "clients": clients * 1}
    size = len(orjson.dumps(body))
    many = int(settings.max_body_bytes / size * 1.2) + 1  # about 450 clients
    body = {"month": month_from_now(), "clients": plan_clients(many)}
    assert len(orjson.dumps(body)) > settings.max_body_bytes
    answer = client.post("/v1/plans", json=body, headers=keys.planner)
    assert answer.status_code == 200, answer.text[:300]
    assert len(answer.json()["clients"]) == many
    big = {**request_body(), "padding": "x" * settings.max_body_bytes}
    assert client.post("/v1/recommendations", json=big, headers=keys.planner).status_code == 413


def test_a_personal_identity_code_as_client_id_is_refused_without_being_echoed(
    app: FastAPI, client: TestClient, keys: Keys
) -> None:
    before = _stored(app)
    clients = plan_clients(2)
    clients[1]["client"]["client_id"] = "131052-308T"  # the agency's example code
    answer = client.post(
        "/v1/plans", json={"month": month_from_now(), "clients": clients}, headers=keys.planner
    )
    assert answer.status_code == 422
    assert "131052" not in answer.text
    assert any(e["field"] == "clients.1.client.client_id" for e in answer.json()["errors"])
    assert _stored(app) == before
