"""/health/ready tells anyone only whether the service is ready; details need a key."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api_requests import Keys

pytestmark = pytest.mark.one_app_per_module


def test_without_a_key_readiness_is_only_a_status(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer plk_k000000000000_" + "A" * 43}):
        response = client.get("/health/ready", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"status": "ready"}


def test_with_a_key_of_any_role_readiness_has_its_details(client: TestClient, keys: Keys) -> None:
    for headers in keys.by_role().values():
        body = client.get("/health/ready", headers=headers).json()
        assert body["status"] == "ready"
        assert body["model"]["name"] and body["model"]["version"]
        assert body["database"] == "ok" and body["reasons"] == []
