"""Errors are problem details with the right status and the request id (docs/api.md).

The module's tests share one app and database: what a test stores is
compared with what the tables held before it, and a decision that is stored
has an idempotency key of its own.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.storage.tables import audit_events, decisions
from tests.support.api_requests import Keys, request_body

pytestmark = pytest.mark.one_app_per_module

PROBLEM = "application/problem+json"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "request_id"} <= set(body)
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    text = response.text
    for leak in ("Traceback", 'File "', "sqlalchemy", "SELECT ", "/work/", "site-packages"):
        assert leak not in text
    return body


def _stored(app: FastAPI) -> tuple[int, int]:
    with app.state.engine.connect() as connection:
        return (
            connection.execute(select(func.count()).select_from(audit_events)).scalar_one(),
            connection.execute(select(func.count()).select_from(decisions)).scalar_one(),
        )


def test_malformed_json_is_400(client: TestClient, keys: Keys) -> None:
    headers = {**keys.caseworker, "Content-Type": "application/json"}
    body = _problem(
        client.post("/v1/recommendations", content=b'{"client": ', headers=headers), 400
    )
    assert body["type"] == "urn:polku:problem:malformed-json"


def test_wrong_content_type_is_415(client: TestClient, keys: Keys) -> None:
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        headers = {**keys.caseworker, "Content-Type": content_type}
        _problem(
            client.post("/v1/recommendations", content=json.dumps(request_body()), headers=headers),
            415,
        )
    ok = client.post(
        "/v1/recommendations",
        content=json.dumps(request_body()),
        headers={**keys.caseworker, "Content-Type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 200


def test_a_body_over_the_limit_is_413_before_anything_else(
    client: TestClient, keys: Keys, app: FastAPI
) -> None:
    before = _stored(app)
    big = request_body()
    big["client"]["citizenship_region"] = "x" * 300_000
    body = _problem(client.post("/v1/recommendations", json=big, headers=keys.caseworker), 413)
    assert body["type"] == "urn:polku:problem:body-too-large"
    _problem(client.post("/v1/recommendations", json=big), 413)  # no key needed to be refused

    def chunks() -> Any:
        for _ in range(40):
            yield b" " * 10_000

    chunked = client.post(
        "/v1/recommendations",
        content=chunks(),
        headers={**keys.caseworker, "Content-Type": "application/json"},
    )
    _problem(chunked, 413)
    assert _stored(app) == before


def test_unknown_fields_are_422_with_their_path(client: TestClient, keys: Keys) -> None:
    body = request_body()
    body["client"]["favourite_colour"] = "blue"
    body["episodes"][1]["cost"] = 3
    problem = _problem(client.post("/v1/recommendations", json=body, headers=keys.caseworker), 422)
    assert {e["field"] for e in problem["errors"]} == {"client.favourite_colour", "episodes.1.cost"}
    assert {e["code"] for e in problem["errors"]} == {"extra_forbidden"}


def test_values_are_never_echoed(client: TestClient, keys: Keys) -> None:
    marker = "MARKER-echo-1234"
    body = request_body()
    body["client"]["gender"] = marker
    body["client"]["birth_year"] = marker
    body["k"] = marker
    response = client.post("/v1/recommendations", json=body, headers=keys.caseworker)
    _problem(response, 422)
    assert marker not in response.text


def test_unknown_route_and_method_are_problems(client: TestClient, keys: Keys) -> None:
    assert (
        _problem(client.get("/v1/nothing", headers=keys.admin), 404)["type"]
        == "urn:polku:problem:not-found"
    )
    _problem(client.delete("/v1/decisions", headers=keys.admin), 405)


@pytest.mark.parametrize(
    "value",
    ["\u0000", "\u001b[31m", "\ud800", "' OR 1=1 --", "<script>alert(1)</script>", "😀" * 600],
)
def test_hostile_comments_never_cause_a_500(
    client: TestClient, keys: Keys, app: FastAPI, value: str
) -> None:
    answer = client.post("/v1/recommendations", json=request_body(), headers=keys.caseworker).json()
    body = {
        "request_id": answer["request_id"],
        "chosen_service": answer["recommendations"][0]["service"],
        "comment": value,
    }
    raw = json.dumps(body).encode()  # json.dumps escapes a lone surrogate as \\ud800
    decisions_before = _stored(app)[1]
    response = client.post(
        "/v1/decisions",
        content=raw,
        headers={
            **keys.caseworker,
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        _problem(response, 422)
        assert _stored(app)[1] == decisions_before
    else:
        assert response.json()["comment"] == value


def test_an_unexpected_error_is_a_500_problem_and_logs_no_values(
    client: TestClient,
    keys: Keys,
    app: FastAPI,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import api.recommendations.service as service

    marker = "-".join(("MARKER", "500", "leak"))  # not in any source line the traceback shows

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"client {marker} broke it")

    monkeypatch.setattr(service, "features_of", broken)
    caplog.set_level(logging.INFO)
    body = _problem(
        client.post("/v1/recommendations", json=request_body(), headers=keys.caseworker), 500
    )
    assert body["type"] == "urn:polku:problem:internal"
    assert marker not in caplog.text
    assert "internal error RuntimeError" in caplog.text
    assert body["request_id"] in caplog.text


def test_unknown_query_parameters_are_422(client: TestClient, keys: Keys) -> None:
    problem = _problem(
        client.get("/v1/decisions", params={"limit": 5, "units": "all"}, headers=keys.admin), 422
    )
    assert problem["errors"] == [
        {
            "location": "query",
            "field": "units",
            "message": "unknown query parameter",
            "code": "extra_forbidden",
        }
    ]
    assert client.get("/health/ready", params={"verbose": "1"}).status_code == 422


def test_times_in_queries_are_iso_8601_only(client: TestClient, keys: Keys) -> None:
    for value in ("0.5", "1714521600", "yesterday", "2024-13-01T00:00:00Z"):
        problem = _problem(
            client.get("/v1/audit", params={"since": value}, headers=keys.admin), 422
        )
        assert problem["errors"][0]["field"] == "since"
    for value in (
        "2024-05-01",
        "2024-05-01T00:00:00Z",
        "2024-05-01T03:00:00+03:00",
        "2024-05-01T00:00",
    ):
        assert (
            client.get("/v1/audit", params={"since": value}, headers=keys.admin).status_code == 200
        )


def test_405_lists_every_method_of_the_resource(client: TestClient, keys: Keys) -> None:
    response = client.put("/v1/decisions", headers=keys.admin)
    _problem(response, 405)
    assert response.headers["allow"] == "GET, POST"


def test_caller_chosen_names_are_not_logged(
    client: TestClient, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = request_body()
    body["client"]["extras"] = {"MARKER key 42": 1}
    body["client"]["MARKER-field"] = 1
    assert client.post("/v1/recommendations", json=body, headers=keys.caseworker).status_code == 422
    assert (
        client.get("/v1/decisions", params={"MARKER-q": "1"}, headers=keys.admin).status_code == 422
    )
    server = [
        r.getMessage() for r in caplog.records if not r.name.startswith("httpx")
    ]  # the test's own client
    assert any("request refused" in line for line in server)
    assert not [line for line in server if "MARKER" in line]


def test_a_missing_body_says_so(client: TestClient, keys: Keys) -> None:
    for content in (b"", None):
        response = client.post(
            "/v1/recommendations",
            content=content,
            headers={**keys.caseworker, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [
            {
                "location": "body",
                "field": "",
                "message": "a JSON body is required",
                "code": "missing",
            }
        ]
