"""Bodies the JSON parser gives up on are the documented `malformed-json` problem (400)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api_requests import Keys

pytestmark = pytest.mark.one_app_per_module

BODIES = {
    "5000-digit integer": b'{"k": ' + b"9" * 5000 + b"}",
    "invalid UTF-8": b'{"k": "\xff\xfe\xfa"}',
    "100000-deep nesting": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
@pytest.mark.parametrize("path", ["/v1/recommendations", "/v1/decisions"])
def test_an_unparsable_body_is_malformed_json(
    client: TestClient, keys: Keys, path: str, body: bytes
) -> None:
    headers = {**keys.caseworker, "Content-Type": "application/json", "Idempotency-Key": "k-1"}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == "urn:polku:problem:malformed-json"
    assert "error parsing" not in problem["detail"]
