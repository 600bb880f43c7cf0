"""Request limits: per key, per address on failed keys, decisions per recommendation, audit growth."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.limits import AuditGrowth, FailureWindow, KeyRate
from api.main import create_app
from api.settings import Settings
from tests.support.api_requests import Keys, create_keys, recommend


@pytest.fixture
def limited(settings: Settings) -> Iterator[tuple[FastAPI, TestClient, Keys]]:
    app = create_app(
        settings.model_copy(
            update={
                "key_rate_limit": 2.0,
                "auth_failure_limit": 3,
                "max_decisions_per_recommendation": 2,
                "audit_alert_per_minute": 1,
            }
        )
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client, create_keys(app.state.engine)


def test_the_defaults_are_off_in_development_and_on_in_production() -> None:
    development = Settings()
    assert (development.key_requests_per_second, development.auth_failures_per_minute) == (0, 0)
    production = Settings(
        env="production",
        allow_demo_keys=False,
        database_url="sqlite:////srv/p.db",
        data_dir=Path("/srv/polku"),  # the checkout itself may sit in a temporary folder
    )
    assert (production.key_requests_per_second, production.auth_failures_per_minute) == (20, 30)
    chosen = production.model_copy(update={"key_rate_limit": 0.0})
    assert chosen.key_requests_per_second == 0


def test_a_key_over_its_rate_gets_429_with_retry_after(
    limited: tuple[FastAPI, TestClient, Keys],
) -> None:
    _, client, keys = limited
    answers = [client.get("/v1/decisions", headers=keys.caseworker) for _ in range(6)]
    statuses = [a.status_code for a in answers]
    assert statuses[:2] == [200, 200] and 429 in statuses, statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["type"] == "urn:polku:problem:rate-limited"
    assert client.get("/v1/decisions", headers=keys.other_unit).status_code == 200


def test_an_address_with_too_many_failed_keys_is_held_off(
    limited: tuple[FastAPI, TestClient, Keys],
) -> None:
    app, client, keys = limited
    wrong = {"Authorization": "Bearer plk_k000000000000_" + "A" * 43}
    assert [client.get("/v1/decisions", headers=wrong).status_code for _ in range(3)] == [401] * 3
    held = client.get("/v1/decisions", headers=keys.caseworker)
    assert held.status_code == 429 and int(held.headers["retry-after"]) >= 1
    with TestClient(app, client=("192.0.2.7", 50000)) as elsewhere:
        assert elsewhere.get("/v1/decisions", headers=keys.caseworker).status_code == 200


def test_a_recommendation_takes_a_bounded_number_of_decisions(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"max_decisions_per_recommendation": 2}))
    with TestClient(app, raise_server_exceptions=False) as client:
        keys = create_keys(app.state.engine)
        answer = recommend(client, keys.caseworker)
        body = {
            "request_id": answer["request_id"],
            "chosen_service": answer["recommendations"][0]["service"],
        }
        answers = [
            client.post(
                "/v1/decisions",
                json=body,
                headers={**keys.caseworker, "Idempotency-Key": str(uuid.uuid4())},
            )
            for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [201, 201, 409]
    assert answers[2].json()["type"] == "urn:polku:problem:too-many-decisions"


def test_fast_audit_growth_is_logged_once_a_minute(
    limited: tuple[FastAPI, TestClient, Keys], caplog: pytest.LogCaptureFixture
) -> None:
    _, client, keys = limited
    with caplog.at_level(logging.WARNING, logger="api.limits"):
        recommend(client, keys.caseworker)
        recommend(client, keys.other_unit)
    assert any("audit log growing fast" in r.getMessage() for r in caplog.records)


def test_the_limiters_count_as_documented(caplog: pytest.LogCaptureFixture) -> None:
    rate = KeyRate(2.0)
    assert [rate.wait("k", now=0.0) for _ in range(3)] == [0.0, 0.0, pytest.approx(0.5)]
    assert rate.wait("k", now=0.5) == 0.0
    assert KeyRate(0).wait("k") == 0.0
    failures = FailureWindow(2)
    failures.failed("a", now=0.0)
    failures.failed("a", now=10.0)
    assert failures.wait("a", now=20.0) == pytest.approx(40.0)
    assert failures.wait("a", now=61.0) == 0.0
    assert failures.wait("b", now=20.0) == 0.0
    growth = AuditGrowth(2)
    with caplog.at_level(logging.WARNING, logger="api.limits"):
        for _ in range(10):
            growth.written(now=120.0)
        growth.written(now=185.0)
    assert len([r for r in caplog.records if "growing fast" in r.getMessage()]) == 1


def _console_attempt(client: TestClient, key: str) -> int:
    form = client.get("/console/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    response = client.post(
        "/console/sign-in",
        data={"key": key, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    return response.status_code


def test_failed_console_sign_ins_count_against_the_address(
    limited: tuple[FastAPI, TestClient, Keys],
) -> None:
    _, client, keys = limited
    assert [_console_attempt(client, "plk_nonsense") for _ in range(3)] == [401] * 3
    good = keys.caseworker["Authorization"].removeprefix("Bearer ")
    assert _console_attempt(client, good) == 429
    assert client.get("/v1/decisions", headers=keys.caseworker).status_code == 429
