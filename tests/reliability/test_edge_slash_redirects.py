"""A stray trailing slash is not found: no redirect built from a Host header the caller chose."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api_requests import Keys

pytestmark = pytest.mark.one_app_per_module


@pytest.mark.parametrize(
    ("path", "role"),
    [("/v1/audit/", "evaluator"), ("/v1/decisions/", "caseworker"), ("/v1/model/", "admin")],
)
def test_a_trailing_slash_is_not_redirected(
    client: TestClient, keys: Keys, path: str, role: str
) -> None:
    headers = {**keys.by_role()[role], "Host": "evil.example"}
    response = client.get(path, headers=headers, follow_redirects=False)
    assert response.status_code == 404, response.headers
    assert "location" not in response.headers
    assert "evil.example" not in response.text


def test_without_a_key_the_answer_is_401_and_no_redirect(client: TestClient) -> None:
    response = client.get("/v1/audit/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 401
    assert "location" not in response.headers


def test_health_with_a_slash_is_not_redirected(client: TestClient) -> None:
    response = client.get("/health/live/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers
