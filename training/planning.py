"""A month planned from the input tables (`polku plan`): who awaits a decision, prices, the file.

- `awaiting_features`: the clients awaiting a decision on the month's first
  day (an open case and no service under way, or the clients a list names),
  with their features as known on that day.
- `plan_from_tables`: the month planned with the router, optionally with
  each client's value of waiting for a seat in the later months of a
  horizon (`waiting_value`), every month's seats priced over a forecast of
  its clients (`forecast_months`: those who awaited a decision in the same
  month a year earlier, else a month earlier).
- `write_plan`: CSV or Parquet, written whole or not at all.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from model.decision_points.features import features_at
from model.errors import DataContractError, PlanningError
from model.planning.capacity import Capacity
from model.planning.month import MonthPlan, plan_month
from model.planning.prices import DEFAULT_WAIT_DECAY, month_prices, waiting_values_by_month
from model.planning.programme import PlanOptions
from model.planning.schedule import month_days
from model.router import Router, ScoredBatch
from training.batch import open_cases
from training.tables import Tables

PLAN_FORMATS: Final = (".csv", ".parquet")


def later_month(month: str, k: int) -> str:
    """The month `k` months after `month` (YYYY-MM)."""
    year, number = int(month[:4]), int(month[5:7]) - 1 + k
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def read_client_list(path: Path) -> list[str]:
    """Client ids from a CSV with a `client_id` column; a client twice is refused by row."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise PlanningError(f"cannot read the client list {path.name!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PlanningError(f"{path.name}: the client list is not UTF-8 text") from None
    if not rows or "client_id" not in rows[0]:
        raise PlanningError(f"{path.name}: the client list needs a client_id column and a row")
    ids: list[str] = []
    first: dict[str, int] = {}
    for row, record in enumerate(rows, start=1):
        client = (record.get("client_id") or "").strip()
        if not client:
            raise PlanningError(f"{path.name}, row {row}, column client_id: the id is empty")
        if client in first:
            raise PlanningError(
                f"{path.name}, row {row}, column client_id: the client is listed twice "
                f"(first on row {first[client]})"
            )
        first[client] = row
        ids.append(client)
    return ids


def awaiting_features(
    router: Router, tables: Tables, day: date, *, clients: list[str] | None = None, source: str = ""
) -> pd.DataFrame:
    """Features on `day` of the clients awaiting a decision (index 0..n-1).

    By default: every open case with no service under way. With `clients`:
    exactly those, each of whom must have an open case on the day.
    """
    points = open_cases(tables, day)
    if clients is not None:
        open_ids = set(points["client_id"])
        for row, client in enumerate(clients, start=1):
            if client not in open_ids:
                raise PlanningError(
                    f"{source}, row {row}, column client_id: the client has no open case on "
                    f"{day:%Y-%m-%d}"
                )
        points = pd.DataFrame({"client_id": clients, "decision_date": pd.Timestamp(day)})
    features = features_at(
        tables.clients,
        tables.episodes,
        tables.outcomes,
        points,
        catalogue=router.catalogue,
        config=router.config,
    )
    if clients is None:
        features = features[features["in_service"].to_numpy() != 1.0].reset_index(drop=True)
    if features.empty:
        raise DataContractError(f"no client awaits a decision on {day:%Y-%m-%d}")
    return features


def plan_from_tables(
    router: Router,
    tables: Tables,
    *,
    month: str,
    capacity: Capacity,
    options: PlanOptions | None = None,
    horizon: int = 0,
    wait_decay: float = DEFAULT_WAIT_DECAY,
    clients: list[str] | None = None,
    source: str = "",
) -> MonthPlan:
    """Plan `month`; with `horizon` > 0, a client may keep waiting for a seat in a later month.

    Seats lapse at the end of their month, so what is kept for later is the
    clients: each client's value of waiting (`waiting_value`) is weighed
    against a seat now.
    """
    options = options or PlanOptions()
    first, _ = month_days(month)
    features = awaiting_features(router, tables, first, clients=clients, source=source)
    batch = router.score(features, intervals=False)
    if horizon > 0:
        forecasts = forecast_months(router, tables, month, horizon)
        value = waiting_value(router, batch, forecasts, month, capacity, wait_decay)
        options = PlanOptions(
            prices=options.prices,
            waiting_value=value,
            balance=options.balance,
            pace=options.pace,
            max_shortfall=options.max_shortfall,
            time_limit=options.time_limit,
        )
    return plan_month(
        router,
        features,
        month=month,
        seats=capacity.seats(month),
        options=options,
        batch=batch,
    )


def forecast_months(
    router: Router, tables: Tables, month: str, horizon: int
) -> list[ScoredBatch | None]:
    """The scored clients standing for the arrivals of each of the next `horizon` months.

    For the k-th later month: the clients who awaited a decision in the same
    month a year earlier (a month like its namesake: intakes follow the
    year), else, without that history, those of the month before `month`.
    None where nobody stands for the month.
    """
    out: list[ScoredBatch | None] = []
    last_month: list[ScoredBatch | None] = []
    for k in range(1, horizon + 1):
        ahead = _awaiting(router, tables, later_month(month, k - 12))
        if ahead is None:
            if not last_month:
                last_month.append(_awaiting(router, tables, later_month(month, -1)))
            ahead = last_month[0]
        out.append(ahead)
    return out


def waiting_value(
    router: Router,
    batch: ScoredBatch,
    forecasts: Sequence[ScoredBatch | None],
    month: str,
    capacity: Capacity,
    decay: float,
) -> np.ndarray:
    """What each client can expect from a seat in the next months, net of its price.

    `forecasts[k - 1]` stands for the arrivals of the k-th month after
    `month` (`forecast_months`); the horizon is as long as `forecasts`.
    Every month's seats are priced on their own by the period programme
    (`model.planning.prices.month_prices`) over the clients waiting now and
    the forecasts. A client may wait at most the horizon.
    """
    horizon = len(forecasts)
    candidates = _candidates(router, batch)
    rows = [(batch.uplift, candidates, 0)]
    for k, ahead in enumerate(forecasts, start=1):
        if ahead is not None:
            rows.append((ahead.uplift, _candidates(router, ahead), k))
    uplift = np.vstack([r[0] for r in rows])
    eligible = np.vstack([r[1] for r in rows])
    arrival = np.concatenate([np.full(len(r[0]), r[2]) for r in rows])
    seats = [capacity.seats(later_month(month, k)) for k in range(horizon + 1)]
    prices = month_prices(
        uplift, eligible, router.actions, arrival, seats, decay=decay, max_wait=horizon
    )
    return waiting_values_by_month(
        batch.uplift,
        candidates,
        router.actions,
        prices[1:],
        decay=decay,
        months_left=np.full(len(batch.uplift), horizon),
    )


def _candidates(router: Router, batch: ScoredBatch) -> np.ndarray:
    """Eligible actions not resting on thin evidence, and the client's own best option."""
    thin = (batch.support < router.min_support) & batch.eligible
    candidates = batch.eligible & ~thin
    candidates[np.arange(len(candidates)), batch.recommended] = True
    return candidates


def _awaiting(router: Router, tables: Tables, month: str) -> ScoredBatch | None:
    """The clients who awaited a decision on the first day of `month`, scored; None if nobody."""
    try:
        features = awaiting_features(router, tables, month_days(month)[0])
    except DataContractError:
        return None
    return router.score(features, intervals=False)


def write_plan(frame: pd.DataFrame, out: Path) -> Path:
    """Write the plan by the file's extension; a failure leaves no partial file behind."""
    suffix = out.suffix.lower()
    if suffix not in PLAN_FORMATS:
        raise PlanningError("the plan file must end in .csv or .parquet")
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=suffix)
    os.close(handle)
    try:
        if suffix == ".csv":
            frame.to_csv(temporary, index=False)
        else:
            frame.to_parquet(temporary, index=False)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out
