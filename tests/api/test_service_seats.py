"""GET /v1/services: the seats left this month, from the decisions recorded in every unit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api_requests import Keys, recommend

pytestmark = pytest.mark.one_app_per_module


def _services(client: TestClient, keys: Keys) -> dict[str, dict[str, Any]]:
    answer = client.get("/v1/services", headers=keys.caseworker)
    assert answer.status_code == 200, answer.text
    return {s["code"]: s for s in answer.json()["services"]}


def _decide(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/v1/decisions", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_decisions_this_month_take_seats_and_a_correction_gives_one_back(
    client: TestClient, keys: Keys
) -> None:
    before = _services(client, keys)
    capacity = before["pay_subsidy"]["monthly_capacity"]
    assert capacity is not None
    left = before["pay_subsidy"]["seats_left_this_month"]
    assert before["initial_assessment"]["seats_left_this_month"] is None
    assert before["no_new_service"]["expected_wait_days_now"] is None
    first = _decide(
        client,
        keys.caseworker,
        {
            "request_id": recommend(client, keys.caseworker)["request_id"],
            "chosen_service": "pay_subsidy",
            "reason_code": "professional_judgement",
        },
    )
    other_unit = recommend(client, keys.other_unit)["request_id"]
    _decide(
        client,
        keys.other_unit,
        {"request_id": other_unit, "chosen_service": "pay_subsidy", "reason_code": "other"},
    )
    after = _services(client, keys)
    assert after["pay_subsidy"]["seats_left_this_month"] == left - 2
    _decide(
        client,
        keys.caseworker,
        {
            "request_id": first["request_id"],
            "chosen_service": "work_trial",
            "reason_code": "other",
            "corrects": first["decision_id"],
        },
    )
    corrected = _services(client, keys)
    assert corrected["pay_subsidy"]["seats_left_this_month"] == left - 1
    wait = corrected["pay_subsidy"]["expected_wait_days"] or 0
    assert corrected["pay_subsidy"]["expected_wait_days_now"] == wait
