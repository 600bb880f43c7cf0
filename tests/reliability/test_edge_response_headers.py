"""Answers that may hold client data are not cached or sniffed; HTML reports carry a CSP."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from api.middleware import REPORT_CSP, safety_headers
from tests.support.api_requests import Keys, recommend

pytestmark = pytest.mark.one_app_per_module


def _assert_private(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"


def test_recommendations_decisions_and_audit_are_not_cached(client: TestClient, keys: Keys) -> None:
    answer = recommend(client, keys.caseworker)
    read_back = client.get(f"/v1/recommendations/{answer['request_id']}", headers=keys.caseworker)
    decision = client.post(
        "/v1/decisions",
        json={
            "request_id": answer["request_id"],
            "chosen_service": answer["recommendations"][0]["service"],
        },
        headers={**keys.caseworker, "Idempotency-Key": str(uuid.uuid4())},
    )
    listed = client.get("/v1/decisions", headers=keys.caseworker)
    audit = client.get("/v1/audit", headers=keys.evaluator)
    refused = client.get("/v1/audit", headers=keys.caseworker)
    for response in (read_back, decision, listed, audit, refused):
        assert response.status_code in (200, 201, 403), response.text
        _assert_private(response)


def test_the_fresh_recommendation_answer_is_not_cached(client: TestClient, keys: Keys) -> None:
    from tests.support.api_requests import request_body

    response = client.post("/v1/recommendations", json=request_body(), headers=keys.caseworker)
    assert response.status_code == 200
    _assert_private(response)


def test_the_client_explanation_page_keeps_its_own_policy(client: TestClient, keys: Keys) -> None:
    answer = recommend(client, keys.caseworker)
    page = client.get(
        f"/v1/recommendations/{answer['request_id']}/explanation", headers=keys.caseworker
    )
    assert page.status_code == 200
    _assert_private(page)
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_an_html_report_gets_a_policy_without_scripts(client: TestClient, keys: Keys) -> None:
    report = client.get("/v1/reports/fairness", headers={**keys.evaluator, "Accept": "text/html"})
    if report.status_code == 200:
        assert report.headers["content-security-policy"] == REPORT_CSP
        _assert_private(report)
    headers = dict(safety_headers("/v1/reports/fairness", [(b"content-type", b"text/html")]))
    assert headers[b"content-security-policy"] == REPORT_CSP.encode()
    assert "script" not in REPORT_CSP


def test_public_answers_are_not_sniffed(client: TestClient) -> None:
    response = client.get("/health/live")
    assert response.headers["x-content-type-options"] == "nosniff"
