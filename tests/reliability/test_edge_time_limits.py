"""Times at the edges of the calendar are refused on their field (422), never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api_requests import Keys

pytestmark = pytest.mark.one_app_per_module

EDGES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


@pytest.mark.parametrize("value", EDGES)
@pytest.mark.parametrize("parameter", ["since", "until"])
@pytest.mark.parametrize(
    ("path", "role"), [("/v1/audit", "evaluator"), ("/v1/decisions", "caseworker")]
)
def test_a_time_outside_utc_range_is_a_422_on_its_field(
    client: TestClient, keys: Keys, path: str, role: str, parameter: str, value: str
) -> None:
    response = client.get(path, params={parameter: value}, headers=keys.by_role()[role])
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["location"], e["field"]) for e in errors] == [("query", parameter)]


def test_the_last_representable_times_still_work(client: TestClient, keys: Keys) -> None:
    response = client.get(
        "/v1/audit",
        params={"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"},
        headers=keys.evaluator,
    )
    assert response.status_code == 200, response.text
