"""The API's single-client features equal `features_at` on the same history.

`model.client_features.client_features` is the fast path the API uses for
one request; `model.decision_points.features_at` is the reference the
learners were trained on. Hypothesis draws histories with the awkward cases
on purpose: same-day starts, ends before starts, open records, records on and
after the decision date, reviews, unknown categories and missing values.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.catalogue import load_catalogue
from model.client_features import check_features, client_features
from model.config import RunConfig
from model.decision_points.features import features_at
from model.errors import DataContractError
from model.features import FeatureKind, feature_catalogue
from model.vocab import (
    CEFR_VALUES,
    EDUCATION_LEVELS,
    EPISODE_STATUSES,
    GENDERS,
    OUTCOME_STATUSES,
    RESIDENCE_BASES,
    REVIEW,
)
from tests.support.factories import make_tables

CATALOGUE = load_catalogue()
EXTRAS: dict[str, FeatureKind] = {
    "municipality_zone": "categorical",
    "commute_minutes": "numeric",
    "has_car": "boolean",
}
CONFIG = RunConfig(extra_features=EXTRAS)
BASE = date(2019, 1, 1)

days = st.integers(min_value=0, max_value=1500)
maybe_days = st.none() | days


@st.composite
def histories(
    draw: st.DrawFn,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], date]:
    intake = draw(st.integers(0, 300))
    client = {
        "client_id": "c1",
        "intake_date": BASE + timedelta(days=intake),
        "arrival_date": BASE + timedelta(days=intake - draw(st.integers(0, 3000))),
        "birth_year": draw(st.none() | st.integers(1940, 2000)),
        "gender": draw(st.sampled_from([*GENDERS, None, ""])),
        "mother_tongue": draw(st.sampled_from(["ar", "ru", "so", "unknown", None])),
        "citizenship_region": draw(st.sampled_from(["asia", "africa", " eu_efta ", None])),
        "residence_basis": draw(st.sampled_from(RESIDENCE_BASES)),
        "education_level": draw(st.sampled_from(EDUCATION_LEVELS)),
        "prior_work_years": draw(st.none() | st.floats(0, 40, allow_nan=False)),
        "literacy_needs": draw(st.booleans()),
        "finnish_level": draw(st.sampled_from([*CEFR_VALUES, None])),
        "health_limitation": draw(st.none() | st.booleans()),
        "children_under_school_age": draw(st.none() | st.integers(0, 5)),
        "municipality_zone": draw(st.sampled_from(["north", "south", None])),
        "commute_minutes": draw(st.none() | st.floats(0, 120, allow_nan=False)),
        "has_car": draw(st.none() | st.booleans()),
    }
    services = [*CATALOGUE.service_codes, REVIEW]
    episodes: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 12))):
        start = draw(days)
        end = draw(st.none() | st.integers(start - 20, start + 400))
        episodes.append(
            {
                "service": draw(st.sampled_from(services)),
                "start_date": BASE + timedelta(days=start),
                "end_date": None if end is None else BASE + timedelta(days=end),
                "status": draw(st.sampled_from(EPISODE_STATUSES)),
                "language_level_after": draw(st.sampled_from([*CEFR_VALUES, None])),
                "planned_service": None,
            }
        )
    same_day = draw(st.booleans())
    if episodes and same_day:  # same-day starts
        episodes.append(
            {
                **episodes[0],
                "service": draw(st.sampled_from(services)),
                "end_date": None,
                "status": "ongoing",
            }
        )
    outcomes = []
    for _ in range(draw(st.integers(0, 5))):
        start = draw(days)
        end = draw(st.none() | st.integers(start - 10, start + 600))
        outcomes.append(
            {
                "status": draw(st.sampled_from(OUTCOME_STATUSES)),
                "start_date": BASE + timedelta(days=start),
                "end_date": None if end is None else BASE + timedelta(days=end),
            }
        )
    decision = BASE + timedelta(days=draw(days))
    return client, episodes, outcomes, decision


def _frames(
    client: dict[str, Any], episodes: list[dict[str, Any]], outcomes: list[dict[str, Any]]
) -> tuple[pd.DataFrame, ...]:
    def dates(values: list[Any]) -> pd.Series:
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)), dtype="datetime64[us]")

    clients = pd.DataFrame([client])
    for column in ("intake_date", "arrival_date"):
        clients[column] = dates([client[column]])
    ep = pd.DataFrame(
        episodes,
        columns=[
            "service",
            "start_date",
            "end_date",
            "status",
            "language_level_after",
            "planned_service",
        ],
    )
    ep.insert(0, "client_id", "c1")
    out = pd.DataFrame(outcomes, columns=["status", "start_date", "end_date"])
    out.insert(0, "client_id", "c1")
    for frame in (ep, out):
        for column in ("start_date", "end_date"):
            frame[column] = dates(list(frame[column]))
    return clients, ep, out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == pytest.approx(b, rel=1e-12, abs=1e-12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_client_features_equal_features_at(history: tuple[Any, ...]) -> None:
    client, episodes, outcomes, decision = history
    clients, ep, out = _frames(client, episodes, outcomes)
    points = pd.DataFrame({"client_id": ["c1"], "decision_date": [pd.Timestamp(decision)]})
    expected = features_at(clients, ep, out, points, catalogue=CATALOGUE, config=CONFIG).iloc[0]
    got = client_features(
        client, episodes, outcomes, decision, services=CATALOGUE.service_codes, extras=EXTRAS
    )
    names = [f.name for f in feature_catalogue(CATALOGUE.service_codes, EXTRAS)]
    assert list(got) == names
    differ = {n: (got[n], expected[n]) for n in names if not _same(got[n], expected[n])}
    assert not differ


def test_equal_on_the_factory_path_at_every_step() -> None:
    """The eight-step factory path, at dates before, on and after each record."""
    tables = make_tables(n_clients=3)
    for i in range(3):
        row = tables.clients.iloc[i]
        client = {k: (None if pd.isna(v) else v) for k, v in row.items()}
        client["intake_date"] = row["intake_date"].date()
        client["arrival_date"] = row["arrival_date"].date()
        cid = row["client_id"]
        ep = tables.episodes[tables.episodes.client_id == cid]
        out = tables.outcomes[tables.outcomes.client_id == cid]
        episodes = [
            {
                k: (None if pd.isna(v) else (v.date() if isinstance(v, pd.Timestamp) else v))
                for k, v in r.items()
                if k != "client_id"
            }
            for r in ep.to_dict("records")
        ]
        outcomes = [
            {
                k: (None if pd.isna(v) else (v.date() if isinstance(v, pd.Timestamp) else v))
                for k, v in r.items()
                if k != "client_id"
            }
            for r in out.to_dict("records")
        ]
        probes = sorted(
            {
                d + timedelta(days=s)
                for e in episodes + outcomes
                for d in (e["start_date"], e["end_date"])
                if d
                for s in (-1, 0, 1)
            }
        )
        points = pd.DataFrame({"client_id": cid, "decision_date": pd.to_datetime(probes)})
        expected = features_at(
            tables.clients,
            tables.episodes,
            tables.outcomes,
            points,
            catalogue=CATALOGUE,
            config=RunConfig(),
        )
        for j, probe in enumerate(probes):
            got = client_features(
                client, episodes, outcomes, probe, services=CATALOGUE.service_codes
            )
            want = expected.iloc[j]
            assert all(_same(got[n], want[n]) for n in got), probe


def test_check_features_accepts_converted_features_and_names_the_broken_one() -> None:
    features_list = feature_catalogue(CATALOGUE.service_codes)
    client = {
        "intake_date": BASE,
        "arrival_date": BASE,
        "birth_year": 1990,
        "finnish_level": "A1",
        "literacy_needs": False,
    }
    features = client_features(
        client, [], [], BASE + timedelta(days=30), services=CATALOGUE.service_codes
    )
    check_features(features, features_list)
    with pytest.raises(DataContractError, match="n_services: out of range"):
        check_features({**features, "n_services": -1.0}, features_list)
    with pytest.raises(DataContractError, match="gender: not a category"):
        check_features({**features, "gender": 3.0}, features_list)
    with pytest.raises(DataContractError, match="finnish_level: out of range"):
        check_features({**features, "finnish_level": 7.0}, features_list)
    with pytest.raises(DataContractError, match="unexpected feature"):
        check_features({**features, "surprise": 1.0}, features_list)
