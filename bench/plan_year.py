"""The year `bench/plan.py` replays, as the planners see it, and the planners themselves.

`Year`: the clients awaiting a decision in 2025 (their first decision point
of the year, the arrival) with the router's predictions, the capacity world
that judges plans by the truth, and the history a forecast may use: the
first decision points of 2024, found in the input tables (never in the
truth), with their predictions.

The month planners plan each month's waiting clients with the month's
programme (`model.planning.programme`); with a horizon, each client's value
of waiting for a later month's seat is weighed against a seat now. The seats
of the later months are priced over the clients waiting now and a forecast
of the arrivals of those months:

- forecast "last-year": the clients who arrived in the same month a year
  earlier (the first decision points of 2024), a month like its namesake;
- forecast "last-month": last month's arrivals, for every later month;
- prices "months": each month's seats priced on their own by the period
  programme (`model.planning.prices.month_prices`);
- prices "pooled": the horizon's seats pooled into one relaxation
  (`model.planning.prices.seat_prices`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from model.decision_points import build_decision_points
from model.decision_points.features import features_at
from model.planning.hindsight import plan_period
from model.planning.prices import (
    month_prices,
    seat_prices,
    waiting_values,
    waiting_values_by_month,
)
from model.planning.programme import PlanOptions, plan_batch
from model.router import Router, ScoredBatch
from model.vocab import NO_NEW_SERVICE
from training.simulator.capacity import (
    CapacitySetting,
    CapacityWorld,
    MonthView,
    seats_from_demand,
)
from training.tables import Tables, read_tables
from training.truth import find_truth, read_truth

YEAR: Final = 2025
MONTHS: Final = tuple(f"{YEAR}-{m:02d}" for m in range(1, 13))
FORECASTS: Final = ("last-year", "last-month")
PRICES: Final = ("months", "pooled")


def first_points(points: pd.DataFrame, year: int) -> pd.DataFrame:
    """Each client's first decision point of `year`, in date order."""
    within = points[
        (points["decision_date"] >= f"{year}-01-01") & (points["decision_date"] <= f"{year}-12-31")
    ]
    first = within.sort_values(["client_id", "decision_date"]).drop_duplicates("client_id")
    return first.sort_values(["decision_date", "client_id"]).reset_index(drop=True)


def candidates_of(router: Router, scored: ScoredBatch) -> np.ndarray:
    """Eligible actions not resting on thin evidence, the own best option and no_new_service."""
    n = len(scored.uplift)
    thin = (scored.support < router.min_support) & scored.eligible
    candidates = scored.eligible & ~thin
    candidates[np.arange(n), scored.recommended] = True
    candidates[:, router.actions.index(NO_NEW_SERVICE)] = True
    return candidates


def months_of(frame: pd.DataFrame) -> np.ndarray:
    return pd.to_datetime(frame["decision_date"]).dt.month.to_numpy() - 1


class Year:
    """The replayed year as the planners see it (predictions) and as the world judges it (truth).

    Rows 0..n-1 of `uplift` and `candidates` are the year's clients; the rows
    after them the clients who arrived a year earlier (`history_month`).
    """

    def __init__(self, router: Router, data: Path, setting: CapacitySetting) -> None:
        tables = read_tables(data)
        truth_path = find_truth(data)
        assert truth_path is not None
        first = first_points(read_truth(truth_path), YEAR)
        self.features = _features(router, tables, first)
        scored = router.score(self.features, intervals=False)
        actions = router.actions
        reference = actions.index(NO_NEW_SERVICE)
        self.actions = actions
        self.best = scored.recommended
        p_true = first[list(actions)].to_numpy(dtype=float)
        true_uplift = p_true - p_true[:, [reference]]
        dates = [d.date() for d in pd.to_datetime(first["decision_date"])]
        arrival_month = months_of(first)
        seats = seats_from_demand(self.best, arrival_month, actions, len(MONTHS), setting.tightness)
        self.world = CapacityWorld(
            actions=actions,
            months=MONTHS,
            arrival=tuple(dates),
            arrival_month=arrival_month,
            true_uplift=true_uplift,
            eligible=scored.eligible,
            seats=(seats,) * len(MONTHS),
            setting=setting,
        )
        # Last year's arrivals: from the tables, as a planner would find them.
        points = build_decision_points(
            tables.clients,
            tables.episodes,
            tables.outcomes,
            catalogue=router.catalogue,
            config=router.config,
        ).frame
        before = first_points(points[["client_id", "decision_date"]], YEAR - 1)
        history = router.score(_features(router, tables, before), intervals=False)
        self.history_month = months_of(before)
        self.uplift = np.vstack([scored.uplift, history.uplift])
        self.candidates = np.vstack([candidates_of(router, scored), candidates_of(router, history)])

    @property
    def n(self) -> int:
        return self.world.n

    def forecast(self, kind: str, month: int, later: int) -> list[np.ndarray]:
        """Rows standing for the arrivals of each of the `later` months after `month`."""
        if kind == "last-year":
            return [
                self.n + np.flatnonzero(self.history_month == month + k)
                for k in range(1, later + 1)
            ]
        if kind == "last-month":
            last = np.flatnonzero(self.world.arrival_month == max(month - 1, 0))
            return [last] * later
        raise ValueError(f"unknown forecast {kind!r}")


