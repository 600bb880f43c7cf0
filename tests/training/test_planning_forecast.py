"""`polku plan --horizon`: each later month forecast by the same month a year earlier."""

from __future__ import annotations

import numpy as np
import pytest

import training.planning as planning
from model.planning.capacity import Capacity
from model.router import Router, ScoredBatch
from tests.support.trained_model import TrainedModel
from training.tables import Tables

MONTH = "2025-03"


def _plan_asking(
    trained_model: TrainedModel, monkeypatch: pytest.MonkeyPatch, *, history_from: str
) -> list[str]:
    """Plan MONTH with a horizon of 2; the months whose waiting clients were asked for.

    Months before `history_from` have nobody waiting, as if the tables began then.
    """
    from training.contract.load import load_valid_tables

    router = trained_model.result.router
    tables = load_valid_tables(
        trained_model.data_dir, catalogue=router.catalogue, config=router.config
    )
    asked: list[str] = []
    real = planning._awaiting

    def awaiting(router: Router, tables: Tables, month: str) -> ScoredBatch | None:
        asked.append(month)
        return real(router, tables, month) if month >= history_from else None

    monkeypatch.setattr(planning, "_awaiting", awaiting)
    seats = {code: 1 for code in router.catalogue.service_codes}
    plan = planning.plan_from_tables(
        router, tables, month=MONTH, capacity=Capacity(seats), horizon=2
    )
    used = plan.plan.seats_used()
    assert all(used[code] <= 1 for code in seats)
    return asked


def test_the_later_months_are_forecast_by_the_same_months_a_year_earlier(
    trained_model: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _plan_asking(trained_model, monkeypatch, history_from="2000-01") == [
        "2024-04",
        "2024-05",
    ]


def test_without_a_year_of_history_last_month_stands_for_every_later_month(
    trained_model: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _plan_asking(trained_model, monkeypatch, history_from="2025-01") == [
        "2024-04",
        "2025-02",
        "2024-05",
    ]


def test_waiting_value_falls_as_the_forecast_fills_the_later_seats(
    trained_model: TrainedModel,
) -> None:
    """With no limit a later seat is free; a forecast crowding few seats raises its price."""
    from training.contract.load import load_valid_tables

    router = trained_model.result.router
    tables = load_valid_tables(
        trained_model.data_dir, catalogue=router.catalogue, config=router.config
    )
    batch = planning._awaiting(router, tables, MONTH)
    assert batch is not None
    forecasts = planning.forecast_months(router, tables, MONTH, 2)
    assert len(forecasts) == 2 and all(f is not None for f in forecasts)
    codes = router.catalogue.service_codes
    free = planning.waiting_value(
        router, batch, forecasts, MONTH, Capacity(dict.fromkeys(codes)), 0.85
    )
    scarce = planning.waiting_value(
        router, batch, forecasts, MONTH, Capacity(dict.fromkeys(codes, 1)), 0.85
    )
    assert free.shape == (len(batch.uplift),)
    assert np.all(free >= 0) and np.all(scarce >= 0)
    # Without a limit every later seat is worth its decayed uplift (prices 0).
    candidates = planning._candidates(router, batch)
    reference = router.actions.index("no_new_service")
    best = np.where(candidates, 0.85 * batch.uplift, -np.inf)
    best[:, reference] = 0.0
    assert np.allclose(free, np.maximum(0.0, best.max(axis=1)))
    assert np.all(scarce <= free + 1e-9) and scarce.sum() < free.sum()
