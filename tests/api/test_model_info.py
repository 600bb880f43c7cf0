"""GET /v1/model and GET /v1/reports/fairness name the model they describe.

The session's model is trained, logged and registered by the real `polku
train` path (tests/conftest.py); these tests read what the API serves of it.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.api_requests import Keys
from tests.support.trained_model import TrainedModel


def test_the_training_window_is_served_as_the_pipeline_recorded_it(
    client: TestClient, keys: Keys, trained_model: TrainedModel
) -> None:
    recorded = trained_model.result.router.metadata["training_window"]
    body = client.get("/v1/model", headers=keys.caseworker).json()
    window = body["training_window"]
    assert window == {"start": recorded["from"], "end": recorded["to"]}
    assert window["start"] is not None and window["end"] is not None
    assert window["start"] <= window["end"]


def test_the_served_model_card_names_its_model_version_and_run(
    client: TestClient, keys: Keys, trained_model: TrainedModel
) -> None:
    body = client.get("/v1/model", headers=keys.evaluator).json()
    assert body["card"]["model"]["name"] == trained_model.name
    assert body["card"]["model"]["version"] == trained_model.version
    assert body["card"]["model"]["run_id"] == trained_model.run_id


def test_the_served_fairness_report_names_its_model_version_and_run(
    client: TestClient, keys: Keys, trained_model: TrainedModel
) -> None:
    report = client.get("/v1/reports/fairness", headers=keys.evaluator).json()
    assert report["model"]["name"] == trained_model.name
    assert report["model"]["version"] == trained_model.version
    assert report["model"]["run_id"] == trained_model.run_id
    page = client.get(
        "/v1/reports/fairness", headers={**keys.evaluator, "Accept": "text/html"}
    ).text
    assert trained_model.run_id in page
    assert f"{trained_model.name} " in page
