"""Decisions on SQLite and PostgreSQL: idempotent, append-only, unit-scoped (docs/api.md)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from api.storage.tables import decisions
from tests.support.api_requests import Keys, recommend


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _decide(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], key: str | None = None
) -> Any:
    extra = {"Idempotency-Key": key or str(uuid.uuid4())}
    return client.post("/v1/decisions", json=body, headers={**headers, **extra})


def _count(app: FastAPI) -> int:
    with app.state.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(decisions)).scalar_one())


def test_following_the_recommendation_needs_no_reason(
    client: TestClient, keys: Keys, app: FastAPI
) -> None:
    answer = recommend(client, keys.caseworker)
    top = answer["recommendations"][0]["service"]
    response = _decide(
        client, keys.caseworker, {"request_id": answer["request_id"], "chosen_service": top}
    )
    assert response.status_code == 201, response.text
    decision = response.json()
    assert decision["follows_recommendation"] is True
    assert decision["chosen_rank"] == 1
    assert decision["unit"] == "espoo-a"
    assert response.headers["location"] == f"/v1/decisions/{decision['decision_id']}"
    assert _count(app) == 1


def test_an_override_needs_a_reason_code(client: TestClient, keys: Keys) -> None:
    answer = recommend(client, keys.caseworker)
    second = answer["recommendations"][1]["service"]
    body = {"request_id": answer["request_id"], "chosen_service": second}
    refused = _decide(client, keys.caseworker, body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "reason_code"
    accepted = _decide(
        client,
        keys.caseworker,
        {
            **body,
            "reason_code": "client_preference",
            "comment": "Asiakas toivoo työkokeilua — ensin.",
        },
    )
    assert accepted.status_code == 201
    assert accepted.json()["chosen_rank"] == 2
    assert accepted.json()["follows_recommendation"] is False
    unknown_reason = _decide(client, keys.caseworker, {**body, "reason_code": "because"})
    assert unknown_reason.status_code == 422


def test_a_service_outside_the_returned_ranks_or_not_eligible_can_be_chosen(
    client: TestClient, keys: Keys
) -> None:
    answer = recommend(client, keys.caseworker, k=1)
    ineligible = answer["not_eligible"][0]["service"]
    response = _decide(
        client,
        keys.caseworker,
        {
            "request_id": answer["request_id"],
            "chosen_service": ineligible,
            "reason_code": "eligibility_error",
        },
    )
    assert response.status_code == 201
    assert response.json()["chosen_rank"] is None
    unknown = _decide(
        client,
        keys.caseworker,
        {"request_id": answer["request_id"], "chosen_service": "astrology", "reason_code": "other"},
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "chosen_service"


def test_same_key_same_body_replays_the_first_answer_and_stores_one_row(
    client: TestClient, keys: Keys, app: FastAPI
) -> None:
    answer = recommend(client, keys.caseworker)
    body = {
        "request_id": answer["request_id"],
        "chosen_service": answer["recommendations"][0]["service"],
    }
    first = _decide(client, keys.caseworker, body, key="retry-1")
    again = _decide(client, keys.caseworker, dict(reversed(list(body.items()))), key="retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _count(app) == 1


def test_same_key_another_body_is_refused(client: TestClient, keys: Keys, app: FastAPI) -> None:
    answer = recommend(client, keys.caseworker)
    body = {
        "request_id": answer["request_id"],
        "chosen_service": answer["recommendations"][0]["service"],
    }
    assert _decide(client, keys.caseworker, body, key="k-1").status_code == 201
    other = _decide(client, keys.caseworker, {**body, "comment": "toinen"}, key="k-1")
    assert other.status_code == 422
    assert other.json()["type"] == "urn:polku:problem:idempotency-key-reused"
    assert _count(app) == 1


def test_the_key_is_required_and_well_formed(client: TestClient, keys: Keys) -> None:
    answer = recommend(client, keys.caseworker)
    body = {
        "request_id": answer["request_id"],
        "chosen_service": answer["recommendations"][0]["service"],
    }
    missing = client.post("/v1/decisions", json=body, headers=keys.caseworker)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["location"] == "header"
    assert _decide(client, keys.caseworker, body, key="x" * 256).status_code == 422
    assert _decide(client, keys.caseworker, body, key="with space").status_code == 422


def test_parallel_retries_store_exactly_one_row(
    client: TestClient, keys: Keys, app: FastAPI
) -> None:
    answer = recommend(client, keys.caseworker)
    body = {
        "request_id": answer["request_id"],
        "chosen_service": answer["recommendations"][0]["service"],
    }
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(lambda _: _decide(client, keys.caseworker, body, key="same"), range(16))
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["decision_id"] for r in responses}) == 1
    assert _count(app) == 1


def test_another_units_recommendation_and_decision_are_not_found(
    client: TestClient, keys: Keys
) -> None:
    answer = recommend(client, keys.caseworker)
    body = {
        "request_id": answer["request_id"],
        "chosen_service": answer["recommendations"][0]["service"],
    }
    assert _decide(client, keys.other_unit, body).status_code == 404
    assert (
        _decide(client, keys.caseworker, {**body, "request_id": str(uuid.uuid4())}).status_code
        == 404
    )
    decision = _decide(client, keys.caseworker, body).json()
    mine = client.get(f"/v1/decisions/{decision['decision_id']}", headers=keys.caseworker)
    assert mine.status_code == 200 and mine.json() == decision
    theirs = client.get(f"/v1/decisions/{decision['decision_id']}", headers=keys.other_unit)
    assert theirs.status_code == 404
    assert (
        client.get(f"/v1/decisions/{decision['decision_id']}", headers=keys.admin).status_code
        == 200
    )
    assert client.get(f"/v1/decisions/{uuid.uuid4()}", headers=keys.admin).status_code == 404


def test_listing_is_unit_scoped_for_caseworkers_and_complete_for_admin(
    client: TestClient, keys: Keys
) -> None:
    for headers in (keys.caseworker, keys.caseworker, keys.other_unit):
        answer = recommend(client, headers)
        top = answer["recommendations"][0]["service"]
        assert (
            _decide(
                client, headers, {"request_id": answer["request_id"], "chosen_service": top}
            ).status_code
            == 201
        )
    mine = client.get("/v1/decisions", headers=keys.caseworker).json()
    assert [d["unit"] for d in mine["items"]] == ["espoo-a", "espoo-a"]
    assert mine["next_cursor"] is None
    snooping = client.get(
        "/v1/decisions", params={"unit": "espoo-b"}, headers=keys.caseworker
    ).json()
    assert snooping["items"] == []
    every = client.get("/v1/decisions", headers=keys.admin).json()
    assert sorted(d["unit"] for d in every["items"]) == ["espoo-a", "espoo-a", "espoo-b"]
    only_b = client.get("/v1/decisions", params={"unit": "espoo-b"}, headers=keys.admin).json()
    assert [d["unit"] for d in only_b["items"]] == ["espoo-b"]
    page = client.get("/v1/decisions", params={"limit": 2}, headers=keys.admin).json()
    assert len(page["items"]) == 2 and page["next_cursor"] is not None
    rest = client.get(
        "/v1/decisions", params={"limit": 2, "cursor": page["next_cursor"]}, headers=keys.admin
    ).json()
    assert len(rest["items"]) == 1
    assert client.get("/v1/decisions", headers=keys.evaluator).status_code == 403


def test_a_correction_is_a_new_row(client: TestClient, keys: Keys, app: FastAPI) -> None:
    answer = recommend(client, keys.caseworker)
    ranked = [r["service"] for r in answer["recommendations"]]
    first = _decide(
        client, keys.caseworker, {"request_id": answer["request_id"], "chosen_service": ranked[0]}
    ).json()
    fix = _decide(
        client,
        keys.caseworker,
        {
            "request_id": answer["request_id"],
            "chosen_service": ranked[1],
            "reason_code": "not_available",
            "corrects": first["decision_id"],
        },
    )
    assert fix.status_code == 201
    assert fix.json()["corrects"] == first["decision_id"]
    assert _count(app) == 2
    listed = client.get(
        "/v1/decisions", params={"request_id": answer["request_id"]}, headers=keys.caseworker
    ).json()["items"]
    assert [d["chosen_service"] for d in listed] == ranked[:2]
    wrong = _decide(
        client,
        keys.caseworker,
        {
            "request_id": answer["request_id"],
            "chosen_service": ranked[0],
            "corrects": str(uuid.uuid4()),
        },
    )
    assert wrong.status_code == 422


def test_decisions_cannot_be_updated_even_in_sql(
    client: TestClient, keys: Keys, app: FastAPI
) -> None:
    answer = recommend(client, keys.caseworker)
    _decide(
        client,
        keys.caseworker,
        {
            "request_id": answer["request_id"],
            "chosen_service": answer["recommendations"][0]["service"],
        },
    )
    for table in ("decisions", "audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), app.state.engine.begin() as connection:
            connection.execute(text(f"UPDATE {table} SET unit = 'elsewhere'"))


def test_comment_rules(client: TestClient, keys: Keys, app: FastAPI) -> None:
    answer = recommend(client, keys.caseworker)
    body = {
        "request_id": answer["request_id"],
        "chosen_service": answer["recommendations"][0]["service"],
    }
    assert _decide(client, keys.caseworker, {**body, "comment": "x" * 501}).status_code == 422
    assert _decide(client, keys.caseworker, {**body, "comment": "a\u0000b"}).status_code == 422
    assert (
        _decide(
            client, keys.caseworker, {**body, "comment": "henkilötunnus 131052-308T"}
        ).status_code
        == 422
    )
    fine = "Robert'); DROP TABLE decisions;-- ääkköset ✓ 漢字\nrivi"
    stored = _decide(client, keys.caseworker, {**body, "comment": fine})
    assert stored.status_code == 201
    assert stored.json()["comment"] == fine
    assert (
        client.get("/v1/decisions", headers=keys.caseworker).json()["items"][0]["comment"] == fine
    )
    assert _count(app) == 1


def test_decisions_work_while_recommendations_are_paused(client: TestClient, keys: Keys) -> None:
    answer = recommend(client, keys.caseworker)
    assert (
        client.post("/v1/admin/pause", json={"reason": "tarkistus"}, headers=keys.admin).status_code
        == 200
    )
    paused = client.post("/v1/recommendations", json={}, headers=keys.caseworker)
    assert paused.status_code in (422, 503)
    from tests.support.api_requests import request_body

    refused = client.post("/v1/recommendations", json=request_body(), headers=keys.caseworker)
    assert refused.status_code == 503
    assert refused.headers["retry-after"]
    assert "tarkistus" in refused.json()["detail"]
    top = answer["recommendations"][0]["service"]
    assert (
        _decide(
            client, keys.caseworker, {"request_id": answer["request_id"], "chosen_service": top}
        ).status_code
        == 201
    )
    assert client.post("/v1/admin/resume", headers=keys.admin).json()["paused"] is False
    assert (
        client.post("/v1/recommendations", json=request_body(), headers=keys.caseworker).status_code
        == 200
    )
