"""Every route against every role and unit: 401, 403 and 404 as docs/api.md says.

The table below is the access policy. It is compared with the app's own
route table (`app.routes`, walked through included routers, so a route
added on the app itself or hidden from the OpenAPI document counts too): a
route missing from it, or one the app no longer has, fails
`test_the_table_covers_every_route`, so a new route cannot ship without a
decided rule; `create_app` itself refuses a router route without
`api.deps.access`.
"""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from api.deps import ROLES_KEY
from tests.support.api_requests import Keys, recommend, request_body

EVERYONE = {"caseworker", "planner", "evaluator", "data_scientist", "admin"}
PUBLIC = {"public"}
# The console's pages sign in with a session cookie; their rules (caseworker
# pages, the decision list for caseworkers and admins, the reports for the
# roles that read them at the API, CSRF on every form, one unit per session)
# are tested in tests/api/test_console.py and test_console_reports.py.
CONSOLE = {"console session"}

POLICY: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/recommendations"): {"caseworker"},
    ("POST", "/v1/plans"): {"planner", "admin"},
    ("POST", "/v1/decisions"): {"caseworker"},
    ("GET", "/v1/recommendations/{request_id}"): {"caseworker", "admin"},
    ("GET", "/v1/recommendations/{request_id}/explanation"): {"caseworker", "admin"},
    ("GET", "/v1/decisions"): {"caseworker", "admin"},
    ("GET", "/v1/decisions/{decision_id}"): {"caseworker", "admin"},
    ("GET", "/v1/services"): EVERYONE,
    ("GET", "/v1/model"): EVERYONE,
    ("GET", "/v1/reports/fairness"): {"evaluator", "admin"},
    ("GET", "/v1/reports/services"): {"evaluator", "admin"},
    ("GET", "/v1/reports/followup"): {"evaluator", "admin"},
    ("GET", "/v1/audit"): {"evaluator", "admin"},
    ("GET", "/v1/audit/plans"): {"evaluator", "admin"},
    ("POST", "/v1/admin/pause"): {"admin"},
    ("POST", "/v1/admin/resume"): {"admin"},
    ("POST", "/v1/admin/reload"): {"admin"},
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    # FastAPI's documentation routes: the document and its viewers, no data
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("?", "/docs/static"): PUBLIC,  # Swagger UI and ReDoc files, served from the package
    ("?", "/console/static"): PUBLIC,  # the console's stylesheet, script and icon
    ("GET", "/console"): CONSOLE,
    ("GET", "/console/"): CONSOLE,
    ("GET", "/console/sign-in"): PUBLIC,
    ("POST", "/console/sign-in"): CONSOLE,  # the key in the form, with the sign-in form's token
    ("POST", "/console/sign-out"): CONSOLE,
    ("GET", "/console/client"): CONSOLE,
    ("POST", "/console/client"): CONSOLE,
    ("POST", "/console/client/json"): CONSOLE,
    ("POST", "/console/client/csv"): CONSOLE,
    ("GET", "/console/requests/{request_id}"): CONSOLE,
    ("POST", "/console/requests/{request_id}/decision"): CONSOLE,
    ("GET", "/console/requests/{request_id}/explanation"): CONSOLE,
    ("GET", "/console/decisions"): CONSOLE,
    ("GET", "/console/reports"): CONSOLE,
    ("GET", "/console/reports/{name}"): CONSOLE,
}
ROLES = ("caseworker", "planner", "evaluator", "data_scientist", "admin")


