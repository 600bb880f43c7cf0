"""Explanations add up: contrastive for services, against the average for the reference.

Documented scale: probability points. For a service s,
``p_outcome(s) - p_outcome(no_new_service) == sum of s's contributions``;
for the reference, ``p_outcome(reference) == baseline + sum of its
contributions`` with the baseline of `Router.reference_baseline` (the
average client's probability under no_new_service). The answer lists the
top five contributions only, so the tests ask the router for all of them
(`model.router.TOP_K_EXPLAIN`) and check the answer as the API sends it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

import model.router
from api.storage.tables import audit_events
from model.explain import SELECTION_FIELD
from model.vocab import NO_NEW_SERVICE
from tests.support.api_requests import Keys, recommend, request_body

pytestmark = pytest.mark.one_app_per_module

TOLERANCE = 1e-6


@pytest.fixture
def every_contribution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model.router, "TOP_K_EXPLAIN", 10_000)


def _bodies() -> list[dict[str, Any]]:
    newcomer = request_body(episodes=[], outcomes=[], as_of="2023-03-10")
    waiting = request_body()
    later = request_body(as_of="2024-09-02")
    later["episodes"].append(
        {
            "service": "integration_training",
            "start_date": "2023-05-15",
            "end_date": "2024-05-31",
            "status": "completed",
            "language_level_after": "B1",
        }
    )
    health = request_body()
    health["client"]["health_limitation"] = True
    return [newcomer, waiting, later, health]


@pytest.mark.usefixtures("every_contribution")
@pytest.mark.parametrize("case", range(4))
def test_contributions_add_up_to_the_difference_they_explain(
    client: TestClient, keys: Keys, app: FastAPI, case: int
) -> None:
    body = _bodies()[case]
    n_actions = len(client.get("/v1/model", headers=keys.caseworker).json()["actions"])
    body["k"] = n_actions
    answer = recommend(client, keys.caseworker, **body)
    reference = answer["reference"]
    assert reference["service"] == NO_NEW_SERVICE
    for item in answer["recommendations"]:
        if item["service"] == NO_NEW_SERVICE:
            continue
        total = sum(c["contribution"] for c in item["explanation"])
        assert total == pytest.approx(item["p_outcome"] - reference["p_outcome"], abs=TOLERANCE), (
            item["service"]
        )
        assert item["explanation"][0]["feature"] in {c["feature"] for c in item["explanation"]}

    # the reference against the average client: baseline + contributions = its p_outcome
    router = app.state.holder.current.router
    with app.state.engine.connect() as connection:
        features = connection.execute(
            select(audit_events.c.features).where(audit_events.c.request_id == answer["request_id"])
        ).scalar_one()
    x = router.encoder.encode_row(features)[None, :]
    baseline = router.reference_baseline(x)
    total = sum(c["contribution"] for c in reference["explanation"])
    assert baseline + total == pytest.approx(reference["p_outcome"], abs=TOLERANCE)
    assert 0 < baseline < 1


@pytest.mark.usefixtures("every_contribution")
def test_one_entry_per_feature_and_the_service_share(client: TestClient, keys: Keys) -> None:
    answer = recommend(client, keys.caseworker, k=3)
    for item in answer["recommendations"]:
        features = [c["feature"] for c in item["explanation"]]
        assert len(features) == len(set(features))
        if item["service"] != NO_NEW_SERVICE:
            assert "service" in features
    assert "service" not in {c["feature"] for c in answer["reference"]["explanation"]}


def test_top_five_by_size_with_texts(client: TestClient, keys: Keys) -> None:
    answer = recommend(client, keys.caseworker, language="fi")
    for item in [*answer["recommendations"], answer["reference"]]:
        # the correction for selection, where there is one, follows the five
        features = [c for c in item["explanation"] if c["feature"] != SELECTION_FIELD]
        assert item["explanation"][: len(features)] == features
        sizes = [abs(c["contribution"]) for c in features]
        assert len(sizes) == 5
        assert sizes == sorted(sizes, reverse=True)
        for c in item["explanation"]:
            verb = "kasvattaa" if c["contribution"] > 0 else "pienentää"
            assert verb in c["text"]


def test_level_text_reads_like_the_issue(client: TestClient, keys: Keys, app: FastAPI) -> None:
    """'Suomen kielen taso A1 pienentää arviota 4 prosenttiyksikköä' -- CEFR shown as a level."""
    from model.explain import describe

    assert (
        describe("finnish_level", 1.0, -0.04, "fi")
        == "Suomen kielen taso A1 pienentää arviota 4 prosenttiyksikköä"
    )
    assert (
        describe("finnish_level", 1.0, -0.04, "sv")
        == "Kunskaper i finska A1 sänker bedömningen med 4 procentenheter"
    )
    assert np.isfinite(
        [c["contribution"] for c in recommend(client, keys.caseworker)["reference"]["explanation"]]
    ).all()


def test_values_are_shown_as_people_write_them(
    client: TestClient, keys: Keys, every_contribution: None
) -> None:
    """The value of a contribution is an encoding (finnish_level 1.0); value_text reads A1."""
    by_language = {
        language: recommend(client, keys.caseworker, language=language)
        for language in ("fi", "sv", "en")
    }
    for language, answer in by_language.items():
        shown = {
            c["feature"]: c["value_text"]
            for scored in [*answer["recommendations"], answer["reference"]]
            for c in scored["explanation"]
        }
        assert shown["finnish_level"] == "A1"
        assert (
            shown["residence_basis"]
            == {
                "fi": "humanitaarinen",
                "sv": "humanitär",
                "en": "humanitarian",
            }[language]
        )
        assert shown["prior_work_years"] == ("2,5" if language != "en" else "2.5")
        years = shown["years_since_arrival"]
        assert years.replace(",", ".").replace(".", "", 1).isdigit() and len(years) == 3
        assert shown.get("service") is None


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("fi", "pienentää arviota 1 prosenttiyksikön", "pienentää arviota 2 prosenttiyksikköä"),
        ("sv", "sänker bedömningen med 1 procentenhet", "sänker bedömningen med 2 procentenheter"),
        (
            "en",
            "lowers the estimate by 1 percentage point",
            "lowers the estimate by 2 percentage points",
        ),
    ],
)
def test_the_unit_word_follows_the_amount(language: str, one: str, two: str) -> None:
    from model.explain import describe

    assert describe("n_services", 3, -0.01, language).endswith(f"3 {one}")
    assert describe("n_services", 3, -0.02, language).endswith(f"3 {two}")
    # decimals take the plural, and Finnish and Swedish write them with a comma
    assert (
        describe("service", None, 0.015, "sv")
        == "Tjänsten själv höjer bedömningen med 1,5 procentenheter"
    )
    assert (
        describe("service", None, 0.015, "en")
        == "The service itself raises the estimate by 1.5 percentage points"
    )
