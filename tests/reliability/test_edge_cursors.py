"""Page cursors are the last item's own id: they tell nothing about other units' rows."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api_requests import Keys, recommend

pytestmark = pytest.mark.one_app_per_module


def _decide(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = recommend(client, headers)
    response = client.post(
        "/v1/decisions",
        json={
            "request_id": answer["request_id"],
            "chosen_service": answer["recommendations"][0]["service"],
        },
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    decision: dict[str, Any] = response.json()
    return decision


def test_a_decisions_cursor_is_the_last_decision_id(client: TestClient, keys: Keys) -> None:
    mine = [_decide(client, keys.caseworker) for _ in range(2)]
    for _ in range(3):
        _decide(client, keys.other_unit)
    mine.append(_decide(client, keys.caseworker))
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/decisions", params=params, headers=keys.caseworker).json()
        seen += [item["decision_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == page["items"][-1]["decision_id"]
        assert not cursor.isdigit()
    assert seen[-3:] == [d["decision_id"] for d in mine]


def test_another_units_decision_is_not_a_cursor(client: TestClient, keys: Keys) -> None:
    theirs = _decide(client, keys.other_unit)
    response = client.get(
        "/v1/decisions", params={"cursor": theirs["decision_id"]}, headers=keys.caseworker
    )
    assert response.status_code == 404
    assert response.json()["type"] == "urn:polku:problem:unknown-cursor"


def test_an_audit_cursor_is_the_last_request_id(client: TestClient, keys: Keys) -> None:
    for _ in range(3):
        recommend(client, keys.caseworker)
    page = client.get("/v1/audit", params={"limit": 2}, headers=keys.evaluator).json()
    assert page["next_cursor"] == page["items"][-1]["request_id"]
    rest = client.get(
        "/v1/audit", params={"limit": 500, "cursor": page["next_cursor"]}, headers=keys.evaluator
    ).json()
    ids = [item["request_id"] for item in page["items"] + rest["items"]]
    assert len(ids) == len(set(ids))
    unknown = client.get("/v1/audit", params={"cursor": str(uuid.uuid4())}, headers=keys.evaluator)
    assert unknown.status_code == 404
