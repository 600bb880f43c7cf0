"""Serving from the MLflow registry: golden cases at every load, the last good model on failure.

The versions come from a real MLflow store (tests/conftest.py) through
`training.registry`; `reload_versions` registers a second model with a good
version, one whose golden cases fail, and one whose files are gone. Two apps
on one database stand for two worker processes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import create_key
from api.main import create_app, registry_source
from api.serving import GoldenCaseError, ModelHolder, prepare
from api.settings import Settings
from model.golden import GOLDEN_CASES, METADATA_KEY, check_golden, expected_top_services
from tests.support.api_requests import request_body
from tests.support.reload_versions import ReloadVersions
from tests.support.trained_model import TrainedModel

ALIAS = "champion"


@pytest.fixture
def reload_settings(settings: Settings, reload_versions: ReloadVersions) -> Settings:
    reload_versions.point(ALIAS, reload_versions.good)
    return settings.model_copy(update={"model_name": reload_versions.name})


def _headers(app: FastAPI, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(app.state.engine, role=role, unit='a').key}"}


def test_the_champion_carries_golden_cases_that_both_paths_reproduce(
    trained_model: TrainedModel,
) -> None:
    served = registry_source(
        Settings(model_name=trained_model.name, mlflow_tracking_uri=trained_model.tracking_uri)
    ).load()
    stored = served.router.metadata[METADATA_KEY]
    assert set(stored) == {case.name for case in GOLDEN_CASES}
    assert expected_top_services(served.router) == stored
    assert check_golden(served.router) == []


def test_a_version_whose_golden_cases_fail_is_not_prepared(
    reload_versions: ReloadVersions, trained_model: TrainedModel
) -> None:
    settings = Settings(
        model_name=reload_versions.name,
        model_version=reload_versions.golden_fails,
        mlflow_tracking_uri=trained_model.tracking_uri,
    )
    with pytest.raises(GoldenCaseError, match="fails its golden cases"):
        prepare(registry_source(settings).load(), generation=0)


def test_reload_to_a_failing_version_keeps_the_last_good_model(
    reload_settings: Settings, reload_versions: ReloadVersions, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(reload_settings)
    with TestClient(app) as client:
        admin, worker = _headers(app, "admin"), _headers(app, "caseworker")
        assert (
            client.get("/health/ready", headers=admin).json()["model"]["version"]
            == reload_versions.good
        )

        reload_versions.point(ALIAS, reload_versions.golden_fails)
        outcome = client.post("/v1/admin/reload", headers=admin).json()
        assert outcome["outcome"] == "kept"
        assert outcome["serving"] == {"name": reload_versions.name, "version": reload_versions.good}
        assert "golden cases" in outcome["error"]
        ready = client.get("/health/ready", headers=admin)
        assert ready.status_code == 200
        assert "newest attempt failed" in ready.json()["reasons"][0]
        assert "golden" in caplog.text
        answer = client.post("/v1/recommendations", json=request_body(), headers=worker).json()
        assert answer["model"]["version"] == reload_versions.good

        reload_versions.point(ALIAS, reload_versions.broken)
        outcome = client.post("/v1/admin/reload", headers=admin).json()
        assert outcome["outcome"] == "kept"
        assert "router.json" in outcome["error"]
        assert "/" not in outcome["error"].split("router.json")[0].split()[-1]  # no file paths

        reload_versions.point(ALIAS, reload_versions.good)
        assert client.post("/v1/admin/reload", headers=admin).json() == {
            "outcome": "loaded",
            "serving": {"name": reload_versions.name, "version": reload_versions.good},
            "error": None,
        }
        assert client.get("/health/ready", headers=admin).json()["reasons"] == []


@pytest.mark.parametrize("store", ["unreachable", "empty"])
def test_no_model_at_start_is_live_not_ready_and_never_ranks(
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    store: str,
) -> None:
    if store == "unreachable":  # nothing listens on the discard port; no minutes of retries
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
        uri = "http://127.0.0.1:9"
    else:
        uri = f"sqlite:///{(tmp_path / 'elsewhere' / 'mlflow.db').as_posix()}"
    app = create_app(settings.model_copy(update={"mlflow_tracking_uri": uri}))
    with TestClient(app) as client:
        admin, worker = _headers(app, "admin"), _headers(app, "caseworker")
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready", headers=admin)
        assert ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
        assert ready.json()["status"] == "not_ready"
        assert ready.json()["database"] == "ok"
        assert "could not be served" in ready.json()["reasons"][0]
        # and says why: a registry that does not answer is not an empty one
        cause = "did not answer" if store == "unreachable" else "no version is registered"
        assert cause in ready.json()["reasons"][0]
        assert "127.0.0.1" not in ready.text
        assert str(tmp_path) not in ready.text  # no file paths on a public endpoint
        refused = client.post("/v1/recommendations", json=request_body(), headers=worker)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.json()["type"] == "urn:polku:problem:model-unavailable"
        assert client.get("/v1/services", headers=worker).status_code == 503
        assert "model load failed" in caplog.text
        # the registry comes back (here: the setting points at the real store again)
        app.state.holder.source = registry_source(settings)
        assert client.post("/v1/admin/reload", headers=admin).json()["outcome"] == "loaded"
        assert client.get("/health/ready", headers=admin).status_code == 200
        assert (
            client.post("/v1/recommendations", json=request_body(), headers=worker).status_code
            == 200
        )


def test_a_reload_asked_of_one_worker_reaches_the_others(
    reload_settings: Settings, reload_versions: ReloadVersions
) -> None:
    first, second = create_app(reload_settings), create_app(reload_settings)
    with TestClient(first) as one, TestClient(second) as two:
        admin, worker = _headers(first, "admin"), _headers(first, "caseworker")
        good = reload_versions.good
        assert (
            two.post("/v1/recommendations", json=request_body(), headers=worker).json()["model"][
                "version"
            ]
            == good
        )
        reload_versions.point(ALIAS, reload_versions.golden_fails)
        assert one.post("/v1/admin/reload", headers=admin).json()["outcome"] == "kept"
        # the other worker tries too on its next request, in the background, and keeps serving
        assert (
            two.post("/v1/recommendations", json=request_body(), headers=worker).json()["model"][
                "version"
            ]
            == good
        )
        deadline = time.monotonic() + 30
        while second.state.holder.last_error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "golden" in (second.state.holder.last_error or "")
        assert (
            two.post("/v1/recommendations", json=request_body(), headers=worker).json()["model"][
                "version"
            ]
            == good
        )


def test_pause_reaches_every_worker(settings: Settings) -> None:
    first, second = create_app(settings), create_app(settings)
    with TestClient(first) as one, TestClient(second) as two:
        admin, worker = _headers(first, "admin"), _headers(first, "caseworker")
        one.post("/v1/admin/pause", headers=admin)
        assert (
            two.post("/v1/recommendations", json=request_body(), headers=worker).status_code == 503
        )
        assert two.get("/health/ready", headers=admin).json()["paused"] is True
        one.post("/v1/admin/resume", headers=admin)
        assert (
            two.post("/v1/recommendations", json=request_body(), headers=worker).status_code == 200
        )


def test_the_holder_swaps_only_checked_models(
    reload_versions: ReloadVersions, trained_model: TrainedModel
) -> None:
    def source(version: str) -> object:
        return registry_source(
            Settings(
                model_name=reload_versions.name,
                model_version=version,
                mlflow_tracking_uri=trained_model.tracking_uri,
            )
        )

    holder = ModelHolder(source(reload_versions.good), retry_seconds=0)  # type: ignore[arg-type]
    assert holder.load().loaded
    good = holder.current
    assert good is not None
    holder.source = source(reload_versions.golden_fails)  # type: ignore[assignment]
    outcome = holder.load(generation=5)
    assert not outcome.loaded
    assert holder.current is not None and holder.current.router is good.router
    assert holder.current.generation == 5  # a failed generation is not asked for again


def test_the_fairness_report_of_the_champions_run_as_json_or_html(
    client: TestClient, trained_model: TrainedModel
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    evaluator = _headers(app, "evaluator")
    report = trained_model.result.fairness_report
    as_json = client.get("/v1/reports/fairness", headers=evaluator)
    if report is None:  # a run without a report
        assert as_json.status_code == 404
        return
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json()["kind"] == report["kind"]
    browser = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
    as_html = client.get("/v1/reports/fairness", headers={**evaluator, "Accept": browser})
    assert as_html.status_code == 200
    assert as_html.headers["content-type"].startswith("text/html")
    assert as_html.text.lstrip().lower().startswith("<!doctype html")
    prefers_json = client.get(
        "/v1/reports/fairness", headers={**evaluator, "Accept": "application/json, text/html;q=0.5"}
    )
    assert prefers_json.headers["content-type"] == "application/json"


def test_a_run_without_a_fairness_report_is_a_404_problem(reload_settings: Settings) -> None:
    app = create_app(reload_settings)
    with TestClient(app) as client:
        response = client.get("/v1/reports/fairness", headers=_headers(app, "admin"))
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:polku:problem:no-fairness-report"


def test_other_reports_are_rendered_plainly_and_escaped() -> None:
    from api.reports.logged import render_html

    page = render_html({"groups": [{"group": "<b>x</b>", "n": 412}], "note": None}, title="T & U")
    assert "<td>412</td>" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "<title>T &amp; U</title>" in page
