"""Start days spread over the month, and each client's expected wait.

A service with a seat limit starts its month's clients evenly over the
month: with c seats in a month of D days, the k-th seat (from 0) opens on
day floor(k * D / c), so starts never pile up in the first week. Clients
take the seats in the order they have waited (longest first, then by their
row), and never start before they are waiting. A service without a limit
starts a client after the catalogue's `expected_wait_days` (0 when it has
none). A client planned `no_new_service` has no start and no wait this month.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from model.planning.programme import BatchPlan
from model.vocab import NO_NEW_SERVICE


@dataclass(frozen=True)
class Schedule:
    """Per client the planned start (None: no start this month) and the expected wait in days."""

    start: tuple[date | None, ...]
    wait_days: np.ndarray  # NaN where no start is planned


def month_days(month: str) -> tuple[date, int]:
    """The first day of a YYYY-MM month and its number of days."""
    year, number = int(month[:4]), int(month[5:7])
    return date(year, number, 1), calendar.monthrange(year, number)[1]


def schedule_month(
    plan: BatchPlan,
    month: str,
    *,
    waiting_since: Sequence[date],
    usual_wait: Mapping[str, int | None] | None = None,
    earliest: date | None = None,
) -> Schedule:
    """Start days and waits of a planned batch; `waiting_since` per client (in the plan's order).

    No start comes before `earliest` (the day the plan is made, when that is
    inside the month); waits count from it, or from the month's first day.
    """
    first, days = month_days(month)
    n = len(plan.planned)
    floor = max(first, earliest) if earliest is not None else first
    ready = [max(floor, day) for day in waiting_since]
    start: list[date | None] = [None] * n
    wait = np.full(n, np.nan)
    for j, code in enumerate(plan.actions):
        if code == NO_NEW_SERVICE:
            continue
        rows = np.flatnonzero(plan.planned == j)
        if not len(rows):
            continue
        seats = plan.seats.get(code)
        if seats is None:
            lag = timedelta(days=(usual_wait or {}).get(code) or 0)
            for i in rows:
                start[i] = ready[i] + lag
        else:
            order = sorted(rows.tolist(), key=lambda i: (waiting_since[i], i))
            for k, row in enumerate(order):
                opens = first + timedelta(days=(k * days) // max(seats, 1))
                start[row] = max(opens, ready[row])
        for i in rows:
            begins = start[i]
            assert begins is not None
            wait[i] = (begins - ready[i]).days
    return Schedule(tuple(start), wait)
