"""Decision points and their features against hand computations (docs/data.md).

One small world, worked out by hand below, covers every feature and every
action rule; a hypothesis property then checks the vectorised features against
a plain, row-by-row reading of the documented definitions.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from model.catalogue import Catalogue, load_catalogue, parse_catalogue
from model.config import RunConfig
from model.decision_points.build import build_decision_points
from model.decision_points.features import features_at
from model.decision_points.points import ID_COLUMNS, DecisionPoints, eligible_column
from model.errors import DataContractError
from model.features import DAYS_PER_MONTH, DAYS_PER_YEAR, feature_catalogue
from model.vocab import CEFR_RANK
from tests.support.histories import (
    CLIENT_IDS,
    Row,
    clients_frame,
    day,
    episodes_frame,
    offsets,
    outcomes_frame,
    worlds,
)

NaT = pd.NaT
World = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]
EXTRACT = date(2022, 12, 31)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def client(client_id: str, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "client_id": client_id,
        "intake_date": ts("2020-01-01"),
        "arrival_date": ts("2019-07-01"),
        "birth_year": 1990,
        "gender": "female",
        "mother_tongue": "ar",
        "citizenship_region": "middle_east",
        "residence_basis": "family",
        "education_level": "bachelor",
        "prior_work_years": 2.5,
        "literacy_needs": False,
        "finnish_level": "A1",
        "health_limitation": True,
        "children_under_school_age": 2,
    }
    row.update(overrides)
    return row


def episode(
    client_id: str,
    service: str,
    start: str,
    end: str | None,
    status: str,
    level: str | None = None,
    planned: str | None = None,
) -> dict[str, object]:
    return {
        "client_id": client_id,
        "service": service,
        "start_date": ts(start),
        "end_date": NaT if end is None else ts(end),
        "status": status,
        "language_level_after": level,
        "planned_service": planned,
    }


def outcome(client_id: str, status: str, start: str, end: str | None) -> dict[str, object]:
    return {
        "client_id": client_id,
        "status": status,
        "start_date": ts(start),
        "end_date": NaT if end is None else ts(end),
    }


def tables(
    clients: list[dict[str, object]],
    episodes: list[dict[str, object]],
    outcomes: list[dict[str, object]],
) -> World:
    c = pd.DataFrame(clients)
    for column in ("literacy_needs", "health_limitation"):
        if column in c:
            c[column] = c[column].astype("boolean")
    e = pd.DataFrame(
        episodes,
        columns=[
            "client_id",
            "service",
            "start_date",
            "end_date",
            "status",
            "language_level_after",
            "planned_service",
        ],
    )
    o = pd.DataFrame(outcomes, columns=["client_id", "status", "start_date", "end_date"])
    for frame in (e, o):
        for column in ("start_date", "end_date"):
            frame[column] = frame[column].astype("datetime64[ns]")
    return c, e, o


def build(
    catalogue: Catalogue,
    world: World,
    **config: object,
) -> DecisionPoints:
    run = RunConfig.model_validate({"extract_date": EXTRACT, **config})
    return build_decision_points(*world, catalogue=catalogue, config=run)


def row_at(points: DecisionPoints, client_id: str, when: str) -> pd.Series:
    frame = points.frame
    rows = frame[(frame["client_id"] == client_id) & (frame["decision_date"] == ts(when))]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# -- the worked example ---------------------------------------------------------
#
# Client A: intake 2020-01-01, arrived 2019-07-01, born 1990, Finnish A1.
#   initial_assessment    2020-01-10 .. 2020-01-31 completed
#   review                2020-02-03 (followed by a start on 02-20: not a decision)
#   integration_training  2020-02-20 .. 2020-08-31 interrupted, reached A2
#   review                2020-09-15 (next start 11-01, 47 days later: a decision)
#   job_search_coaching   2020-11-01 .. (ongoing)
#   unemployed 2020-01-01 .. 2020-06-30, unemployed 2020-09-01 .. ; employed 2021-05-01 ..


@pytest.fixture(scope="module")
def world_a() -> World:
    return tables(
        [client("A")],
        [
            episode("A", "initial_assessment", "2020-01-10", "2020-01-31", "completed"),
            episode("A", "review", "2020-02-03", "2020-02-03", "completed"),
            episode("A", "integration_training", "2020-02-20", "2020-08-31", "interrupted", "A2"),
            episode("A", "review", "2020-09-15", "2020-09-15", "completed"),
            episode("A", "job_search_coaching", "2020-11-01", None, "ongoing"),
        ],
        [
            outcome("A", "unemployed", "2020-01-01", "2020-06-30"),
            outcome("A", "unemployed", "2020-09-01", None),
            outcome("A", "employed", "2021-05-01", None),
        ],
    )


def test_the_decisions_of_the_worked_example(catalogue: Catalogue, world_a: World) -> None:
    points = build(catalogue, world_a)
    frame = points.frame
    assert list(frame["decision_date"]) == [
        ts("2020-01-10"),
        ts("2020-02-20"),
        ts("2020-09-15"),
        ts("2020-11-01"),
    ]
    assert list(frame["kind"]) == ["service_start", "service_start", "review", "service_start"]
    assert list(frame["action"]) == [
        "initial_assessment",
        "integration_training",
        "no_new_service",
        "job_search_coaching",
    ]
    assert frame["action_known"].all()
    assert list(frame["dp_id"]) == [
        "A|2020-01-10|0",
        "A|2020-02-20|0",
        "A|2020-09-15|0",
        "A|2020-11-01|0",
    ]
    # employed from 2021-05-01: 477, 436, 228 and 181 days after the decisions
    assert list(frame["label"]) == [0.0, 0.0, 1.0, 1.0]
    assert not frame["censored"].any()


def test_the_features_of_the_worked_example(catalogue: Catalogue, world_a: World) -> None:
    points = build(catalogue, world_a)
    d = row_at(points, "A", "2020-11-01")
    # profile
    assert d["age"] == 2020 - 1990
    assert d["gender"] == "female"
    assert d["mother_tongue"] == "ar"
    assert d["citizenship_region"] == "middle_east"
    assert d["residence_basis"] == "family"
    assert d["education_level"] == "bachelor"
    assert d["prior_work_years"] == 2.5
    assert d["literacy_needs"] == 0.0
    assert d["health_limitation"] == 1.0
    assert d["children_under_school_age"] == 2.0
    assert d["finnish_level_intake"] == CEFR_RANK["A1"]
    # time: 2019-07-01 .. 2020-11-01 is 489 days, 2020-01-01 .. 2020-11-01 is 305
    assert d["years_since_arrival"] == pytest.approx(489 / DAYS_PER_YEAR)
    assert d["months_since_intake"] == pytest.approx(305 / DAYS_PER_MONTH)
    # progress: two services before d (job search starts on d, so not yet)
    assert d["n_services"] == 2
    assert d["n_interrupted"] == 1
    assert d["completed_initial_assessment"] == 1
    assert d["completed_integration_training"] == 0
    assert d["completed_job_search_coaching"] == 0
    assert d["in_service"] == 0.0
    assert d["last_service"] == "integration_training"
    assert d["last_service_status"] == "interrupted"
    assert d["days_since_last_service_end"] == 62  # 2020-08-31 .. 2020-11-01
    assert d["n_reviews"] == 2
    assert d["finnish_level"] == CEFR_RANK["A2"]  # A2 reached in integration training
    # 2020-01-01 .. 06-30 is 181 days (leap year), 2020-09-01 .. 11-01 is 61
    assert d["months_unemployed"] == pytest.approx((181 + 61) / DAYS_PER_MONTH)

    early = row_at(points, "A", "2020-02-20")
    assert early["n_services"] == 1
    assert early["completed_initial_assessment"] == 1
    assert early["last_service"] == "initial_assessment"
    assert early["last_service_status"] == "completed"
    assert early["days_since_last_service_end"] == 20  # 2020-01-31 .. 02-20
    assert early["n_reviews"] == 1
    assert early["finnish_level"] == CEFR_RANK["A1"]
    assert early["months_unemployed"] == pytest.approx(50 / DAYS_PER_MONTH)  # 31 + 19 days

    first = row_at(points, "A", "2020-01-10")
    assert first["n_services"] == 0
    assert first["last_service"] == "none"
    assert first["last_service_status"] == "none"
    assert math.isnan(first["days_since_last_service_end"])
    assert first["n_reviews"] == 0

    review = row_at(points, "A", "2020-09-15")
    assert review["last_service_status"] == "interrupted"
    assert review["months_unemployed"] == pytest.approx((181 + 14) / DAYS_PER_MONTH)


def test_the_frame_has_the_documented_columns(catalogue: Catalogue, world_a: World) -> None:
    points = build(catalogue, world_a)
    names = [f.name for f in feature_catalogue(catalogue.service_codes)]
    eligible = [eligible_column(a) for a in catalogue.actions]
    assert list(points.frame.columns) == [*ID_COLUMNS, *names, *eligible]
    assert points.feature_names == tuple(names)
    assert points.actions == catalogue.actions
    assert points.extract_date == EXTRACT
    assert "gender" not in points.model_feature_names
    assert "education_level" in points.model_feature_names
    assert points.eligibility().shape == (4, len(catalogue.actions))


def small_catalogue(rules: dict[str, str]) -> Catalogue:
    """A catalogue of the given services and rules (independent of the default file)."""
    entries = [
        f"""
