"""Every route against every role and unit: 401, 403 and 404 as SPEC §3 says (issue 7).

The table below is the access policy. A route missing from it (or a route
that the app has and the table does not) fails `test_the_table_covers_every_route`,
so a new route cannot ship without a decided rule; `create_app` itself
refuses a route without `api.deps.access`.
"""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.deps import ROLES_KEY
from tests.api.conftest import Keys, recommend

EVERYONE = {"caseworker", "evaluator", "data_scientist", "admin"}
PUBLIC = {"public"}

POLICY: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/recommendations"): {"caseworker"},
    ("POST", "/v1/decisions"): {"caseworker"},
    ("GET", "/v1/decisions"): {"caseworker", "admin"},
    ("GET", "/v1/decisions/{decision_id}"): {"caseworker", "admin"},
    ("GET", "/v1/services"): EVERYONE,
    ("GET", "/v1/model"): EVERYONE,
    ("GET", "/v1/reports/fairness"): {"evaluator", "admin"},
    ("GET", "/v1/audit"): {"evaluator", "admin"},
    ("POST", "/v1/admin/pause"): {"admin"},
    ("POST", "/v1/admin/resume"): {"admin"},
    ("POST", "/v1/admin/reload"): {"admin"},
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
}


def test_the_table_covers_every_route(app: FastAPI) -> None:
    """Every operation of the OpenAPI document, with the roles it declares."""
    operations = {
        (method.upper(), path): operation
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) == set(POLICY)
    for key, operation in operations.items():
        assert set(operation[ROLES_KEY]) == POLICY[key], key


def test_a_route_without_a_rule_is_refused() -> None:
    from fastapi import APIRouter

    from api.main import _require_access_rules

    stray = APIRouter()

    @stray.get("/v1/stray")
    def _stray() -> None: ...

    with pytest.raises(RuntimeError, match="GET /v1/stray"):
        _require_access_rules((stray,))


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    url = path.replace("{decision_id}", str(uuid.uuid4()))
    if method == "POST":
        extra = {"Idempotency-Key": str(uuid.uuid4())} if path == "/v1/decisions" else {}
        return client.post(url, json={}, headers={**headers, **extra}).status_code
    return client.get(url, headers=headers).status_code


@pytest.mark.parametrize(("method", "path"), sorted(POLICY))
def test_every_route_against_every_role(
    client: TestClient, keys: Keys, method: str, path: str
) -> None:
    allowed = POLICY[(method, path)]
    if allowed == PUBLIC:
        assert _call(client, method, path, {}) not in (401, 403)
        return
    assert _call(client, method, path, {}) == 401
    assert (
        _call(client, method, path, {"Authorization": "Bearer plk_k000000000000_" + "A" * 43})
        == 401
    )
    assert _call(client, method, path, {"Authorization": "Basic dXNlcjpwYXNz"}) == 401
    for role, headers in keys.by_role().items():
        status = _call(client, method, path, headers)
        if role in allowed:
            assert status not in (401, 403), (role, status)
        else:
            assert status == 403, (role, status)


def test_401_says_how_to_authenticate(client: TestClient) -> None:
    response = client.get("/v1/model")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


def test_a_revoked_key_is_refused_at_once(client: TestClient, keys: Keys, app: FastAPI) -> None:
    from api.auth import revoke

    assert client.get("/v1/model", headers=keys.data_scientist).status_code == 200
    assert revoke(app.state.engine, key_id=keys.ids["data_scientist"])
    assert client.get("/v1/model", headers=keys.data_scientist).status_code == 401
    assert not revoke(app.state.engine, key_id=keys.ids["data_scientist"])


def test_demo_keys_work_only_where_allowed(
    client: TestClient, app: FastAPI, settings: object
) -> None:
    from api.auth import authenticate, create_key

    demo = create_key(app.state.engine, role="caseworker", unit="demo", demo=True)
    assert (
        client.get("/v1/model", headers={"Authorization": f"Bearer {demo.key}"}).status_code == 200
    )
    assert authenticate(app.state.engine, demo.key, allow_demo=False) is None


def test_another_units_audit_and_decisions_stay_hidden_from_caseworkers(
    client: TestClient, keys: Keys
) -> None:
    answer = recommend(client, keys.other_unit)
    body = {
        "request_id": answer["request_id"],
        "chosen_service": answer["recommendations"][0]["service"],
    }
    made = client.post(
        "/v1/decisions", json=body, headers={**keys.other_unit, "Idempotency-Key": "a"}
    ).json()
    assert (
        client.get(f"/v1/decisions/{made['decision_id']}", headers=keys.caseworker).status_code
        == 404
    )
    assert client.get("/v1/decisions", headers=keys.caseworker).json()["items"] == []
    assert client.get("/v1/audit", headers=keys.caseworker).status_code == 403
