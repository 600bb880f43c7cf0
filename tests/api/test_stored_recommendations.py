"""A recommendation read back from the audit log, and the client's explanation of it."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.api.conftest import Keys, recommend


def test_a_recommendation_reads_back_as_it_was_answered(client: TestClient, keys: Keys) -> None:
    answer = recommend(client, keys.caseworker, language="sv", k=2)
    path = f"/v1/recommendations/{answer['request_id']}"
    response = client.get(path, headers=keys.caseworker)
    assert response.status_code == 200
    stored = response.json()
    assert {key: stored[key] for key in answer} == answer
    assert stored["language"] == "sv" and stored["k"] == 2
    assert stored["answered_at"].endswith("Z")
    assert client.get(path, headers=keys.admin).status_code == 200


def test_another_units_recommendation_is_not_found(client: TestClient, keys: Keys) -> None:
    answer = recommend(client, keys.caseworker)
    for path in (
        f"/v1/recommendations/{answer['request_id']}",
        f"/v1/recommendations/{answer['request_id']}/explanation",
        f"/v1/recommendations/{uuid.uuid4()}",
    ):
        response = client.get(path, headers=keys.other_unit)
        assert response.status_code == 404, path
        assert "your unit" in response.json()["detail"]
    evaluator = client.get(f"/v1/recommendations/{answer['request_id']}", headers=keys.evaluator)
    assert evaluator.status_code == 403


def test_the_clients_explanation_tells_what_and_who_decided(client: TestClient, keys: Keys) -> None:
    answer = recommend(client, keys.caseworker)
    first = answer["recommendations"][0]
    path = f"/v1/recommendations/{answer['request_id']}/explanation"
    page = client.get(path, headers=keys.caseworker)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert '<html lang="fi">' in html and first["name"] in html
    assert "Päätöstä ei ole vielä kirjattu" in html
    assert "%" not in html and "p_outcome" not in html  # no scores the client cannot read
    other = answer["recommendations"][1]["service"]
    decided = client.post(
        "/v1/decisions",
        json={
            "request_id": answer["request_id"],
            "chosen_service": other,
            "reason_code": "client_preference",
        },
        headers={**keys.caseworker, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert decided.status_code == 201
    english = client.get(path, params={"language": "en"}, headers=keys.caseworker).text
    assert '<html lang="en">' in english
    assert "The caseworker chose another service" in english
    assert "the client&#39;s preference" in english
    swedish = client.get(path, params={"language": "sv"}, headers=keys.caseworker).text
    assert "Handledaren valde en annan tjänst" in swedish
    refused = client.get(path, params={"language": "de"}, headers=keys.caseworker)
    assert refused.status_code == 422
