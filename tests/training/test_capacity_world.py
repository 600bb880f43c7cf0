"""The capacity world: queues, lapsing seats, the cost of waiting, and plans that break a rule refused."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from model.vocab import NO_NEW_SERVICE
from training.simulator.capacity import (
    CapacityBreach,
    CapacitySetting,
    CapacityWorld,
    MonthView,
    greedy_planner,
    replay,
    seats_from_demand,
)

ACTIONS = ("course", "trial", NO_NEW_SERVICE)


def _world(seats: int = 1, decay: float = 0.5) -> CapacityWorld:
    return CapacityWorld(
        actions=ACTIONS,
        months=("2025-01", "2025-02", "2025-03"),
        arrival=(date(2025, 1, 3), date(2025, 1, 5), date(2025, 1, 9)),
        arrival_month=np.array([0, 0, 0]),
        true_uplift=np.array([[0.2, 0.1, 0.0], [0.3, np.nan, 0.0], [0.1, 0.1, 0.0]]),
        eligible=np.array([[True, True, True], [True, False, True], [True, True, True]]),
        seats=({"course": seats, "trial": 0},) * 3,
        setting=CapacitySetting(wait_decay=decay, max_wait_months=1),
    )


def test_greedy_queues_for_the_first_choice_and_waiting_costs_the_decay() -> None:
    world = _world()
    outcome = replay(world, greedy_planner(world, np.array([0, 0, 0])))
    # One course seat a month: client 0 in January, client 1 in February
    # (half its uplift), client 2 gives up after one month of waiting.
    assert outcome.start_month.tolist() == [0, 1, -1]
    assert outcome.gain.tolist() == pytest.approx([0.2, 0.15, 0.0])
    assert outcome.wait_days[0] == 0 and outcome.wait_days[1] == 27
    assert [m["course"] for m in outcome.seats_used] == [1, 1, 0]


def test_a_plan_beyond_the_seats_is_refused() -> None:
    world = _world()
    with pytest.raises(CapacityBreach, match="more starts than seats for course"):
        replay(world, lambda view: np.zeros(len(view.waiting), dtype=int))


def test_a_plan_giving_a_client_a_service_they_are_not_eligible_for_is_refused() -> None:
    world = _world(seats=5)

    def trial_for_all(view: MonthView) -> np.ndarray:
        return np.ones(len(view.waiting), dtype=int)

    with pytest.raises(CapacityBreach, match="not eligible"):
        replay(world, trial_for_all)


def test_seats_follow_the_demand_the_planners_see() -> None:
    seats = seats_from_demand(np.array([0, 0, 0, 0, 1, 2]), np.zeros(6, int), ACTIONS, 2, 0.5)
    assert seats == {"course": 1, "trial": 1}
