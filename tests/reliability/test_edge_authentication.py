"""The key is checked before the body is read; refusals stay short; large bodies leave the loop.

A caller without a valid key must not make the server receive, parse or
validate its body: the app is called as an ASGI application whose
`receive` fails the request if it is ever awaited. A body of thousands of
wrong fields gets the first errors and a count, not one entry each. A
large body is validated in a worker thread, not on the server's loop.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import orjson
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, field_validator

from api.problems import MAX_ERRORS
from api.routing import LARGE_BODY_BYTES, LargeBodiesOffLoop
from tests.support.api_requests import Keys, request_body

pytestmark = pytest.mark.one_app_per_module


def _call(app: FastAPI, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes, int]:
    """(status, body, times `receive` was awaited) of one request whose body is never sent."""
    received = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        await asyncio.sleep(0)
        return {"type": "http.request", "body": b"{" + b'"x":1,' * 10, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", b"200000"),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, received


@pytest.mark.parametrize("path", ["/v1/recommendations", "/v1/decisions", "/v1/admin/pause"])
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer plk_k000000000000_" + "A" * 43, "Basic dXNlcjpwYXNz", "Bearer"],
    ids=["no key", "unknown key", "another scheme", "empty bearer"],
)
def test_no_body_is_read_before_the_key_is_checked(
    app: FastAPI, client: TestClient, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    status, body, received = _call(app, "POST", path, headers)
    assert status == 401, body
    assert orjson.loads(body)["type"] == "urn:polku:problem:unauthenticated"
    assert received == 0


def test_a_revoked_key_reads_no_body_either(app: FastAPI, client: TestClient) -> None:
    from api.auth import create_key, revoke

    key = create_key(app.state.engine, role="caseworker", unit="espoo-revoked")
    revoke(app.state.engine, key_id=key.key_id)
    status, _, received = _call(
        app, "POST", "/v1/recommendations", {"Authorization": f"Bearer {key.key}"}
    )
    assert (status, received) == (401, 0)


def test_thousands_of_unknown_fields_get_the_first_errors_and_a_count(
    client: TestClient, keys: Keys
) -> None:
    body = request_body()
    body["client"] = {**body["client"], **{f"unknown_{i}": i for i in range(3000)}}
    response = client.post("/v1/recommendations", json=body, headers=keys.caseworker)
    assert response.status_code == 422
    problem = response.json()
    assert len(problem["errors"]) == MAX_ERRORS
    assert problem["errors_total"] == 3000
    assert f"the first {MAX_ERRORS} of 3000" in problem["detail"]
    assert len(response.content) < 20_000


def test_a_few_errors_are_listed_without_a_count(client: TestClient, keys: Keys) -> None:
    response = client.post(
        "/v1/recommendations", json=request_body(k=0, language="xx"), headers=keys.caseworker
    )
    assert response.status_code == 422
    assert len(response.json()["errors"]) == 2
    assert "errors_total" not in response.json()


def test_an_unauthenticated_large_body_is_refused_unread_by_a_real_client(
    client: TestClient,
) -> None:
    body = request_body()
    body["client"] = {**body["client"], **{f"unknown_{i}": i for i in range(12000)}}
    content = orjson.dumps(body)
    assert LARGE_BODY_BYTES < len(content) < 262_144
    response = client.post(
        "/v1/recommendations", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert "errors" not in response.json()


class _Recorded(BaseModel):
    items: list[int]

    @field_validator("items")
    @classmethod
    def _where(cls, value: list[int]) -> list[int]:
        _threads.append(threading.get_ident())
        return value


_threads: list[int] = []


def test_a_large_body_is_validated_off_the_event_loop() -> None:
    router = APIRouter(route_class=LargeBodiesOffLoop)
    loop_threads: list[int] = []

    @router.post("/echo")
    async def echo(body: _Recorded) -> dict[str, int]:
        return {"n": len(body.items)}

    app = FastAPI()
    app.include_router(router)

    @app.middleware("http")
    async def note_loop_thread(request: Any, call_next: Any) -> Any:
        loop_threads.append(threading.get_ident())
        return await call_next(request)

    small = {"items": [1, 2, 3]}
    large = {"items": list(range(LARGE_BODY_BYTES // 3))}
    assert len(orjson.dumps(large)) > LARGE_BODY_BYTES
    with TestClient(app) as http:
        _threads.clear()
        assert http.post("/echo", json=small).json() == {"n": 3}
        assert _threads == [loop_threads[-1]]
        _threads.clear()
        assert http.post("/echo", json=large).json() == {"n": len(large["items"])}
        assert _threads and _threads[0] != loop_threads[-1]
