"""An evaluator reads every unit's audit events, as docs/api.md and the model card say."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api_requests import Keys, recommend
from tests.support.trained_model import TrainedModel
from training.reports import render_model_card_html

pytestmark = pytest.mark.one_app_per_module


def test_an_evaluator_reads_every_units_events_without_comments(
    client: TestClient, keys: Keys
) -> None:
    mine = recommend(client, keys.caseworker)["request_id"]
    theirs = recommend(client, keys.other_unit)["request_id"]
    items = client.get("/v1/audit", params={"limit": 500}, headers=keys.evaluator).json()["items"]
    units = {item["request_id"]: item["unit"] for item in items}
    assert (units[mine], units[theirs]) == ("espoo-a", "espoo-b")
    assert all("comment" not in d for item in items for d in item["decisions"])
    caseworker = client.get("/v1/audit", headers=keys.caseworker)
    assert caseworker.status_code == 403


def test_the_model_card_says_who_reads_the_audit_log_and_why(trained_model: TrainedModel) -> None:
    card = trained_model.result.model_card
    audit = card["human_oversight"]["audit"]
    assert audit["endpoint"] == "GET /v1/audit"
    assert audit["plans"] == "GET /v1/audit/plans"
    assert "every unit" in audit["en"] and "kaikkien yksiköiden" in audit["fi"]
    assert "alla enheters" in audit["sv"]
    html = render_model_card_html(card)
    assert "GET /v1/audit" in html and "GET /v1/audit/plans" in html
