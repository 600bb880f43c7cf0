"""Binding seats and queues over a simulated year, so that plans can be judged by the truth.

The built-in world's history has no seat limits (a planned service starts
after its own wait). This scenario, used only when asked for, replays one
year of the world's decision points under limited seats: each client awaits
a decision from their first decision point of the year (their arrival); each
month a planner gives some of the waiting clients a service with a seat that
month; the others keep waiting, up to `max_wait_months`, after which they
continue without a new service. Unused seats lapse at the end of the month.

Waiting changes outcomes: a start k months after the arrival keeps
`wait_decay ** k` of the start's true uplift (the truth's chance under the
service minus under `no_new_service`, at the arrival), as time out of work
lowers the chance of finding it and the client's plan goes stale. The truth
only judges the plans here; planners never see it.

The replay checks every month's plan: a service beyond its seats, a client
given a service they are not eligible for, or a client who is not waiting
is refused (`CapacityBreach`), so a backtest's figures never come from a
plan that breaks the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np

from model.planning.schedule import month_days
from model.vocab import NO_NEW_SERVICE

DEFAULT_WAIT_DECAY: Final = 0.85
DEFAULT_MAX_WAIT_MONTHS: Final = 3


class CapacityBreach(AssertionError):
    """A planner broke a rule of the capacity world (seats, eligibility, who is waiting)."""


@dataclass(frozen=True)
class CapacitySetting:
    """The scenario: how tight the seats are and what waiting costs."""

    tightness: float = 0.6
    wait_decay: float = DEFAULT_WAIT_DECAY
    max_wait_months: int = DEFAULT_MAX_WAIT_MONTHS


@dataclass(frozen=True)
class CapacityWorld:
    """A year of arrivals with their true uplift, eligibility and the seats of every month.

    `arrival` (n,) dates; `arrival_month` (n,) 0..months-1; `true_uplift` and
    `eligible` (n, A) in `actions` order; `seats` one mapping per month.
    """

    actions: tuple[str, ...]
    months: tuple[str, ...]
    arrival: tuple[date, ...]
    arrival_month: np.ndarray
    true_uplift: np.ndarray
    eligible: np.ndarray
    seats: tuple[Mapping[str, int], ...]
    setting: CapacitySetting

    @property
    def n(self) -> int:
        return len(self.arrival)


def seats_from_demand(
    best: np.ndarray,
    arrival_month: np.ndarray,
    actions: tuple[str, ...],
    months: int,
    tightness: float,
) -> dict[str, int]:
    """Seats a month per service: `tightness` times the mean monthly clients whose best it is.

    `best` is each client's own best option as the planners see it (the
    router's first-ranked action), so the seats bind where demand is.
    """
    counts = np.bincount(best, minlength=len(actions)) / max(months, 1)
    return {
        code: max(1, round(float(tightness * counts[j])))
        for j, code in enumerate(actions)
        if code != NO_NEW_SERVICE
    }


@dataclass(frozen=True)
class MonthView:
    """What a planner sees in a month: who waits (in arrival order) and the month's seats."""

    month: int
    waiting: np.ndarray
    seats: Mapping[str, int]


Planner = Callable[[MonthView], np.ndarray]


@dataclass(frozen=True)
class ReplayOutcome:
    """Per client: the action started (`no_new_service`: none), its month, the true gain, the wait."""

    action: np.ndarray
    start_month: np.ndarray  # -1 without a start
    gain: np.ndarray
    wait_days: np.ndarray  # NaN without a start
    seats_used: tuple[dict[str, int], ...]

    @property
    def total(self) -> float:
        return float(self.gain.sum())


def replay(world: CapacityWorld, planner: Planner) -> ReplayOutcome:
    """Run the year month by month with `planner`; refuse any plan that breaks a rule."""
    n = world.n
    reference = world.actions.index(NO_NEW_SERVICE)
    action = np.full(n, reference)
    start_month = np.full(n, -1)
    wait_days = np.full(n, np.nan)
    used_by_month: list[dict[str, int]] = []
    order = sorted(range(n), key=lambda i: (world.arrival[i], i))
    for t, month in enumerate(world.months):
        waiting = np.array(
            [
                i
                for i in order
                if world.arrival_month[i] <= t
                and start_month[i] < 0
                and t - world.arrival_month[i] <= world.setting.max_wait_months
            ],
            dtype=int,
        )
        seats = world.seats[t]
        chosen = np.asarray(planner(MonthView(t, waiting, seats)), dtype=int)
        if chosen.shape != waiting.shape:
            raise CapacityBreach(f"month {month}: the plan must give one action per waiting client")
        starts = chosen != reference
        if np.any(~world.eligible[waiting[starts], chosen[starts]]):
            raise CapacityBreach(
                f"month {month}: a client was planned a service they are not eligible for"
            )
        counts = np.bincount(chosen[starts], minlength=len(world.actions))
        used = {code: int(counts[j]) for j, code in enumerate(world.actions) if j != reference}
        over = [code for code, k in used.items() if k > seats.get(code, 0)]
        if over:
            raise CapacityBreach(f"month {month}: more starts than seats for {', '.join(over)}")
        used_by_month.append(used)
        first, days = month_days(month)
        for j in np.unique(chosen[starts]):
            rows = waiting[starts][chosen[starts] == j]  # already in arrival order
            for k, i in enumerate(rows):
                opens = first + timedelta(days=(k * days) // max(seats[world.actions[j]], 1))
                begins = max(opens, world.arrival[i])
                wait_days[i] = (begins - world.arrival[i]).days
                action[i] = j
                start_month[i] = t
    waited = np.where(start_month >= 0, start_month - world.arrival_month, 0)
    true = np.nan_to_num(world.true_uplift[np.arange(n), action], nan=0.0)
    gain = np.where(start_month >= 0, true * world.setting.wait_decay**waited, 0.0)
    return ReplayOutcome(action, start_month, gain, wait_days, tuple(used_by_month))


def greedy_planner(world: CapacityWorld, best: np.ndarray) -> Planner:
    """Each waiting client, in arrival order, takes their own best option while it has seats."""
    reference = world.actions.index(NO_NEW_SERVICE)

    def plan(view: MonthView) -> np.ndarray:
        left = dict(view.seats)
        out = np.full(len(view.waiting), reference)
        for k, i in enumerate(view.waiting):
            code = world.actions[best[i]]
            if best[i] != reference and left.get(code, 0) > 0:
                left[code] -= 1
                out[k] = best[i]
        return out

    return plan