def _features(router: Router, tables: Tables, points: pd.DataFrame) -> pd.DataFrame:
    return features_at(
        tables.clients,
        tables.episodes,
        tables.outcomes,
        points[["client_id", "decision_date"]],
        catalogue=router.catalogue,
        config=router.config,
    )


def month_planner(
    year: Year, horizon: int, *, prices: str = "months", forecast: str = "last-year"
) -> Any:
    """The month's programme; with a horizon, each client's value of waiting for a later seat."""
    world = year.world
    setting = world.setting
    decay = setting.wait_decay

    def plan(view: MonthView) -> np.ndarray:
        rows = view.waiting
        if not len(rows):
            return np.zeros(0, dtype=int)
        waited = view.month - world.arrival_month[rows]
        # What a start is worth now: the uplift predicted at arrival, less
        # what the months waited so far have cost (re-scoring would show it).
        now = year.uplift[rows] * decay ** waited[:, None]
        candidates = year.candidates[rows]
        options = PlanOptions()
        later = min(horizon, len(MONTHS) - 1 - view.month)
        if later > 0:
            coming = year.forecast(forecast, view.month, later)
            if prices == "months":
                value = _value_by_month(year, view, rows, now, coming)
            else:
                value = _value_pooled(year, view, rows, now, coming)
            options = PlanOptions(waiting_value=value)
        planned = plan_batch(
            [str(i) for i in rows],
            now,
            candidates,
            world.actions,
            dict(view.seats),
            best=year.best[rows],
            options=options,
        )
        return planned.planned

    return plan


def _value_by_month(
    year: Year, view: MonthView, rows: np.ndarray, now: np.ndarray, coming: list[np.ndarray]
) -> np.ndarray:
    """Waiting values against each later month's seats, priced by the period programme."""
    world = year.world
    setting = world.setting
    waited = view.month - world.arrival_month[rows]
    # The clients waiting now (arrived `waited` months ago) and the forecast
    # arrivals of the k-th later month, arriving in month k.
    uplift = np.vstack([year.uplift[rows]] + [year.uplift[f] for f in coming])
    eligible = np.vstack([year.candidates[rows]] + [year.candidates[f] for f in coming])
    arrival = np.concatenate([-waited] + [np.full(len(f), k) for k, f in enumerate(coming, 1)])
    seats = [world.seats[view.month + k] for k in range(len(coming) + 1)]
    prices = month_prices(
        uplift,
        eligible,
        world.actions,
        arrival,
        seats,
        decay=setting.wait_decay,
        max_wait=setting.max_wait_months,
    )
    return waiting_values_by_month(
        now,
        year.candidates[rows],
        world.actions,
        prices[1:],
        decay=setting.wait_decay,
        months_left=setting.max_wait_months - waited,
    )


def _value_pooled(
    year: Year, view: MonthView, rows: np.ndarray, now: np.ndarray, coming: list[np.ndarray]
) -> np.ndarray:
    """Waiting values against the horizon's seats pooled into one relaxation."""
    world = year.world
    setting = world.setting
    decay = setting.wait_decay
    forecast = np.concatenate(coming)
    # The clients waiting now, a month later, and the forecast arrivals.
    uplift = np.vstack([decay * now, year.uplift[forecast]])
    eligible = np.vstack([year.candidates[rows], year.candidates[forecast]])
    seats = [world.seats[view.month + k] for k in range(1, len(coming) + 1)]
    prices = seat_prices(uplift, eligible, world.actions, seats)
    value = waiting_values(now, year.candidates[rows], world.actions, prices, decay=decay)
    # A client at the end of their wait has no later seat.
    last_chance = view.month - world.arrival_month[rows] >= setting.max_wait_months
    return np.where(last_chance, 0.0, value)


def hindsight_planner(year: Year) -> Any:
    world = year.world
    action, when = plan_period(
        year.uplift[: year.n],
        year.candidates[: year.n],
        world.actions,
        world.arrival_month,
        world.seats,
        decay=world.setting.wait_decay,
        max_wait=world.setting.max_wait_months,
    )
    reference = world.actions.index(NO_NEW_SERVICE)

    def plan(view: MonthView) -> np.ndarray:
        rows = view.waiting
        return np.where(when[rows] == view.month, action[rows], reference)

    return plan