def route_table(routes: list[object]) -> dict[tuple[str, str], object]:
    """(method, path) of every endpoint of the app, through included routers; HEAD aside."""
    table: dict[tuple[str, str], object] = {}
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI keeps an included router as one entry
            prefix = route.include_context.prefix  # type: ignore[attr-defined]
            for (method, path), inner in route_table(list(included.routes)).items():
                table[(method, prefix + path)] = inner
        elif isinstance(route, Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    table[(method, route.path)] = route
        else:  # a mount or websocket would need a rule of its own
            table[("?", getattr(route, "path", repr(route)))] = route
    return table


def test_the_table_covers_every_route(app: FastAPI) -> None:
    """Every endpoint of the app's route table, with the roles it declares."""
    routes = route_table(list(app.routes))
    assert set(routes) == set(POLICY)
    for key, route in routes.items():
        if key[1].startswith("/console") and key[0] != "?":
            assert isinstance(route, APIRoute) and not route.include_in_schema, key
            continue
        declared = (
            set((route.openapi_extra or {}).get(ROLES_KEY, ()))
            if isinstance(route, APIRoute)
            else PUBLIC
        )
        assert declared == POLICY[key], key
    operations = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    assert operations <= set(POLICY)  # and the document shows no endpoint the app lacks


def test_a_route_without_a_rule_is_refused() -> None:
    from fastapi import APIRouter

    from api.main import _require_access_rules

    stray = APIRouter()

    @stray.get("/v1/stray")
    def _stray() -> None: ...

    with pytest.raises(RuntimeError, match="GET /v1/stray"):
        _require_access_rules((stray,))


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    url = path.replace("{decision_id}", str(uuid.uuid4())).replace(
        "{request_id}", str(uuid.uuid4())
    )
    if method == "POST":
        extra = {"Idempotency-Key": str(uuid.uuid4())} if path == "/v1/decisions" else {}
        return client.post(url, json={}, headers={**headers, **extra}).status_code
    return client.get(url, headers=headers).status_code


@pytest.mark.parametrize(
    ("method", "path"), sorted(key for key, rule in POLICY.items() if rule != CONSOLE)
)
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


def test_another_units_records_by_every_role_and_unit(client: TestClient, keys: Keys) -> None:
    """Records of unit espoo-b, asked for by every role and both caseworker units.

    A caseworker of another unit gets 404, the same answer as for an id that
    does not exist (so ids cannot be probed); roles without the route get
    403 before any lookup; admin sees every unit.
    """
    answer = recommend(client, keys.other_unit)
    request_id = answer["request_id"]
    decision = {"request_id": request_id, "chosen_service": answer["recommendations"][0]["service"]}
    made = client.post(
        "/v1/decisions", json=decision, headers={**keys.other_unit, "Idempotency-Key": "b1"}
    )
    assert made.status_code == 201
    decision_id = made.json()["decision_id"]
    callers = {"caseworker (espoo-a)": keys.caseworker, "caseworker (espoo-b)": keys.other_unit}
    callers |= {role: keys.by_role()[role] for role in ROLES if role != "caseworker"}
    expected = {
        # caller: (GET one, POST a decision on it, items in GET list by request_id, GET audit)
        "caseworker (espoo-a)": (404, 404, 0, 403),
        "caseworker (espoo-b)": (200, 201, 2, 403),
        "planner": (403, 403, None, 403),
        "evaluator": (403, 403, None, 200),
        "data_scientist": (403, 403, None, 403),
        "admin": (200, 403, 2, 200),
    }
    missing = client.get(f"/v1/decisions/{uuid.uuid4()}", headers=keys.caseworker).json()
    for number, (name, headers) in enumerate(callers.items()):
        one = client.get(f"/v1/decisions/{decision_id}", headers=headers)
        post = client.post(
            "/v1/decisions",
            json={**decision, "comment": name},
            headers={**headers, "Idempotency-Key": f"k{number}"},
        )
        listed = client.get("/v1/decisions", params={"request_id": request_id}, headers=headers)
        audit = client.get("/v1/audit", headers=headers)
        get_status, post_status, items, audit_status = expected[name]
        assert (one.status_code, post.status_code, audit.status_code) == (
            get_status,
            post_status,
            audit_status,
        ), name
        if items is None:
            assert listed.status_code == 403, name
        else:
            assert len(listed.json()["items"]) == items, name
        if get_status == 404:
            body = one.json()
            assert (body["type"], body["detail"]) == (missing["type"], missing["detail"])
            assert decision_id not in one.text and request_id not in post.text
    # a caseworker cannot widen the scope with the admin's filter
    widened = client.get("/v1/decisions", params={"unit": "espoo-b"}, headers=keys.caseworker)
    assert widened.status_code == 200 and widened.json()["items"] == []
    by_admin = client.get("/v1/decisions", params={"unit": "espoo-b"}, headers=keys.admin)
    assert {item["unit"] for item in by_admin.json()["items"]} == {"espoo-b"}


@pytest.mark.parametrize("body_ok", [True, False], ids=["valid body", "refused body"])
def test_the_route_that_checks_its_caller_itself_answers_in_the_same_order(
    client: TestClient, keys: Keys, app: FastAPI, body_ok: bool
) -> None:
    """POST /v1/recommendations checks the key in its own thread (api.deps, `in_route`).

    Whether or not the body would pass, a caller learns nothing about it
    before the key and role pass: 401, then 403, then an unknown query
    parameter, then the body; a revoked key is refused at once.
    """
    from api.auth import create_key, revoke

    body = request_body() if body_ok else {**request_body(), "k": "many"}

    def post(headers: dict[str, str], params: dict[str, str] | None = None) -> int:
        response = client.post("/v1/recommendations", json=body, headers=headers, params=params)
        return response.status_code

    assert post({}) == 401
    assert post({"Authorization": "Basic dXNlcjpwYXNz"}) == 401
    assert post({"Authorization": "Bearer plk_k000000000000_" + "A" * 43}) == 401
    assert post(keys.evaluator) == 403
    assert post(keys.admin, params={"unknown": "1"}) == 403
    assert post({}, params={"unknown": "1"}) == 401
    refused = client.post(
        "/v1/recommendations", json=body, headers=keys.caseworker, params={"unknown": "1"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["location"] == "query"
    assert post(keys.caseworker) == (200 if body_ok else 422)

    fresh = create_key(app.state.engine, role="caseworker", unit="espoo-a")
    headers = {"Authorization": f"Bearer {fresh.key}"}
    assert post(headers) == (200 if body_ok else 422)
    assert revoke(app.state.engine, key_id=fresh.key_id)
    assert post(headers) == 401
