"""GET /v1/reports/services: the service report logged with the served model's run,
as JSON or HTML by Accept, for evaluators and admins; 404 until one is logged."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import create_key
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
    caseworker = client.get("/v1/reports/services", headers=_headers(app, "caseworker"))
    assert caseworker.status_code == 403
