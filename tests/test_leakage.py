"""No leakage from after the decision date, and no dependence on row order.

Hypothesis generates small client histories, a decision date d and arbitrary
changes to what happened on or after d: records starting on/after d are
added, rewritten or deleted; episodes and spells still open on d get other
end dates (on/after d), and those episodes another final status and language
level. None of it may change any feature of any client at d.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.catalogue import Catalogue, load_catalogue
from model.config import RunConfig
from model.decision_points.build import build_decision_points
from model.decision_points.features import features_at
from model.vocab import CEFR_LEVELS, OUTCOME_STATUSES

BASE = date(2020, 1, 1)
HORIZON = 500  # generated dates lie in BASE + [0, HORIZON] (ends a little later)
CLIENT_IDS = ("k1", "k2", "k3")
SERVICES = (
    "initial_assessment",
    "integration_training",
    "job_search_coaching",
    "work_trial",
    "review",
)
PLANNED = (None, "", "unknown", "work_trial", "no_new_service")
EPISODE_STATUSES = ("completed", "interrupted", "ongoing")

Row = dict[str, Any]  # a generated table row; dates as day offsets from BASE

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True)


def day(offset: int | None) -> pd.Timestamp:
    return pd.NaT if offset is None else pd.Timestamp(BASE + timedelta(days=offset))


# -- strategies -------------------------------------------------------------

GRID = 25  # half of the dates fall on a coarse grid, so that ties and boundaries happen


def offsets(low: int, high: int) -> st.SearchStrategy[int]:
    """Day offsets in [low, high], often on multiples of GRID."""
    return st.integers(low, high) | st.integers(-(-low // GRID), high // GRID).map(
        lambda k: k * GRID
    )


@st.composite
def episode_row(draw: st.DrawFn, min_start: int = 0) -> Row:
    start = draw(offsets(min_start, HORIZON))
    end = draw(st.none() | offsets(start, HORIZON + 60))
    service = draw(st.sampled_from(SERVICES))
    return {
        "client_id": draw(st.sampled_from(CLIENT_IDS)),
        "service": service,
        "start_date": start,
        "end_date": end,
        "status": "ongoing" if end is None else draw(st.sampled_from(EPISODE_STATUSES[:2])),
        "language_level_after": draw(st.none() | st.sampled_from(CEFR_LEVELS)),
        "planned_service": draw(st.sampled_from(PLANNED)) if service == "review" else None,
    }


@st.composite
def outcome_row(draw: st.DrawFn, min_start: int = 0) -> Row:
    start = draw(offsets(min_start, HORIZON))
    return {
        "client_id": draw(st.sampled_from(CLIENT_IDS)),
        "status": draw(st.sampled_from(OUTCOME_STATUSES)),
        "start_date": start,
        "end_date": draw(st.none() | offsets(start, HORIZON + 60)),
    }


@st.composite
def client_row(draw: st.DrawFn, client_id: str) -> Row:
    intake = draw(st.integers(-200, 0))
    return {
        "client_id": client_id,
        "intake_date": day(intake),
        "arrival_date": day(intake - draw(st.integers(0, 900))),
        "birth_year": draw(st.integers(1950, 2000)),
        "gender": draw(st.sampled_from(["female", "male", "other", "unknown", None])),
        "mother_tongue": draw(st.sampled_from(["ar", "ru", "so"])),
        "citizenship_region": draw(st.sampled_from(["africa", "asia"])),
        "residence_basis": draw(st.sampled_from(["work", "family", "humanitarian"])),
        "education_level": draw(st.sampled_from(["none", "secondary", "bachelor"])),
        "prior_work_years": draw(st.none() | st.floats(0, 20)),
        "literacy_needs": draw(st.none() | st.booleans()),
        "finnish_level": draw(st.sampled_from([*CEFR_LEVELS, "unknown"])),
        "health_limitation": draw(st.none() | st.booleans()),
        "children_under_school_age": draw(st.integers(0, 3)),
    }


def clients_frame(rows: list[Row]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in ("literacy_needs", "health_limitation"):
        frame[column] = frame[column].astype("boolean")
    return frame


EPISODE_COLUMNS = (
    "client_id",
    "service",
    "start_date",
    "end_date",
    "status",
    "language_level_after",
    "planned_service",
)
OUTCOME_COLUMNS = ("client_id", "status", "start_date", "end_date")


def dated_frame(rows: list[Row], columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows with day offsets as a frame with datetime64 start_date and end_date."""
    frame = pd.DataFrame(rows, columns=list(columns), dtype=object)
    for column in ("start_date", "end_date"):
        frame[column] = pd.to_datetime(
            pd.Series([day(v) for v in (r[column] for r in rows)], dtype=object)
        ).astype("datetime64[ns]")
    return frame.infer_objects()


def episodes_frame(rows: list[Row]) -> pd.DataFrame:
    return dated_frame(rows, EPISODE_COLUMNS)


