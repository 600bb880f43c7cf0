"""No leakage from after the decision date, and no dependence on row order.

Hypothesis generates small client histories, a decision date d and arbitrary
changes to what happened on or after d: records starting on/after d are
added, rewritten or deleted; episodes and spells still open on d get other
end dates (on/after d), and those episodes another final status and language
level. None of it may change any feature of any client at d.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.catalogue import Catalogue, load_catalogue
from model.config import RunConfig
from model.decision_points import build_decision_points, features_at
from model.vocab import CEFR_LEVELS
from tests.support.histories import (
    BASE,
    CLIENT_IDS,
    EPISODE_STATUSES,
    HORIZON,
    Row,
    clients_frame,
    day,
    episode_row,
    episodes_frame,
    offsets,
    outcome_row,
    outcomes_frame,
    worlds,
)

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True)


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