[[service]]
code = "{code}"
name = {{ fi = "{code}", sv = "{code}", en = "{code}" }}
description = {{ fi = "{code}", sv = "{code}", en = "{code}" }}
eligibility = "{rule}"
"""
        for code, rule in rules.items()
    ]
    return parse_catalogue("".join(entries), source="test")


def test_eligibility_follows_the_catalogue_rules(world_a: World) -> None:
    catalogue = small_catalogue(
        {
            "initial_assessment": "completed_initial_assessment == 0",
            "rehabilitation_support": "health_limitation",
            "pay_subsidy": "months_unemployed >= 3",
            "bridging": "education_level in [bachelor, master_or_higher] and finnish_level >= A2",
            "coaching": "last_service == integration_training",
        }
    )
    points = build(catalogue, world_a)
    frame = points.frame
    assert points.actions == (*catalogue.service_codes, "no_new_service")
    assert frame[eligible_column("no_new_service")].all()
    # the first decision is the only one before the assessment was completed
    assert list(frame[eligible_column("initial_assessment")]) == [True, False, False, False]
    # A has a health limitation
    assert frame[eligible_column("rehabilitation_support")].all()
    # 9, 50, 195 and 242 days of unemployment
    assert list(frame[eligible_column("pay_subsidy")]) == [False, False, True, True]
    # a bachelor, who reached A2 in integration training (ended 2020-08-31)
    assert list(frame[eligible_column("bridging")]) == [False, False, True, True]
    assert list(frame[eligible_column("coaching")]) == [False, False, True, True]
    # completed_<svc> columns follow the catalogue's services
    assert "completed_bridging" in frame.columns
    assert "completed_work_trial" not in frame.columns


# -- episodes still running on the decision date ---------------------------------


def test_an_episode_running_on_the_decision_date_is_ongoing_whatever_its_final_status(
    catalogue: Catalogue,
) -> None:
    world = tables(
        [client("B", finnish_level="A0")],
        [
            episode("B", "integration_training", "2020-03-01", "2020-12-31", "interrupted", "B1"),
            episode("B", "work_trial", "2020-06-01", "2020-07-01", "completed"),
        ],
        [],
    )
    points = build(catalogue, world)
    d = row_at(points, "B", "2020-06-01")
    assert d["in_service"] == 1.0
    assert d["last_service"] == "integration_training"
    assert d["last_service_status"] == "ongoing"
    assert d["n_interrupted"] == 0
    assert d["completed_integration_training"] == 0
    assert d["finnish_level"] == CEFR_RANK["A0"]  # B1 is only reached at the end
    assert math.isnan(d["days_since_last_service_end"])


def test_an_episode_ending_on_the_decision_date_is_still_ongoing(catalogue: Catalogue) -> None:
    world = tables(
        [client("B")],
        [
            episode("B", "integration_training", "2020-03-01", "2020-06-01", "completed", "B1"),
            episode("B", "work_trial", "2020-06-01", None, "ongoing"),
        ],
        [],
    )
    d = row_at(build(catalogue, world), "B", "2020-06-01")
    assert d["last_service_status"] == "ongoing"
    assert d["in_service"] == 1.0
    assert d["completed_integration_training"] == 0
    assert d["finnish_level"] == CEFR_RANK["A1"]


def test_same_day_starts_rank_by_what_was_known_on_the_date(catalogue: Catalogue) -> None:
    world = tables(
        [client("C")],
        [
            episode("C", "work_trial", "2020-03-01", "2020-03-10", "completed"),
            episode("C", "initial_assessment", "2020-03-01", "2020-05-01", "interrupted"),
        ],
        [],
    )
    points = pd.DataFrame(
        {"client_id": ["C", "C"], "decision_date": [ts("2020-04-01"), ts("2020-06-01")]}
    )
    got = features_at(*world, points, catalogue=catalogue, config=RunConfig())
    # on 04-01 the assessment is still running: it beats the ended work trial
    assert list(got["last_service"]) == ["initial_assessment", "initial_assessment"]
    assert list(got["last_service_status"]) == ["ongoing", "interrupted"]
    # both ended by 06-01: the later end (05-01) wins
    assert list(got["days_since_last_service_end"]) == [22.0, 31.0]


# -- the action rules of reviews --------------------------------------------------


def review_world(
    review_day: str,
    *,
    planned: str | None = None,
    episodes: tuple[dict[str, object], ...] = (),
    outcomes: tuple[dict[str, object], ...] = (),
) -> World:
    return tables(
        [client("R")],
        [episode("R", "review", review_day, review_day, "completed", planned=planned), *episodes],
        list(outcomes),
    )


def reviews_of(points: DecisionPoints) -> pd.DataFrame:
    return points.frame[points.frame["kind"] == "review"]


@pytest.mark.parametrize(("gap", "is_decision"), [(0, False), (29, False), (30, False), (31, True)])
def test_a_review_followed_by_a_start_within_the_window_is_not_a_decision(
    catalogue: Catalogue, gap: int, is_decision: bool
) -> None:
    start = (date(2021, 1, 10) + timedelta(days=gap)).isoformat()
    world = review_world(
        "2021-01-10", episodes=(episode("R", "work_trial", start, None, "ongoing"),)
    )
    points = build(catalogue, world)
    reviews = reviews_of(points)
    assert len(reviews) == int(is_decision)
    if is_decision:
        assert reviews["action"].iloc[0] == "no_new_service"
        assert reviews["action_known"].iloc[0]
    assert (points.frame["kind"] == "service_start").sum() == 1


def test_a_review_followed_by_another_review_only_is_a_decision(catalogue: Catalogue) -> None:
    world = review_world(
        "2021-01-10", episodes=(episode("R", "review", "2021-01-20", "2021-01-20", "completed"),)
    )
    reviews = reviews_of(build(catalogue, world))
    assert list(reviews["action"]) == ["no_new_service", "no_new_service"]
    assert list(reviews["n_reviews"]) == [0.0, 1.0]


@pytest.mark.parametrize(
    "status", ["employed", "education", "subsidised_employment", "inactive", "moved_away"]
)
def test_a_review_cut_short_by_an_outcome_has_an_unknown_action(
    catalogue: Catalogue, status: str
) -> None:
    world = review_world("2021-01-10", outcomes=(outcome("R", status, "2021-01-25", None),))
    review = reviews_of(build(catalogue, world)).iloc[0]
    assert not review["action_known"]
    assert pd.isna(review["action"])
    assert review["label"] == (1.0 if status in ("employed", "education") else 0.0)


def test_an_unemployment_spell_does_not_cut_a_review_short(catalogue: Catalogue) -> None:
    world = review_world("2021-01-10", outcomes=(outcome("R", "unemployed", "2021-01-25", None),))
    review = reviews_of(build(catalogue, world)).iloc[0]
    assert review["action"] == "no_new_service"


def test_an_outcome_after_the_window_does_not_cut_it_short(catalogue: Catalogue) -> None:
    world = review_world("2021-01-10", outcomes=(outcome("R", "employed", "2021-02-10", None),))
    review = reviews_of(build(catalogue, world)).iloc[0]  # 31 days later
    assert review["action"] == "no_new_service"
    assert review["label"] == 1.0


@pytest.mark.parametrize("planned", ["work_trial", "no_new_service"])
def test_a_recorded_planned_service_is_the_action(catalogue: Catalogue, planned: str) -> None:
    world = review_world(
        "2021-01-10",
        planned=planned,
        outcomes=(outcome("R", "employed", "2021-01-20", None),),
    )
    review = reviews_of(build(catalogue, world)).iloc[0]
    assert review["action"] == planned
    assert review["action_known"]


@pytest.mark.parametrize("planned", ["", "  ", "unknown", None])
def test_an_empty_or_unknown_planned_service_is_not_recorded(
    catalogue: Catalogue, planned: str | None
) -> None:
    world = review_world(
        "2021-01-10", planned=planned, outcomes=(outcome("R", "employed", "2021-01-20", None),)
    )
    assert not reviews_of(build(catalogue, world)).iloc[0]["action_known"]


@pytest.mark.parametrize(
    ("review_day", "planned", "action"),
    [
        ("2022-12-15", None, None),  # window runs past the extract date
        ("2022-12-15", "work_trial", "work_trial"),
        ("2022-12-01", None, "no_new_service"),  # 12-01 + 30 days = 12-31: complete
        ("2022-12-02", None, None),
    ],
)
def test_a_review_whose_window_is_not_observed_has_an_unknown_action(
    catalogue: Catalogue, review_day: str, planned: str | None, action: str | None
) -> None:
    review = reviews_of(build(catalogue, review_world(review_day, planned=planned))).iloc[0]
    if action is None:
        assert pd.isna(review["action"])
        assert not review["action_known"]
    else:
        assert review["action"] == action
        assert review["action_known"]
    assert review["censored"]
    assert math.isnan(review["label"])


# -- labels and censoring -----------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "label"),
    [(-1, 0.0), (0, 1.0), (1, 1.0), (364, 1.0), (365, 1.0), (366, 0.0)],
)
def test_the_label_horizon_includes_its_last_day(
    catalogue: Catalogue, offset: int, label: float
) -> None:
    start = (date(2020, 3, 1) + timedelta(days=offset)).isoformat()
    world = tables(
        [client("L")],
        [episode("L", "work_trial", "2020-03-01", "2020-04-01", "completed")],
        [outcome("L", "employed", start, None)],
    )
    assert build(catalogue, world).frame["label"].tolist() == [label]


@pytest.mark.parametrize(
    ("offset", "label"),
    [(31, 1.0), (394, 1.0), (395, 1.0), (396, 0.0)],
)
def test_an_inferred_review_counts_its_horizon_from_the_window_end(
    catalogue: Catalogue, offset: int, label: float
) -> None:
    # Its action is known only when the 30-day window has passed without a
    # start, so it is compared from then, as a service is from its start.
    found = (date(2021, 1, 10) + timedelta(days=offset)).isoformat()
    world = review_world("2021-01-10", outcomes=(outcome("R", "employed", found, None),))
    review = reviews_of(build(catalogue, world)).iloc[0]
    assert review["action_source"] == "inferred"
    assert review["label"] == label


def test_a_recorded_plan_counts_its_horizon_from_the_review(catalogue: Catalogue) -> None:
    world = review_world(
        "2021-01-10",
        planned="no_new_service",
        outcomes=(outcome("R", "employed", "2022-01-11", None),),  # 366 days later
    )
    review = reviews_of(build(catalogue, world)).iloc[0]
    assert review["action_source"] == "planned_service"
    assert review["label"] == 0.0


@pytest.mark.parametrize(
    ("review_day", "censored"),
    [("2021-12-01", False), ("2021-12-02", True)],  # 12-01 + 30 + 365 days = 2022-12-31
)
def test_an_inferred_review_is_censored_when_its_shifted_horizon_is_not_observed(
    catalogue: Catalogue, review_day: str, censored: bool
) -> None:
    review = reviews_of(build(catalogue, review_world(review_day))).iloc[0]
    assert review["action_source"] == "inferred"
    assert bool(review["censored"]) is censored


def test_the_target_decides_which_spells_count(catalogue: Catalogue) -> None:
    world = tables(
        [client("L")],
        [episode("L", "work_trial", "2020-03-01", "2020-04-01", "completed")],
        [outcome("L", "education", "2020-09-01", None)],
    )
    assert build(catalogue, world).frame["label"].tolist() == [1.0]
    assert build(catalogue, world, target="employment").frame["label"].tolist() == [0.0]
    assert build(catalogue, world, horizon_days=90).frame["label"].tolist() == [0.0]


@pytest.mark.parametrize(
    ("start", "censored"),
    [("2022-01-01", False), ("2022-01-02", True)],  # 2022-01-01 + 364 days = 2022-12-31
)
def test_points_whose_horizon_runs_past_the_extract_date_are_censored(
    catalogue: Catalogue, start: str, censored: bool
) -> None:
    world = tables(
        [client("L")],
        [episode("L", "work_trial", start, None, "ongoing")],
        [outcome("L", "employed", "2022-03-01", None)],
    )
    row = build(catalogue, world, horizon_days=364).frame.iloc[0]
    assert bool(row["censored"]) is censored
    if censored:
        assert math.isnan(row["label"])
    else:
        assert row["label"] == 1.0


def test_the_extract_date_defaults_to_the_latest_date_in_the_tables(
    catalogue: Catalogue,
) -> None:
    world = tables(
        [client("L")],
        [episode("L", "work_trial", "2020-03-01", "2020-04-01", "completed")],
        [outcome("L", "employed", "2020-05-01", "2021-03-01")],
    )
    run = RunConfig()
    points = build_decision_points(*world, catalogue=catalogue, config=run)
    assert points.extract_date == date(2021, 3, 1)
    assert not points.frame["censored"].iloc[0]  # 2020-03-01 + 365 days = 2021-03-01


def test_labelled_rows_are_known_and_uncensored(catalogue: Catalogue) -> None:
    world = tables(
        [client("A"), client("R")],
        [
            episode("A", "work_trial", "2020-03-01", None, "ongoing"),
            episode("A", "work_trial", "2022-10-01", None, "ongoing"),
            episode("R", "review", "2021-01-10", "2021-01-10", "completed"),
        ],
        [outcome("R", "employed", "2021-01-20", None)],
    )
    points = build(catalogue, world)
    labelled = points.labelled()
    assert list(labelled["dp_id"]) == ["A|2020-03-01|0"]


# -- ids, order and profile conversions ---------------------------------------------


def test_dp_ids_number_points_of_the_same_day(catalogue: Catalogue) -> None:
    world = tables(
        [client("b"), client("a")],
        [
            episode("b", "work_trial", "2020-03-01", None, "ongoing"),
            episode("b", "initial_assessment", "2020-03-01", "2020-03-02", "completed"),
            episode("b", "review", "2020-05-01", "2020-05-01", "completed"),
            episode("a", "work_trial", "2020-04-01", None, "ongoing"),
        ],
        [],
    )
    frame = build(catalogue, world).frame
    assert list(frame["dp_id"]) == [
        "a|2020-04-01|0",
        "b|2020-03-01|0",
        "b|2020-03-01|1",
        "b|2020-05-01|0",
    ]
    assert list(frame["action"]) == [
        "work_trial",
        "initial_assessment",
        "work_trial",
        "no_new_service",
    ]


def test_missing_profile_values(catalogue: Catalogue) -> None:
    row = client(
        "M",
        gender=None,
        education_level="",
        finnish_level="unknown",
        prior_work_years=None,
        literacy_needs=None,
        birth_year=None,
    )
    world = tables([row], [], [])
    world[0].drop(columns=["health_limitation", "children_under_school_age"], inplace=True)
    points = pd.DataFrame({"client_id": ["M"], "decision_date": [ts("2020-05-01")]})
    got = features_at(*world, points, catalogue=catalogue, config=RunConfig()).iloc[0]
    assert got["gender"] == "unknown"
    assert got["education_level"] == "unknown"
    for name in (
        "finnish_level_intake",
        "finnish_level",
        "prior_work_years",
        "literacy_needs",
        "health_limitation",
        "children_under_school_age",
        "age",
    ):
        assert math.isnan(got[name]), name
    assert got["months_unemployed"] == 0.0
    assert got["in_service"] == 0.0


def test_extra_features_are_typed_as_declared(catalogue: Catalogue) -> None:
    world = tables(
        [
            client("X", district="north", driving_licence=True, commute_km=12),
            client("Y", district=None, driving_licence=None, commute_km=None),
        ],
        [],
        [],
    )
    run = RunConfig(
        extra_features={
            "district": "categorical",
            "driving_licence": "boolean",
            "commute_km": "numeric",
        }
    )
    points = pd.DataFrame({"client_id": ["X", "Y"], "decision_date": [ts("2020-05-01")] * 2})
    got = features_at(*world, points, catalogue=catalogue, config=run)
    assert list(got["district"]) == ["north", "unknown"]
    assert got["driving_licence"].iloc[0] == 1.0 and math.isnan(got["driving_licence"].iloc[1])
    assert got["commute_km"].iloc[0] == 12.0 and math.isnan(got["commute_km"].iloc[1])


def test_features_at_keeps_the_index_and_order_of_the_points(
    catalogue: Catalogue, world_a: World
) -> None:
    points = pd.DataFrame(
        {"client_id": ["A", "A"], "decision_date": [ts("2020-11-01"), ts("2020-02-20")]},
        index=[7, 3],
    )
    got = features_at(*world_a, points, catalogue=catalogue, config=RunConfig())
    assert list(got.index) == [7, 3]
    assert list(got["n_services"]) == [2.0, 1.0]
    assert list(got.columns[:2]) == ["client_id", "decision_date"]


def test_unknown_clients_and_missing_dates_are_refused(
    catalogue: Catalogue, world_a: World
) -> None:
    unknown = pd.DataFrame({"client_id": ["nobody"], "decision_date": [ts("2020-05-01")]})
    with pytest.raises(DataContractError, match="not in clients"):
        features_at(*world_a, unknown, catalogue=catalogue, config=RunConfig())
    undated = pd.DataFrame({"client_id": ["A"], "decision_date": [NaT]})
    with pytest.raises(DataContractError, match="no decision_date"):
        features_at(*world_a, undated, catalogue=catalogue, config=RunConfig())
    clients, episodes, outcomes = world_a
    twice = pd.concat([clients, clients], ignore_index=True)
    with pytest.raises(DataContractError, match="more than once"):
        build_decision_points(twice, episodes, outcomes, catalogue=catalogue, config=RunConfig())


def test_empty_history_gives_an_empty_frame(catalogue: Catalogue) -> None:
    world = tables([client("E")], [], [])
    points = build(catalogue, world)
    assert len(points) == 0
    assert list(points.frame.columns)[: len(ID_COLUMNS)] == list(ID_COLUMNS)


# -- the vectorised features against a row-by-row reading of the definitions ---------


def oracle(
    clients: list[Row],
    episodes: list[Row],
    outcomes: list[Row],
    client_id: str,
    d: int,
    services: tuple[str, ...],
) -> dict[str, object]:
    """The documented features of one point, computed the slow and obvious way.

    Rows are as generated in tests.support.histories: dates are day offsets, None
    when missing.
    """

    def ended_before_d(e: Row) -> bool:
        return e["end_date"] is not None and e["end_date"] < d

    profile = next(r for r in clients if r["client_id"] == client_id)
    before = [e for e in episodes if e["client_id"] == client_id and e["start_date"] < d]
    started = [e for e in before if e["service"] != "review"]
    ended = [e for e in started if ended_before_d(e)]
    out: dict[str, object] = {
        "n_services": float(len(started)),
        "n_reviews": float(len(before) - len(started)),
        "n_interrupted": float(sum(e["status"] == "interrupted" for e in ended)),
        "in_service": float(len(ended) < len(started)),
        "days_since_last_service_end": (
            float(d - max(e["end_date"] for e in ended)) if ended else math.nan
        ),
    }
    for code in services:
        out[f"completed_{code}"] = float(
            sum(e["service"] == code and e["status"] == "completed" for e in ended)
        )

    def as_of_d(e: Row) -> tuple[float, str, str]:
        """Rank among same-day starts: ongoing first, then later end, code, status."""
        if ended_before_d(e):
            return (float(e["end_date"]), e["service"], e["status"])
        return (math.inf, e["service"], "ongoing")

    out["last_service"] = out["last_service_status"] = "none"
    if started:
        latest = max(e["start_date"] for e in started)
        last = max(as_of_d(e) for e in started if e["start_date"] == latest)
        out["last_service"], out["last_service_status"] = last[1], last[2]

    levels = [CEFR_RANK[e["language_level_after"]] for e in ended if e["language_level_after"]]
    if profile["finnish_level"] in CEFR_RANK:
        levels.append(CEFR_RANK[profile["finnish_level"]])
    out["finnish_level"] = float(max(levels)) if levels else math.nan

    unemployed = 0
    for o in outcomes:
        if o["client_id"] == client_id and o["status"] == "unemployed":
            stop = d if o["end_date"] is None else min(o["end_date"], d)
            unemployed += max(0, stop - o["start_date"])
    out["months_unemployed"] = unemployed / DAYS_PER_MONTH
    return out


@settings(max_examples=100, deadline=None, derandomize=True)
@given(world=worlds(), d=offsets(0, 520))
def test_vectorised_features_match_the_definitions(
    catalogue: Catalogue, world: tuple[list[Row], list[Row], list[Row]], d: int
) -> None:
    client_rows, episode_rows, outcome_rows = world
    points = pd.DataFrame({"client_id": list(CLIENT_IDS), "decision_date": day(d)})
    got = features_at(
        clients_frame(client_rows),
        episodes_frame(episode_rows),
        outcomes_frame(outcome_rows),
        points,
        catalogue=catalogue,
        config=RunConfig(),
    )
    for i, client_id in enumerate(CLIENT_IDS):
        want = oracle(
            client_rows, episode_rows, outcome_rows, client_id, d, catalogue.service_codes
        )
        row = got.iloc[i]
        for name, value in want.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(row[name]), (client_id, name, row[name])
            elif isinstance(value, float):
                assert row[name] == pytest.approx(value), (client_id, name, row[name], value)
            else:
                assert row[name] == value, (client_id, name, row[name], value)
        intake = client_rows[i]["intake_date"]
        assert row["months_since_intake"] == pytest.approx(
            (day(d) - intake).days / DAYS_PER_MONTH  # type: ignore[operator]
        )
        assert row["age"] == day(d).year - client_rows[i]["birth_year"]  # type: ignore[operator]
    assert np.isfinite(got["years_since_arrival"]).all()


def test_the_first_event_from_a_day_is_the_clients_own() -> None:
    from model.decision_points.events import SortedEvents

    events = SortedEvents(3, np.array([0, 0, 1]), np.array([10.0, 20.0, 5.0]))
    codes = np.array([0, 0, 0, 1, 2])
    days = np.array([10.0, 11.0, 21.0, 6.0, 0.0])
    np.testing.assert_array_equal(
        events.first_from(codes, days), [10.0, 20.0, np.inf, np.inf, np.inf]
    )
    np.testing.assert_array_equal(
        events.first_from(codes[:1], days[:1], strictly_after=True), [20.0]
    )