def outcomes_frame(rows: list[Row]) -> pd.DataFrame:
    return dated_frame(rows, OUTCOME_COLUMNS)


@st.composite
def worlds(
    draw: st.DrawFn,
) -> tuple[list[Row], list[Row], list[Row]]:
    """Rows (dates as day offsets from BASE) of clients, episodes and outcomes."""
    clients = [draw(client_row(cid)) for cid in CLIENT_IDS]
    episodes = draw(st.lists(episode_row(), max_size=12))
    outcomes = draw(st.lists(outcome_row(), max_size=6))
    return clients, episodes, outcomes


def future_version_of_episode(draw: Callable[..., Any], row: Row, d: int) -> list[Row]:
    """What a row may become when only what happens on/after d changes."""
    start, end = row["start_date"], row["end_date"]
    if start >= d:  # entirely in the future: keep, delete or rewrite
        how = draw(st.sampled_from(["keep", "drop", "new"]))
        if how == "keep":
            return [row]
        return [] if how == "drop" else [draw(episode_row(min_start=d))]
    if end is None or end >= d:  # open on d: its end is future
        new_end = draw(st.none() | offsets(d, HORIZON + 90))
        return [
            {
                **row,
                "end_date": new_end,
                "status": "ongoing"
                if new_end is None
                else draw(st.sampled_from(EPISODE_STATUSES[:2])),
                "language_level_after": draw(st.none() | st.sampled_from(CEFR_LEVELS)),
            }
        ]
    return [row]


def future_version_of_outcome(draw: Callable[..., Any], row: Row, d: int) -> list[Row]:
    start, end = row["start_date"], row["end_date"]
    if start >= d:  # entirely in the future: keep, delete or rewrite
        how = draw(st.sampled_from(["keep", "drop", "new"]))
        if how == "keep":
            return [row]
        return [] if how == "drop" else [draw(outcome_row(min_start=d))]
    if end is None or end >= d:  # open on d: only its end changes
        return [{**row, "end_date": draw(st.none() | offsets(d, HORIZON + 90))}]
    return [row]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


CONFIG = RunConfig(extract_date=BASE + timedelta(days=HORIZON + 100))


def features_of_all(
    clients: pd.DataFrame,
    episodes: pd.DataFrame,
    outcomes: pd.DataFrame,
    d: int,
    catalogue: Catalogue,
) -> pd.DataFrame:
    points = pd.DataFrame({"client_id": list(CLIENT_IDS), "decision_date": day(d)})
    return features_at(clients, episodes, outcomes, points, catalogue=catalogue, config=CONFIG)


# -- properties ---------------------------------------------------------------


@SETTINGS
@given(world=worlds(), d=offsets(0, HORIZON), data=st.data())
def test_nothing_on_or_after_the_decision_date_changes_its_features(
    catalogue: Catalogue,
    world: tuple[list[Row], list[Row], list[Row]],
    d: int,
    data: st.DataObject,
) -> None:
    client_rows, episode_rows, outcome_rows = world
    before = features_of_all(
        clients_frame(client_rows),
        episodes_frame(episode_rows),
        outcomes_frame(outcome_rows),
        d,
        catalogue,
    )

    draw = data.draw
    new_episodes = [r for row in episode_rows for r in future_version_of_episode(draw, row, d)]
    new_episodes += draw(st.lists(episode_row(min_start=d), max_size=4), label="added episodes")
    new_outcomes = [r for row in outcome_rows for r in future_version_of_outcome(draw, row, d)]
    new_outcomes += draw(st.lists(outcome_row(min_start=d), max_size=3), label="added outcomes")
    # and in another row order, which must not matter either
    after = features_of_all(
        clients_frame(draw(st.permutations(client_rows))),
        episodes_frame(draw(st.permutations(new_episodes))),
        outcomes_frame(draw(st.permutations(new_outcomes))),
        d,
        catalogue,
    )
    pd.testing.assert_frame_equal(before, after)


@SETTINGS
@given(world=worlds(), data=st.data())
def test_row_order_does_not_change_the_decision_points(
    catalogue: Catalogue, world: tuple[list[Row], list[Row], list[Row]], data: st.DataObject
) -> None:
    client_rows, episode_rows, outcome_rows = world
    config = RunConfig(extract_date=BASE + timedelta(days=HORIZON - 50))  # some censored

    def build(clients: list[Row], episodes: list[Row], outcomes: list[Row]) -> pd.DataFrame:
        return build_decision_points(
            clients_frame(clients),
            episodes_frame(episodes),
            outcomes_frame(outcomes),
            catalogue=catalogue,
            config=config,
        ).frame

    first = build(client_rows, episode_rows, outcome_rows)
    second = build(
        data.draw(st.permutations(client_rows)),
        data.draw(st.permutations(episode_rows)),
        data.draw(st.permutations(outcome_rows)),
    )
    pd.testing.assert_frame_equal(first, second)
    assert first["dp_id"].is_unique
