"""The audit log on SQLite and PostgreSQL: written for every answer, filtered, role-bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.storage.audit import AuditEvent, insert_audit_event, list_audit_events, purge_audit_events
from api.storage.engine import write_transaction
from api.storage.tables import audit_events, decisions
from tests.support.api_requests import Keys, recommend
from tests.support.trained_model import TrainedModel


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _event(request_id: str, *, unit: str, version: str, at: datetime) -> AuditEvent:
    return AuditEvent(
        request_id=request_id,
        created_at=at,
        client_id="C-1",
        unit=unit,
        role="caseworker",
        key_id="k000000000000",
        model_name="polku-router",
        model_version=version,
        model_run_id=None,
        as_of=at.date(),
        language="fi",
        k=3,
        input_hash="0" * 64,
        features={"finnish_level": 1.0, "last_service": "none"},
        output={
            "recommendations": [{"service": "work_trial"}],
            "reference": {"service": "no_new_service"},
            "not_eligible": [],
        },
    )


def test_every_answer_and_its_decisions_are_listed(
    client: TestClient, keys: Keys, trained_model: TrainedModel
) -> None:
    first = recommend(client, keys.caseworker)
    recommend(client, keys.other_unit)
    top = first["recommendations"][0]["service"]
    client.post(
        "/v1/decisions",
        json={
            "request_id": first["request_id"],
            "chosen_service": top,
            "comment": "näkyy vain ylläpidolle",
        },
        headers={**keys.caseworker, "Idempotency-Key": "d1"},
    )
    page = client.get("/v1/audit", headers=keys.evaluator).json()
    assert [item["unit"] for item in page["items"]] == ["espoo-a", "espoo-b"]
    item = page["items"][0]
    assert item["request_id"] == first["request_id"]
    assert item["model"] == {
        "name": trained_model.name,
        "version": trained_model.version,
        "run_id": trained_model.run_id,
    }
    assert item["output"]["recommendations"] == first["recommendations"]
    assert item["features"]["completed_integration_plan"] == 1.0
    assert [d["chosen_service"] for d in item["decisions"]] == [top]
    assert "comment" not in item["decisions"][0]
    assert "näkyy" not in client.get("/v1/audit", headers=keys.evaluator).text
    assert client.get("/v1/audit", headers=keys.admin).status_code == 200


def test_filters_by_time_unit_and_model_version(
    client: TestClient, keys: Keys, app: FastAPI
) -> None:
    now = datetime.now(UTC)
    with write_transaction(app.state.engine) as connection:
        insert_audit_event(
            connection,
            event=_event(
                "00000000-0000-4000-8000-000000000001",
                unit="a",
                version="1",
                at=now - timedelta(days=3),
            ),
        )
        insert_audit_event(
            connection,
            event=_event(
                "00000000-0000-4000-8000-000000000002",
                unit="b",
                version="2",
                at=now - timedelta(days=2),
            ),
        )
        insert_audit_event(
            connection,
            event=_event(
                "00000000-0000-4000-8000-000000000003",
                unit="a",
                version="2",
                at=now - timedelta(days=1),
            ),
        )

    def ids(**params: str) -> list[str]:
        items = client.get("/v1/audit", params=params, headers=keys.evaluator).json()["items"]
        return [item["request_id"][-1] for item in items]

    assert ids() == ["1", "2", "3"]
    assert ids(unit="a") == ["1", "3"]
    assert ids(model_version="2") == ["2", "3"]
    assert ids(unit="a", model_version="2") == ["3"]
    assert ids(since=(now - timedelta(days=2, hours=1)).isoformat()) == ["2", "3"]
    assert ids(until=(now - timedelta(days=1, hours=1)).isoformat()) == ["1", "2"]
    naive = (now - timedelta(days=2, hours=1)).replace(tzinfo=None).isoformat()
    assert ids(since=naive) == ["2", "3"]  # a time without a zone is UTC
    page = client.get("/v1/audit", params={"limit": 2}, headers=keys.evaluator).json()
    assert [i["request_id"][-1] for i in page["items"]] == ["1", "2"]
    rest = client.get(
        "/v1/audit", params={"limit": 2, "cursor": page["next_cursor"]}, headers=keys.evaluator
    ).json()
    assert [i["request_id"][-1] for i in rest["items"]] == ["3"]
    assert rest["next_cursor"] is None
    assert (
        client.get("/v1/audit", params={"cursor": "x"}, headers=keys.evaluator).status_code == 422
    )


def test_storage_functions_run_inside_a_transaction_that_is_rolled_back(
    app: FastAPI, client: TestClient
) -> None:
    now = datetime.now(UTC)
    with app.state.engine.connect() as connection:
        outer = connection.begin()
        insert_audit_event(
            connection,
            event=_event("00000000-0000-4000-8000-00000000000a", unit="a", version="1", at=now),
        )
        assert len(list_audit_events(connection)) == 1
        outer.rollback()
    with app.state.engine.connect() as connection:
        assert list_audit_events(connection) == []


def test_retention_purges_old_events_with_their_decisions(
    client: TestClient, keys: Keys, app: FastAPI
) -> None:
    answer = recommend(client, keys.caseworker)
    client.post(
        "/v1/decisions",
        json={
            "request_id": answer["request_id"],
            "chosen_service": answer["recommendations"][0]["service"],
        },
        headers={**keys.caseworker, "Idempotency-Key": "r1"},
    )
    with write_transaction(app.state.engine) as connection:
        insert_audit_event(
            connection,
            event=_event(
                "00000000-0000-4000-8000-0000000000ff",
                unit="a",
                version="1",
                at=datetime.now(UTC) - timedelta(days=800),
            ),
        )
    with write_transaction(app.state.engine) as connection:
        assert (
            purge_audit_events(connection, older_than=datetime.now(UTC) - timedelta(days=730)) == 1
        )
    with app.state.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(audit_events)).scalar_one() == 1
        assert connection.execute(select(func.count()).select_from(decisions)).scalar_one() == 1
    with write_transaction(app.state.engine) as connection:
        assert (
            purge_audit_events(connection, older_than=datetime.now(UTC) + timedelta(seconds=1)) == 1
        )
    with app.state.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(decisions)).scalar_one() == 0
