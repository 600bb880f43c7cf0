"""Volumes and waiting times, from the clients and episodes tables.

- **Volumes** per calendar month of the window: intakes (clients whose
  `intake_date` falls in the month), clients seen (clients with a service
  start or plan review that month) and service starts per service.
- **Waiting times**, for the services that started in the window:
  from intake to the client's first service, and from a plan review to the
  service start it led to (the latest review on or before the start, when no
  other service started in between). Median, 90th percentile and the share
  that waited over 30, 60 and 90 days, overall and per service. Clients who
  had not started a service by the end of the data are not in the figures
  (their waits are not over); their number is given.

Counts of 1 to k-1 are hidden (`model.services.cells.hidden_counts`); a
waiting-time figure needs at least k waits.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd

from model.services.cells import hidden_counts
from model.vocab import REVIEW

# Waiting longer than these many days is reported as a share.
WAIT_THRESHOLDS: Final = (30, 60, 90)


def in_window(dates: pd.Series, since: date, until: date) -> np.ndarray:
    """Which dates fall in [since, until] (both ends included)."""
    values = pd.to_datetime(dates)
    return ((values >= pd.Timestamp(since)) & (values <= pd.Timestamp(until))).to_numpy(dtype=bool)


def months_of(since: date, until: date) -> list[str]:
    """The calendar months of the window as YYYY-MM."""
    return [str(p) for p in pd.period_range(since, until, freq="M")]


def _published(counts: pd.Series, months: list[str], k: int) -> dict[str, int | None]:
    values = counts.reindex(months, fill_value=0).to_numpy(dtype=np.int64)
    hidden = hidden_counts(values, k)
    return {m: (None if h else int(v)) for m, v, h in zip(months, values, hidden, strict=True)}


def _total(value: int, k: int) -> int | None:
    return None if 0 < value < k else int(value)


def volumes(
    clients: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    services: tuple[str, ...],
    since: date,
    until: date,
    k: int,
) -> dict[str, Any]:
    """Intakes, clients seen and service starts per month of the window (None: hidden)."""
    months = months_of(since, until)
    intake = clients.loc[in_window(clients["intake_date"], since, until), "intake_date"]
    intakes = pd.to_datetime(intake).dt.to_period("M").astype(str).value_counts()
    seen = episodes.loc[in_window(episodes["start_date"], since, until)]
    month = pd.to_datetime(seen["start_date"]).dt.to_period("M").astype(str)
    clients_seen = (
        pd.DataFrame({"month": month, "client_id": seen["client_id"]})
        .drop_duplicates()
        .groupby("month")
        .size()
    )
    starts_frame = pd.DataFrame({"month": month, "service": seen["service"].astype(str)})
    starts_frame = starts_frame.loc[starts_frame["service"] != REVIEW]
    by_service = starts_frame.groupby(["service", "month"]).size()
    starts: dict[str, dict[str, int | None]] = {}
    totals: dict[str, int | None] = {}
    for service in services:
        counts = (
            by_service.xs(service)
            if service in by_service.index.get_level_values(0)
            else pd.Series(dtype=int)
        )
        starts[service] = _published(counts, months, k)
        totals[service] = _total(int(counts.sum()), k)
    return {
        "months": months,
        "intakes": _published(intakes, months, k),
        "clients_seen": _published(clients_seen, months, k),
        "starts": starts,
        "totals": {
            "intakes": _total(int(intakes.sum()), k),
            "clients_seen": _total(int(seen["client_id"].nunique()), k),
            "starts": totals,
        },
    }


def wait_figures(days: np.ndarray, k: int) -> dict[str, Any]:
    """Median, 90th percentile and shares over the thresholds of some waits (None below k)."""
    n = int(days.size)
    figures: dict[str, Any] = {"n": n if n == 0 or n >= k else None}
    if n < k:
        figures.update(median=None, p90=None, **{f"over_{t}": None for t in WAIT_THRESHOLDS})
        return figures
    figures["median"] = float(np.median(days))
    figures["p90"] = float(np.quantile(days, 0.9))
    for threshold in WAIT_THRESHOLDS:
        figures[f"over_{threshold}"] = float(np.mean(days > threshold))
    return figures


def _per_service(
    frame: pd.DataFrame, services: tuple[str, ...], k: int
) -> dict[str, dict[str, Any]]:
    grouped = dict(tuple(frame.groupby("service", observed=True)["days"]))
    empty = np.zeros(0)
    return {
        service: wait_figures(grouped[service].to_numpy(float) if service in grouped else empty, k)
        for service in services
    }


def waiting_times(
    clients: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    services: tuple[str, ...],
    since: date,
    until: date,
    k: int,
) -> dict[str, Any]:
    """Intake to first service and review to service start; see the module docstring."""
    starts = episodes.loc[
        episodes["service"].astype(str) != REVIEW, ["client_id", "service", "start_date"]
    ]
    starts = starts.assign(service=starts["service"].astype(str))
    starts = starts.sort_values(["client_id", "start_date"], kind="mergesort")

    first = starts.drop_duplicates("client_id", keep="first")
    first = first.merge(clients[["client_id", "intake_date"]], on="client_id", how="left")
    first = first.loc[in_window(first["start_date"], since, until)]
    first = first.assign(days=(first["start_date"] - first["intake_date"]).dt.days)
    admitted = clients.loc[in_window(clients["intake_date"], since, until), "client_id"]
    waiting_now = int((~admitted.isin(starts["client_id"])).sum())

    previous = starts.groupby("client_id", sort=False)["start_date"].shift(1)
    starts = starts.assign(previous_start=previous)
    reviews = episodes.loc[episodes["service"].astype(str) == REVIEW, ["client_id", "start_date"]]
    reviews = reviews.rename(columns={"start_date": "review_date"}).sort_values("review_date")
    matched = pd.merge_asof(
        starts.sort_values("start_date"),
        reviews,
        left_on="start_date",
        right_on="review_date",
        by="client_id",
        direction="backward",
    )
    agreed = matched["review_date"].notna() & (
        matched["previous_start"].isna() | (matched["review_date"] >= matched["previous_start"])
    )
    matched = matched.loc[agreed.to_numpy() & in_window(matched["start_date"], since, until)]
    matched = matched.assign(days=(matched["start_date"] - matched["review_date"]).dt.days)

    return {
        "thresholds": list(WAIT_THRESHOLDS),
        "intake_to_first_service": {
            "overall": wait_figures(first["days"].to_numpy(float), k),
            "by_service": _per_service(first, services, k),
            "not_started": waiting_now if waiting_now == 0 or waiting_now >= k else None,
        },
        "review_to_start": {
            "overall": wait_figures(matched["days"].to_numpy(float), k),
            "by_service": _per_service(matched, services, k),
        },
    }
