"""GET /v1/audit/plans on SQLite and PostgreSQL: every plan answered, filtered, paged, role-bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.storage.engine import write_transaction
from api.storage.plan_events import PlanEvent, insert_plan_event
from tests.support.api_requests import Keys, month_from_now, plan_clients
from tests.support.trained_model import TrainedModel


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _event(number: int, *, unit: str, month: str, version: str, at: datetime) -> PlanEvent:
    return PlanEvent(
        request_id=f"00000000-0000-4000-8000-{number:012d}",
        created_at=at,
        unit=unit,
        role="planner",
        key_id="k000000000000",
        model_name="polku-router",
        model_version=version,
        model_run_id=None,
        month=month,
        as_of=at.date(),
        clients=1,
        input_hash="0" * 64,
        output={"options": {}, "seats": [], "clients": [{"client_id": f"P{number:04d}"}]},
    )


def _insert(app: FastAPI, events: list[PlanEvent]) -> None:
    with write_transaction(app.state.engine) as connection:
        for event in events:
            insert_plan_event(connection, event=event)


def _page(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/v1/audit/plans", params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_every_plan_answered_is_listed_and_no_refused_one(
    client: TestClient, keys: Keys, trained_model: TrainedModel
) -> None:
    body = {
        "month": month_from_now(1),
        "clients": plan_clients(3),
        "seats": [{"service": "work_trial", "seats": 1}],
    }
    first = client.post("/v1/plans", json=body, headers=keys.planner)
    assert first.status_code == 200, first.text
    refused = client.post("/v1/plans", json={**body, "month": "2000-01"}, headers=keys.planner)
    assert refused.status_code == 422
    second = client.post(
        "/v1/plans",
        json={"month": month_from_now(), "clients": plan_clients(2)},
        headers=keys.admin,
    )
    assert second.status_code == 200, second.text

    page = _page(client, keys.evaluator)
    assert [item["request_id"] for item in page["items"]] == [
        first.headers["x-request-id"],
        second.headers["x-request-id"],
    ]
    assert page["next_cursor"] is None
    item = page["items"][0]
    plan = first.json()
    assert (item["unit"], item["role"], item["key_id"]) == (
        "espoo-a",
        "planner",
        keys.ids["planner"],
    )
    assert item["model"] == {
        "name": trained_model.name,
        "version": trained_model.version,
        "run_id": trained_model.run_id,
    }
    assert (item["month"], item["as_of"], item["client_count"]) == (
        body["month"],
        plan["as_of"],
        3,
    )
    assert len(item["input_hash"]) == 64
    assert item["created_at"].endswith("Z")
    assert item["output"]["clients"] == plan["clients"]
    assert item["output"]["seats"] == plan["seats"]
    assert item["output"]["options"]["seats"] == body["seats"]
    assert "finnish_level" not in client.get("/v1/audit/plans", headers=keys.evaluator).text
    by_admin = _page(client, keys.admin)
    assert (by_admin["items"][1]["role"], by_admin["items"][1]["unit"]) == ("admin", "hq")
    assert by_admin == page


def test_filters_by_time_unit_month_and_model_version(
    client: TestClient, keys: Keys, app: FastAPI
) -> None:
    now = datetime.now(UTC)
    _insert(
        app,
        [
            _event(1, unit="a", month="2026-11", version="1", at=now - timedelta(days=3)),
            _event(2, unit="b", month="2026-12", version="2", at=now - timedelta(days=2)),
            _event(3, unit="a", month="2026-12", version="2", at=now - timedelta(days=1)),
        ],
    )

    def numbers(**params: str) -> list[str]:
        return [item["request_id"][-1] for item in _page(client, keys.evaluator, **params)["items"]]

    assert numbers() == ["1", "2", "3"]
    assert numbers(unit="a") == ["1", "3"]
    assert numbers(month="2026-12") == ["2", "3"]
    assert numbers(month="2027-01") == []
    assert numbers(model_version="2") == ["2", "3"]
    assert numbers(unit="a", month="2026-12", model_version="2") == ["3"]
    assert numbers(since=(now - timedelta(days=2, hours=1)).isoformat()) == ["2", "3"]
    assert numbers(until=(now - timedelta(days=1, hours=1)).isoformat()) == ["1", "2"]
    naive = (now - timedelta(days=2, hours=1)).replace(tzinfo=None).isoformat()
    assert numbers(since=naive) == ["2", "3"]  # a time without a zone is UTC


@pytest.mark.parametrize("count", [7, 6], ids=["last page short", "last page full"])
def test_pages_hold_every_plan_once_in_order(
    client: TestClient, keys: Keys, app: FastAPI, count: int
) -> None:
    now = datetime.now(UTC)
    _insert(
        app,
        [
            _event(
                n,
                unit="ab"[n % 2],
                month="2026-12",
                version="1",
                at=now - timedelta(hours=count - n),
            )
            for n in range(1, count + 1)
        ],
    )
    for filters, expected in (
        ({}, list(range(1, count + 1))),
        ({"unit": "a"}, [n for n in range(1, count + 1) if n % 2 == 0]),
    ):
        seen: list[int] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 3, **filters, **({"cursor": cursor} if cursor else {})}
            page = _page(client, keys.evaluator, **params)
            pages += 1
            seen += [int(item["request_id"][-12:]) for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert cursor == page["items"][-1]["request_id"]
        assert seen == expected, filters
        assert pages == len(expected) // 3 + 1, filters


def test_a_cursor_must_be_a_plan_of_the_log(client: TestClient, keys: Keys) -> None:
    unknown = client.get(
        "/v1/audit/plans",
        params={"cursor": "00000000-0000-4000-8000-00000000ffff"},
        headers=keys.evaluator,
    )
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "urn:polku:problem:unknown-cursor"
    malformed = client.get("/v1/audit/plans", params={"cursor": "x"}, headers=keys.evaluator)
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("month", ["2026-13", "2026-7", "202612", "12-2026", "2026-00"])
def test_a_month_not_written_yyyy_mm_is_refused_naming_the_field(
    client: TestClient, keys: Keys, month: str
) -> None:
    answer = client.get("/v1/audit/plans", params={"month": month}, headers=keys.evaluator)
    assert answer.status_code == 422
    problem = answer.json()
    assert [(e["location"], e["field"]) for e in problem["errors"]] == [("query", "month")]
    assert "YYYY-MM" in problem["errors"][0]["message"]
    assert month not in answer.text


def test_only_evaluators_and_administrators_read_the_log_of_plans(
    client: TestClient, keys: Keys
) -> None:
    """Planners plan but read no audit log: the log holds every unit's plans (docs/api.md)."""
    statuses = {
        role: client.get("/v1/audit/plans", headers=headers).status_code
        for role, headers in keys.by_role().items()
    }
    assert statuses == {
        "caseworker": 403,
        "planner": 403,
        "evaluator": 200,
        "data_scientist": 403,
        "admin": 200,
    }
    other_unit = client.get("/v1/audit/plans", headers=keys.other_unit)
    assert other_unit.status_code == 403
    assert client.get("/v1/audit/plans").status_code == 401
