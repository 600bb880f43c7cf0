"""Starts spread over the month in the order clients have waited, and their expected waits."""

from __future__ import annotations

from datetime import date

import numpy as np

from model.planning.programme import plan_batch
from model.planning.schedule import schedule_month
from model.vocab import NO_NEW_SERVICE

ACTIONS = ("course", "trial", NO_NEW_SERVICE)


def test_seats_open_evenly_over_the_month_and_the_longest_waiting_start_first() -> None:
    uplift = np.array([[0.2, 0.0, 0.0]] * 3 + [[0.0, 0.1, 0.0], [-0.1, -0.1, 0.0]])
    plan = plan_batch(
        list("abcde"), uplift, np.ones((5, 3), bool), ACTIONS, {"course": 3, "trial": None}
    )
    since = [
        date(2025, 2, 20),
        date(2025, 1, 5),
        date(2025, 4, 10),
        date(2025, 3, 1),
        date(2025, 2, 1),
    ]
    schedule = schedule_month(plan, "2025-04", waiting_since=since, usual_wait={"trial": 7})
    # b waited longest (day 0), then a (day 10), then c (day 20, but it waits from 10 April).
    assert schedule.start[:3] == (date(2025, 4, 11), date(2025, 4, 1), date(2025, 4, 21))
    assert schedule.wait_days[:3].tolist() == [10.0, 0.0, 11.0]
    assert schedule.start[3] == date(2025, 4, 8) and schedule.wait_days[3] == 7.0
    assert schedule.start[4] is None and np.isnan(schedule.wait_days[4])


def test_no_start_comes_before_the_day_the_plan_is_made() -> None:
    uplift = np.array([[0.2, 0.0, 0.0]] * 2)
    plan = plan_batch(["a", "b"], uplift, np.ones((2, 3), bool), ACTIONS, {"course": 2})
    since = [date(2025, 3, 1), date(2025, 3, 2)]
    schedule = schedule_month(plan, "2025-04", waiting_since=since, earliest=date(2025, 4, 20))
    assert schedule.start == (date(2025, 4, 20), date(2025, 4, 20))
    assert schedule.wait_days.tolist() == [0.0, 0.0]
