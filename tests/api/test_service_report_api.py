"""GET /v1/reports/services and /v1/reports/followup: the reports logged with the served
model's run, as JSON or HTML by Accept, for evaluators and admins; 404 until one is logged.

The follow-up report is logged by `polku report followup --log` itself, in the
session's MLflow store, as a data scientist would.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import create_key
from api.middleware import REPORT_CSP
from tests.support.followup_log import report_followup_logged
from tests.support.trained_model import TrainedModel


def _headers(app: FastAPI, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(app.state.engine, role=role, unit='a').key}"}


def test_the_service_report_of_the_served_run_once_logged(
    client: TestClient, trained_model: TrainedModel, tmp_path: Path
) -> None:
    from training.registry.runs import log_run_report
    from training.reports.services import read_inputs, service_report_for, write_service_report

    app = client.app
    assert isinstance(app, FastAPI)
    evaluator = _headers(app, "evaluator")
    missing = client.get("/v1/reports/services", headers=evaluator)
    if missing.status_code == 404:
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["type"] == "urn:polku:problem:no-service-report"
        router = trained_model.result.router
        report = service_report_for(
            router,
            read_inputs(router, trained_model.data_dir),
            model={"name": trained_model.name, "version": trained_model.version},
            n_boot=20,
        )
        log_run_report(trained_model.run_id, "services", write_service_report(tmp_path, report))
    as_json = client.get("/v1/reports/services", headers=evaluator)
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"] == "application/json"
    body = as_json.json()
    assert body["kind"] == "polku.service_report"
    assert body["model"]["version"] == trained_model.version
    browser = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
    as_html = client.get("/v1/reports/services", headers={**evaluator, "Accept": browser})
    assert as_html.status_code == 200
    assert as_html.headers["content-type"].startswith("text/html")
    assert "Polku – palveluraportti" in as_html.text
    assert as_html.headers["content-security-policy"] == REPORT_CSP
    caseworker = client.get("/v1/reports/services", headers=_headers(app, "caseworker"))
    assert caseworker.status_code == 403


def test_the_followup_report_of_the_served_run_once_logged(
    client: TestClient, trained_model: TrainedModel, tmp_path: Path
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    evaluator = _headers(app, "evaluator")
    missing = client.get("/v1/reports/followup", headers=evaluator)
    if missing.status_code == 404:
        assert missing.headers["content-type"] == "application/problem+json"
        problem = missing.json()
        assert problem["type"] == "urn:polku:problem:no-followup-report"
        assert f"version {trained_model.version}" in problem["detail"]
        assert "polku report followup" in problem["detail"]
        run = report_followup_logged(trained_model, tmp_path / "followup")
        assert run.exit_code == 0, run.output
    as_json = client.get("/v1/reports/followup", headers=evaluator)
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"] == "application/json"
    body = as_json.json()
    assert body["kind"] == "polku.followup_report"
    assert body["model"]["version"] == trained_model.version
    assert body["model"]["run_id"] == trained_model.run_id
    assert body["advice"]["verdict"] in ("retrain", "watch", "wait", "no_need")
    browser = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
    as_html = client.get("/v1/reports/followup", headers={**evaluator, "Accept": browser})
    assert as_html.status_code == 200
    assert as_html.headers["content-type"].startswith("text/html")
    assert "Polku – päätösten seuranta" in as_html.text
    assert as_html.headers["content-security-policy"] == REPORT_CSP
    assert as_html.headers["cache-control"] == "no-store"
    admin = client.get("/v1/reports/followup", headers=_headers(app, "admin"))
    assert admin.status_code == 200 and admin.json() == body
    for role in ("caseworker", "planner", "data_scientist"):
        refused = client.get("/v1/reports/followup", headers=_headers(app, role))
        assert refused.status_code == 403, role
