"""POST /v1/recommendations through the real app, model and database (docs/api.md).

The module's tests share one app and database: a test reads the audit rows
written after the ones it found there.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.storage.tables import audit_events
from model.vocab import NO_NEW_SERVICE
from tests.support.api_requests import Keys, recommend, request_body
from tests.support.trained_model import TrainedModel

pytestmark = pytest.mark.one_app_per_module

IDENTITY_CODE = (
    "131052-308T"  # the example code of the Finnish Digital and Population Data Services Agency
)


def _audit_rows(app: FastAPI, after: int = 0) -> list[Any]:
    """The audit rows in the order written, without the first `after`."""
    with app.state.engine.connect() as connection:
        rows = connection.execute(select(audit_events).order_by(audit_events.c.id)).mappings()
        return list(rows)[after:]


def test_answer_has_every_field_of_the_contract(
    client: TestClient, keys: Keys, trained_model: TrainedModel
) -> None:
    answer = recommend(client, keys.caseworker)
    assert set(answer) == {
        "request_id",
        "model",
        "as_of",
        "recommendations",
        "reference",
        "not_eligible",
    }
    assert answer["model"] == {"name": trained_model.name, "version": trained_model.version}
    assert answer["as_of"] == "2023-05-02"
    assert [r["rank"] for r in answer["recommendations"]] == [1, 2, 3]
    for item in [*answer["recommendations"], answer["reference"]]:
        assert set(item) == {
            "service",
            "name",
            "rank",
            "p_outcome",
            "interval",
            "uplift",
            "thin_support",
            "seats_left_this_month",
            "expected_wait_days_now",
            "explanation",
        }
        low, high = item["interval"]
        assert 0 <= low <= item["p_outcome"] <= high <= 1
        shap = [c for c in item["explanation"] if c["feature"] != "selection_correction"]
        assert 1 <= len(shap) <= 5 and len(item["explanation"]) - len(shap) <= 1
        for c in item["explanation"]:
            assert set(c) == {"feature", "value", "value_text", "contribution", "text"}
            assert "prosenttiyksik" in c["text"]  # prosenttiyksikön / prosenttiyksikköä
    p = [r["p_outcome"] for r in answer["recommendations"]]
    assert p == sorted(p, reverse=True) or any(r["thin_support"] for r in answer["recommendations"])
    assert answer["reference"]["service"] == NO_NEW_SERVICE
    assert answer["reference"]["uplift"] == 0.0
    for r in answer["recommendations"]:
        assert r["uplift"] == pytest.approx(
            r["p_outcome"] - answer["reference"]["p_outcome"], abs=1e-12
        )
    # the client has finished the plan: the assessment and the plan are not offered again
    ineligible = {n["service"] for n in answer["not_eligible"]}
    assert {"initial_assessment", "integration_plan"} <= ineligible
    for n in answer["not_eligible"]:
        assert set(n) == {"service", "reason", "seats_left_this_month", "expected_wait_days_now"}
    reasons = {n["service"]: n["reason"] for n in answer["not_eligible"]}
    assert reasons["integration_plan"] == (
        "Kotoutumissuunnitelma vain kerran — asiakas on jo suorittanut sen"
    )
    assert not any("completed_" in reason or ">=" in reason for reason in reasons.values())
    response = client.post("/v1/recommendations", json=request_body(), headers=keys.caseworker)
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_k_equal_to_the_number_of_candidates_scores_every_eligible_one(
    client: TestClient, keys: Keys
) -> None:
    actions = client.get("/v1/model", headers=keys.caseworker).json()["actions"]
    answer = recommend(client, keys.caseworker, k=len(actions))
    ranked = [r["service"] for r in answer["recommendations"]]
    ineligible = [n["service"] for n in answer["not_eligible"]]
    assert sorted(ranked + ineligible) == sorted(actions)
    assert NO_NEW_SERVICE in ranked
    assert answer["reference"]["rank"] == ranked.index(NO_NEW_SERVICE) + 1
    one = recommend(client, keys.caseworker, k=1)
    assert [r["service"] for r in one["recommendations"]] == ranked[:1]


def test_k_beyond_the_candidates_returns_them_all_and_beyond_100_is_refused(
    client: TestClient, keys: Keys
) -> None:
    actions = client.get("/v1/model", headers=keys.caseworker).json()["actions"]
    every = recommend(client, keys.caseworker, k=len(actions))
    assert (
        recommend(client, keys.caseworker, k=len(actions) + 1)["recommendations"]
        == every["recommendations"]
    )
    assert recommend(client, keys.caseworker, k=100)["recommendations"] == every["recommendations"]
    for k in (0, -1, 101, 10**6):
        response = client.post(
            "/v1/recommendations", json=request_body(k=k), headers=keys.caseworker
        )
        assert response.status_code == 422, k
        assert [e["field"] for e in response.json()["errors"]] == ["k"]


def test_names_and_explanations_follow_the_language(client: TestClient, keys: Keys) -> None:
    fi, sv, en = (recommend(client, keys.caseworker, language=lang) for lang in ("fi", "sv", "en"))
    assert [r["service"] for r in fi["recommendations"]] == [
        r["service"] for r in en["recommendations"]
    ]
    assert fi["reference"]["name"] != sv["reference"]["name"] != en["reference"]["name"]
    # "procentenhet(er)", "percentage point(s)": the number's plural chooses
    assert "procentenhet" in sv["recommendations"][0]["explanation"][0]["text"]
    assert "percentage point" in en["recommendations"][0]["explanation"][0]["text"]
    assert en["not_eligible"][0]["reason"].endswith("the client has already completed it")
    response = client.post(
        "/v1/recommendations", json=request_body(language="de"), headers=keys.caseworker
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "language"


def test_as_of_defaults_to_today(client: TestClient, keys: Keys) -> None:
    body = request_body()
    del body["as_of"]
    answer = client.post("/v1/recommendations", json=body, headers=keys.caseworker).json()
    from api.recommendations.service import today

    assert answer["as_of"] == today().isoformat()


def test_an_as_of_later_than_today_is_refused(client: TestClient, keys: Keys) -> None:
    """A future date would count months not yet lived (unemployment, years since arrival)."""
    from datetime import timedelta

    from api.recommendations.service import today

    tomorrow = (today() + timedelta(days=1)).isoformat()
    response = client.post(
        "/v1/recommendations", json=request_body(as_of=tomorrow), headers=keys.caseworker
    )
    assert response.status_code == 422
    problem = response.json()
    assert "later than today" in problem["detail"]
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("as_of", "after_today")]
    on_today = client.post(
        "/v1/recommendations",
        json=request_body(as_of=today().isoformat()),
        headers=keys.caseworker,
    )
    assert on_today.status_code == 200


def test_every_answer_is_in_the_audit_log(
    client: TestClient, keys: Keys, app: FastAPI, trained_model: TrainedModel
) -> None:
    before = len(_audit_rows(app))
    answer = recommend(client, keys.caseworker)
    rows = _audit_rows(app, after=before)
    assert len(rows) == 1
    row = rows[0]
    assert row["request_id"] == answer["request_id"]
    assert row["client_id"] == "C003-0000421"
    assert (row["unit"], row["role"], row["key_id"]) == (
        "espoo-a",
        "caseworker",
        keys.ids["caseworker"],
    )
    assert (row["model_name"], row["model_version"], row["model_run_id"]) == (
        trained_model.name,
        trained_model.version,
        trained_model.run_id,
    )
    assert len(row["input_hash"]) == 64
    assert row["features"]["completed_integration_plan"] == 1.0
    assert row["features"]["finnish_level"] == 1.0
    assert row["output"]["recommendations"] == answer["recommendations"]
    assert row["output"]["reference"] == answer["reference"]
    # the same input hashes the same; another input not
    recommend(client, keys.caseworker)
    recommend(client, keys.caseworker, k=2)
    hashes = [r["input_hash"] for r in _audit_rows(app, after=before)]
    assert hashes[0] == hashes[1] != hashes[2]


def test_server_owned_fields_cannot_come_from_the_body(client: TestClient, keys: Keys) -> None:
    for field, value in (
        ("unit", "espoo-b"),
        ("model_version", "9"),
        ("request_id", "x"),
        ("created_at", "2024-01-01"),
    ):
        response = client.post(
            "/v1/recommendations", json=request_body(**{field: value}), headers=keys.caseworker
        )
        assert response.status_code == 422
        assert response.json()["errors"][0] == {
            "location": "body",
            "field": field,
            "message": "Extra inputs are not permitted",
            "code": "extra_forbidden",
        }


def _errors(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"] == "urn:polku:problem:validation"
    return {e["field"]: e["code"] for e in body["errors"]}


def test_history_is_checked_like_the_data_contract(client: TestClient, keys: Keys) -> None:
    body = request_body()
    body["episodes"] = [
        {
            "service": "initial_assessment",
            "start_date": "2023-03-08",
            "end_date": "2023-03-01",
            "status": "completed",
        },
        {
            "service": "astrology",
            "start_date": "2023-03-09",
            "end_date": "2023-03-10",
            "status": "completed",
        },
        {
            "service": "integration_plan",
            "start_date": "2023-02-01",
            "end_date": "2023-02-10",
            "status": "completed",
        },
        {
            "service": "work_trial",
            "start_date": "2023-04-01",
            "end_date": "2023-04-02",
            "status": "ongoing",
        },
        {"service": "work_trial", "start_date": "2023-04-01", "status": "completed"},
        {"service": "job_search_coaching", "start_date": "2023-06-01", "status": "ongoing"},
        {
            "service": "review",
            "start_date": "2023-04-01",
            "end_date": "2023-04-01",
            "status": "completed",
            "planned_service": "nonsense",
        },
    ]
    body["outcomes"] = [
        {"status": "employed", "start_date": "2023-04-01", "end_date": "2023-03-01"}
    ]
    body["client"]["extras"] = {"shoe_size": 42}
    errors = _errors(client.post("/v1/recommendations", json=body, headers=keys.caseworker))
    assert errors == {
        "episodes.0.end_date": "end_before_start",
        "episodes.1.service": "unknown_service",
        "episodes.2.start_date": "before_intake",
        "episodes.3.end_date": "ongoing_with_end_date",
        "episodes.4.end_date": "missing_end_date",
        "episodes.5.start_date": "after_as_of",
        "episodes.6.planned_service": "unknown_service",
        "outcomes.0.end_date": "end_before_start",
        "client.extras.shoe_size": "undeclared_extra",
    }


def test_profile_rules(client: TestClient, keys: Keys) -> None:
    body = request_body(as_of="2023-02-01", episodes=[], outcomes=[])
    body["client"].update(arrival_date="2023-04-01", birth_year=2015)
    errors = _errors(client.post("/v1/recommendations", json=body, headers=keys.caseworker))
    assert errors == {
        "client.arrival_date": "arrival_after_intake",
        "client.birth_year": "out_of_range",
        "as_of": "before_intake",
    }


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("client", "gender"), "robot"),
        (("client", "finnish_level"), "D1"),
        (("client", "literacy_needs"), "yes"),
        (("client", "birth_year"), "1990"),
        (("client", "birth_year"), 1990.5),
        (("client", "prior_work_years"), -1),
        (("client", "mother_tongue"), "Arabic"),
        (("client", "intake_date"), "01.03.2023"),
        (("client", "intake_date"), "2023-02-30"),
        (("client", "intake_date"), 1677628800),
        (("client", "citizenship_region"), ""),
        (("client", "citizenship_region"), "asia\u0000"),
        (("as_of",), "1850-01-01"),
        (("k",), "3"),
        (("k",), True),
        (("episodes",), "none"),
        (("outcomes", 0, "status"), "retired"),
    ],
)
def test_wrong_types_and_values_are_refused_with_their_path(
    client: TestClient, keys: Keys, path: tuple[Any, ...], value: Any
) -> None:
    body = request_body()
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    errors = _errors(client.post("/v1/recommendations", json=body, headers=keys.caseworker))
    assert ".".join(str(p) for p in path) in errors


def test_identity_code_is_refused_and_never_echoed_stored_or_logged(
    client: TestClient, keys: Keys, app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = len(_audit_rows(app))
    for client_id in (IDENTITY_CODE, f"client {IDENTITY_CODE.lower()}"):
        body = request_body()
        body["client"]["client_id"] = client_id
        response = client.post("/v1/recommendations", json=body, headers=keys.caseworker)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "client.client_id"
        assert "identity code" in response.json()["errors"][0]["message"]
        assert IDENTITY_CODE.lower() not in response.text.lower()
    assert _audit_rows(app, after=before) == []
    assert IDENTITY_CODE.lower() not in caplog.text.lower()


def test_client_ids_and_bodies_are_never_logged(
    client: TestClient, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    marker = "MARKER-7f3a9c"
    body = request_body()
    body["client"]["client_id"] = marker
    body["client"]["citizenship_region"] = marker.lower()
    assert client.post("/v1/recommendations", json=body, headers=keys.caseworker).status_code == 200
    bad = copy.deepcopy(body)
    bad["episodes"][0]["end_date"] = "2000-01-01"
    client.post("/v1/recommendations", json=bad, headers=keys.caseworker)
    assert "POST /v1/recommendations 200" in caplog.text
    assert marker.lower() not in caplog.text.lower()
    assert keys.caseworker["Authorization"].split()[1] not in caplog.text


def test_records_on_the_decision_date_are_not_used(
    client: TestClient, keys: Keys, app: FastAPI
) -> None:
    """A service that starts on as_of is not history yet (as in features_at)."""
    before = len(_audit_rows(app))
    base = recommend(client, keys.caseworker)
    body = request_body()
    body["episodes"].append(
        {"service": "work_trial", "start_date": "2023-05-02", "status": "ongoing"}
    )
    same = recommend(client, keys.caseworker, episodes=body["episodes"])
    assert same["recommendations"] == base["recommendations"]
    features = [r["features"] for r in _audit_rows(app, after=before)]
    assert features[0] == features[1]


def test_the_documented_example_works_as_written(client: TestClient, keys: Keys) -> None:
    import json
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "api" / "examples" / "recommendation.json"
    response = client.post(
        "/v1/recommendations",
        content=example.read_bytes(),
        headers={**keys.caseworker, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert json.loads(example.read_text("utf-8"))["as_of"] == response.json()["as_of"]


def test_every_log_line_of_a_request_carries_its_request_id(
    client: TestClient, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = client.post("/v1/recommendations", json=request_body(), headers=keys.caseworker)
    lines = [r for r in caplog.records if r.name == "api.middleware"]
    assert lines and lines[-1].request_id == response.headers["x-request-id"]  # type: ignore[attr-defined]
