"""Hypothesis strategies for small client histories, and the tables they make.

Dates are generated as day offsets from `BASE` and turned into timestamps by
`day`; half of them fall on a coarse grid so that ties and boundaries happen.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from hypothesis import strategies as st

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
