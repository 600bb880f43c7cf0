"""Seat prices from the linear relaxation over the clients now and the forecast ones."""

from __future__ import annotations

import numpy as np
import pytest

from model.planning.prices import seat_prices
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
