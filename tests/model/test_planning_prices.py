"""Seat prices from the linear relaxation over the clients now and the forecast ones."""

from __future__ import annotations

import numpy as np
import pytest

from model.planning.prices import (
    month_prices,
    seat_prices,
    waiting_values,
    waiting_values_by_month,
)
from model.planning.programme import PlanOptions, plan_batch
from model.vocab import NO_NEW_SERVICE

ACTIONS = ("course", "trial", NO_NEW_SERVICE)


def test_a_seat_wanted_by_a_later_client_who_gains_more_gets_a_price_between_the_two_gains() -> (
    None
):
    uplift = np.array([[0.10, 0.05, 0.0], [0.30, 0.0, 0.0]])  # now, then forecast
    eligible = np.ones((2, 3), dtype=bool)
    prices = seat_prices(uplift, eligible, ACTIONS, [{"course": 1}, {"course": 0}])
    assert 0.05 - 1e-9 <= prices["course"] <= 0.30 + 1e-9
    assert prices["trial"] == 0.0
    plan = plan_batch(
        ["now"],
        uplift[:1],
        eligible[:1],
        ACTIONS,
        {"course": 1},
        options=PlanOptions(prices=prices),
    )
    assert ACTIONS[plan.planned[0]] == "trial"


def test_seats_enough_for_everyone_cost_nothing() -> None:
    uplift = np.array([[0.10, 0.05, 0.0], [0.30, 0.0, 0.0]])
    prices = seat_prices(uplift, np.ones((2, 3), bool), ACTIONS, [{"course": 1}, {"course": 1}])
    assert prices["course"] == pytest.approx(0.0)


def test_forecast_clients_count_by_their_weight() -> None:
    uplift = np.array([[0.10, 0.0, 0.0], [0.30, 0.0, 0.0]])
    light = seat_prices(
        uplift, np.ones((2, 3), bool), ACTIONS, [{"course": 2}], weight=np.array([1.0, 1.0])
    )
    heavy = seat_prices(
        uplift, np.ones((2, 3), bool), ACTIONS, [{"course": 2}], weight=np.array([1.0, 3.0])
    )
    assert light["course"] == pytest.approx(0.0)
    assert heavy["course"] == pytest.approx(0.30)


def test_a_client_who_can_expect_more_from_next_month_leaves_this_seat_to_another() -> None:
    # a gains 0.30 from the course, b 0.25; one seat now. Next month's seat
    # is free for a (price 0) and worth 0.9 x 0.30 = 0.27 to a; b has
    # nothing later (the trial is ineligible), so b takes the seat now.
    uplift = np.array([[0.30, 0.0, 0.0], [0.25, 0.0, 0.0]])
    candidates = np.array([[True, False, True], [True, False, True]])
    value = waiting_values(uplift, candidates, ACTIONS, {"course": 0.0}, decay=0.9)
    assert value.tolist() == pytest.approx([0.27, 0.225])
    value[1] = 0.0  # b's wait is over
    plan = plan_batch(
        ["a", "b"],
        uplift,
        candidates,
        ACTIONS,
        {"course": 1},
        options=PlanOptions(waiting_value=value),
    )
    assert [ACTIONS[p] for p in plan.planned] == [NO_NEW_SERVICE, "course"]
    myopic = plan_batch(["a", "b"], uplift, candidates, ACTIONS, {"course": 1})
    assert [ACTIONS[p] for p in myopic.planned] == ["course", NO_NEW_SERVICE]


def test_a_priced_seat_is_worth_waiting_for_only_net_of_its_price() -> None:
    uplift = np.array([[0.30, 0.10, 0.0]])
    value = waiting_values(uplift, np.ones((1, 3), bool), ACTIONS, {"course": 0.25}, decay=1.0)
    assert value.tolist() == pytest.approx([0.10])


def test_a_seat_next_month_is_priced_by_the_forecast_client_who_would_take_it() -> None:
    # No seat now, one next month, two the month after. The client waiting
    # now gains 0.10, a forecast client of next month 0.30: next month's
    # seat is worth between what the waiting client would get from it
    # (0.05) and the forecast client's 0.30; the month after has a seat
    # left over, so it is free.
    uplift = np.array([[0.10, 0.05, 0.0], [0.30, 0.0, 0.0]])
    eligible = np.array([[True, False, True], [True, False, True]])
    prices = month_prices(
        uplift,
        eligible,
        ACTIONS,
        np.array([0, 1]),
        [{"course": 0, "trial": 0}, {"course": 1, "trial": 0}, {"course": 2, "trial": 0}],
        decay=0.5,
        max_wait=2,
    )
    assert len(prices) == 3
    assert 0.05 - 1e-9 <= prices[1]["course"] <= 0.30 + 1e-9
    assert prices[2]["course"] == pytest.approx(0.0)


def test_waiting_values_by_month_take_the_best_later_month_within_the_wait_left() -> None:
    uplift = np.array([[0.40, 0.0, 0.0], [0.40, 0.0, 0.0], [0.40, 0.0, 0.0]])
    candidates = np.ones((3, 3), bool)
    prices = [{"course": 0.30}, {"course": 0.0}]  # next month dear, the one after free
    value = waiting_values_by_month(
        uplift, candidates, ACTIONS, prices, decay=0.5, months_left=np.array([2, 1, 0])
    )
    assert value.tolist() == pytest.approx([0.10, 0.0, 0.0])
