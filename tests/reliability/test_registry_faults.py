"""Model registry faults on a real MLflow store: serve the last good model or nothing.

tests/api/test_serving.py covers a reload to a version failing its golden
cases and to an unloadable one (outcome `kept`), and a start with the
registry unreachable or empty. This module adds the faults beyond
those: a start whose alias names a bad version (never served, not ready,
503 with Retry-After, readiness and logs say why); the registry lost while
a good model serves (it keeps serving); recommendations that keep coming
from the last good version after each kind of failure, with readiness and
the log naming the cause; and a failed first load that heals by itself
when the alias is fixed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import create_key
from api.main import create_app, registry_source
from api.settings import Settings
from tests.support.api_requests import request_body
from tests.support.reload_versions import ReloadVersions
from training.registry.store import configure

ALIAS = "champion"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens


@pytest.fixture
def fast_failing_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # MLflow retries an unreachable server for minutes by default
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")


def _headers(app: FastAPI, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(app.state.engine, role=role, unit='a').key}"}


def _reload_settings(settings: Settings, versions: ReloadVersions, version: str) -> Settings:
    versions.point(ALIAS, version)
    return settings.model_copy(update={"model_name": versions.name})


def _assert_refuses_to_rank(client: TestClient, worker: dict[str, str]) -> None:
    refused = client.post("/v1/recommendations", json=request_body(), headers=worker)
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "5"
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:polku:problem:model-unavailable"
    assert "recommendations" not in refused.json()  # never a default ranking


@pytest.mark.parametrize("bad", ["golden_fails", "broken"])
def test_an_alias_on_a_bad_version_at_start_is_never_served(
    settings: Settings,
    reload_versions: ReloadVersions,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    bad: str,
) -> None:
    caplog.set_level(logging.INFO)
    app = create_app(_reload_settings(settings, reload_versions, getattr(reload_versions, bad)))
    with TestClient(app) as client:
        worker = _headers(app, "caseworker")
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready", headers=worker)
        assert ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
        assert ready.json()["model"] is None
        reason = ready.json()["reasons"][0]
        assert ("golden cases" if bad == "golden_fails" else "router.json") in reason
        assert str(tmp_path) not in ready.text and "/artifacts" not in ready.text
        _assert_refuses_to_rank(client, worker)
        assert "model load failed" in caplog.text
        assert ("golden" if bad == "golden_fails" else "router.json") in caplog.text


def test_the_last_good_model_keeps_serving_through_every_kind_of_fault(
    settings: Settings,
    reload_versions: ReloadVersions,
    caplog: pytest.LogCaptureFixture,
    fast_failing_http: None,
) -> None:
    caplog.set_level(logging.INFO)
    good = reload_versions.good
    app = create_app(_reload_settings(settings, reload_versions, good))
    with TestClient(app) as client:
        admin, worker = _headers(app, "admin"), _headers(app, "caseworker")
        assert client.get("/health/ready", headers=worker).json()["model"]["version"] == good
        faults = {
            "golden cases": lambda: reload_versions.point(ALIAS, reload_versions.golden_fails),
            "router.json": lambda: reload_versions.point(ALIAS, reload_versions.broken),
            "registry did not answer": lambda: setattr(
                app.state.holder,
                "source",
                registry_source(
                    settings.model_copy(
                        update={
                            "model_name": reload_versions.name,
                            "mlflow_tracking_uri": UNREACHABLE,
                        }
                    )
                ),
            ),
        }
        for cause, fault in faults.items():
            caplog.clear()
            fault()
            outcome = client.post("/v1/admin/reload", headers=admin).json()
            assert outcome["outcome"] == "kept", cause
            assert outcome["serving"]["version"] == good
            ready = client.get("/health/ready", headers=worker)
            assert ready.status_code == 200  # a model serves; the reason is shown
            assert ready.json()["model"]["version"] == good
            assert ready.json()["reasons"][0].startswith(f"serving version {good}; the newest")
            assert cause in ready.json()["reasons"][0]
            assert cause in caplog.text and "model load failed" in caplog.text
            assert "127.0.0.1" not in ready.text  # no addresses on a public endpoint
            answer = client.post("/v1/recommendations", json=request_body(), headers=worker)
            assert answer.status_code == 200, cause
            assert answer.json()["model"]["version"] == good
        # the registry is back and the alias is good again: loaded, reasons cleared
        app.state.holder.source = registry_source(
            settings.model_copy(update={"model_name": reload_versions.name})
        )
        configure(settings.mlflow_tracking_uri)  # the load above re-pointed MLflow
        reload_versions.point(ALIAS, good)
        assert client.post("/v1/admin/reload", headers=admin).json()["outcome"] == "loaded"
        assert client.get("/health/ready", headers=worker).json()["reasons"] == []


def test_a_failed_first_load_heals_by_itself_when_the_alias_is_fixed(
    settings: Settings, reload_versions: ReloadVersions
) -> None:
    """With POLKU_MODEL_RETRY_SECONDS the holder retries in the background; no admin needed."""
    start = _reload_settings(settings, reload_versions, reload_versions.golden_fails)
    app = create_app(start.model_copy(update={"model_retry_seconds": 0.2}))
    with TestClient(app) as client:
        worker = _headers(app, "caseworker")
        assert client.get("/health/ready", headers=worker).status_code == 503
        _assert_refuses_to_rank(client, worker)
        reload_versions.point(ALIAS, reload_versions.good)
        deadline = time.monotonic() + 60
        while (
            client.get("/health/ready", headers=worker).status_code != 200
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        ready = client.get("/health/ready", headers=worker).json()
        assert ready["model"]["version"] == reload_versions.good
        assert ready["reasons"] == []
        answer = client.post("/v1/recommendations", json=request_body(), headers=worker)
        assert answer.status_code == 200
        assert answer.json()["model"]["version"] == reload_versions.good
