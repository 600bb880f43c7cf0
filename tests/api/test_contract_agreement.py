"""The API's checks of a request's history agree with the data contract (training.contract).

The API cannot afford pandera per request (about 45 ms), so it applies the
contract's rules itself (`api.recommendations.service.check_request` after
the strict request models). Hypothesis draws requests, valid and broken in
the ways the contract knows; each is checked both ways: the API's models and
checks, and `check_tables` on the same client written as the three tables
(as text, the way a CSV file arrives). They must accept the same requests,
and where the request models pass, flag the same cells.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.main import registry_source
from api.problems import field_errors
from api.recommendations.schemas import RecommendationRequest
from api.recommendations.service import check_request
from api.serving import LoadedModel, prepare
from api.settings import Settings
from model.catalogue import load_catalogue
from model.config import RunConfig
from model.vocab import (
    CEFR_VALUES,
    EDUCATION_LEVELS,
    EPISODE_STATUSES,
    GENDERS,
    OUTCOME_STATUSES,
    RESIDENCE_BASES,
)
from tests.support.trained_model import TrainedModel
from training.contract import check_tables
from training.tables import Tables

CATALOGUE = load_catalogue()
BASE = date(2020, 1, 1)
IDENTITY_CODE = "131052-308T"


@pytest.fixture(scope="module")
def loaded(trained_model: TrainedModel) -> LoadedModel:
    settings = Settings(
        model_name=trained_model.name, mlflow_tracking_uri=trained_model.tracking_uri
    )
    return prepare(registry_source(settings).load(), generation=0)


def _iso(day: int) -> str:
    return (BASE + timedelta(days=day)).isoformat()


# One value of the wrong category or form, put into a request now and then.
TYPE_ERRORS: list[tuple[str, Any]] = [
    ("client_id", IDENTITY_CODE),
    ("gender", "robot"),
    ("mother_tongue", "Arabic"),
    ("residence_basis", "tourism"),
    ("education_level", "phd"),
    ("prior_work_years", -1.5),
    ("finnish_level", "D1"),
    ("children_under_school_age", -1),
]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly valid requests; cross-field rules broken often, a form rule now and then."""
    intake = draw(st.integers(0, 400))
    client = {
        "client_id": draw(st.sampled_from(["C-1", "asiakas-42", "x9"])),
        "intake_date": _iso(intake),
        "arrival_date": _iso(intake - draw(st.integers(-10, 2000))),
        "birth_year": draw(st.integers(1950, 2008)),
        "gender": draw(st.sampled_from(GENDERS)),
        "mother_tongue": draw(st.sampled_from(["ar", "ru", "fil", "unknown"])),
        "citizenship_region": draw(st.sampled_from(["asia", "africa", "unknown"])),
        "residence_basis": draw(st.sampled_from(RESIDENCE_BASES)),
        "education_level": draw(st.sampled_from(EDUCATION_LEVELS)),
        "prior_work_years": draw(
            st.none() | st.floats(0, 40, allow_nan=False).map(lambda x: round(x, 2))
        ),
        "literacy_needs": draw(st.booleans()),
        "finnish_level": draw(st.sampled_from(CEFR_VALUES)),
        "health_limitation": draw(st.none() | st.booleans()),
        "children_under_school_age": draw(st.none() | st.integers(0, 5)),
    }
    if draw(st.integers(0, 4)) == 0:
        field, value = draw(st.sampled_from(TYPE_ERRORS))
        client[field] = value
    services = [*CATALOGUE.service_codes, "review"]
    episodes: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 5))):
        start = intake + draw(st.integers(-5, 600))
        status = draw(st.sampled_from(EPISODE_STATUSES))
        ended = status != "ongoing"
        if draw(st.integers(0, 9)) == 0:
            ended = not ended  # break the status/end rule
        end = start + draw(st.integers(-3, 300)) if ended else None
        episode = {
            "service": draw(st.sampled_from(services)) if draw(st.integers(0, 9)) else "astrology",
            "start_date": _iso(start),
            "end_date": None if end is None else _iso(end),
            "status": status,
        }
        if draw(st.booleans()):
            episode["language_level_after"] = draw(st.sampled_from(CEFR_VALUES))
        if episode["service"] == "review" and draw(st.booleans()):
            episode["planned_service"] = draw(st.sampled_from([*CATALOGUE.actions, "nonsense"]))
        episodes.append(episode)
    outcomes: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        start = intake + draw(st.integers(-50, 600))
        end = draw(st.none() | st.integers(start - 3, start + 300))
        outcomes.append(
            {
                "status": draw(st.sampled_from(OUTCOME_STATUSES)),
                "start_date": _iso(start),
                "end_date": None if end is None else _iso(end),
            }
        )
    starts = [intake] + [
        (date.fromisoformat(str(r["start_date"])) - BASE).days for r in [*episodes, *outcomes]
    ]
    return {
        "client": client,
        "episodes": episodes,
        "outcomes": outcomes,
        "as_of": _iso(max(starts) + 1),
        "k": 3,
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tables(body: dict[str, Any]) -> Tables:
    client_id = body["client"]["client_id"]
    clients = pd.DataFrame([{k: _text(v) for k, v in body["client"].items()}], dtype=object)
    episode_columns = [
        "client_id",
        "service",
        "start_date",
        "end_date",
        "status",
        "language_level_after",
        "planned_service",
    ]
    episodes = pd.DataFrame(
        [
            {c: _text({**e, "client_id": client_id}.get(c)) for c in episode_columns}
            for e in body["episodes"]
        ],
        columns=episode_columns,
        dtype=object,
    )
    outcome_columns = ["client_id", "status", "start_date", "end_date"]
    outcomes = pd.DataFrame(
        [
            {c: _text({**o, "client_id": client_id}.get(c)) for c in outcome_columns}
            for o in body["outcomes"]
        ],
        columns=outcome_columns,
        dtype=object,
    )
    return Tables(clients=clients, episodes=episodes, outcomes=outcomes)


def _api_cells(
    body: dict[str, Any], model: LoadedModel
) -> tuple[bool, set[tuple[str, int, str]] | None]:
    """(accepted, flagged cells or None when the request models already refused it)."""
    try:
        request = RecommendationRequest.model_validate(body)
    except ValidationError as exc:
        assert field_errors(exc.errors())
        return False, None
    assert request.as_of is not None
    errors = check_request(request, model, request.as_of)
    cells = set()
    for error in errors:
        parts = error.field.split(".")
        if parts[0] == "client":
            cells.add(("clients", 0, parts[1]))
        else:
            cells.add((parts[0], int(parts[1]), parts[2]))
    return not errors, cells


def _contract_cells(body: dict[str, Any]) -> tuple[bool, set[tuple[str, int, str]]]:
    report = check_tables(_tables(body), catalogue=CATALOGUE, config=RunConfig())
    cells = {(p.file, (p.row or 1) - 1, p.column or "") for p in report.problems}
    return report.ok, cells


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=requests())
def test_the_api_accepts_and_flags_what_the_contract_does(
    body: dict[str, Any], loaded: LoadedModel
) -> None:
    api_ok, api_cells = _api_cells(body, loaded)
    contract_ok, contract_cells = _contract_cells(body)
    assert api_ok == contract_ok, (api_cells, contract_cells)
    if api_cells is not None:
        assert api_cells == contract_cells


def test_a_clean_request_passes_both(loaded: LoadedModel) -> None:
    from tests.support.api_requests import request_body

    body = request_body()
    assert _api_cells(body, loaded) == (True, set())
    assert _contract_cells(body) == (True, set())
