"""Features of (client, date) points, as known on the date: `features_at`.

Every feature of `model.features.feature_catalogue` is computed for many
points at once from the three input tables, using only what was known on the
decision date d (docs/data.md, section 6.6).

What "known on d" means
-----------------------
Only records that started strictly before d count. An episode or spell whose
end date is missing or on/after d is *ongoing as of d*: neither its end date
nor its final status nor its `language_level_after` is used. A record that
ended strictly before d is fully known. Records starting on or after d are
never read, so adding or changing them never changes a decision's features
(`tests/test_leakage.py` checks this with hypothesis).

The features
------------
- Dates are whole calendar days (a time of day is dropped). An end date
  before its start date (the contract forbids it) is read as the start date.
- Categorical profile fields are strings; missing or empty values become
  `unknown`. Yes/no fields are 1.0 / 0.0, NaN when missing. An optional or
  declared extra column that is absent is all missing (`unknown` for a
  category).
- `last_service`: the non-review episode with the latest start before d.
  Several starting on that same day are ranked by what was known on d: one
  still ongoing beats one that had ended, a later end beats an earlier one,
  then the alphabetically later service code and status win, so that the
  result does not depend on the input's row order.
- `last_service_status`: that episode's recorded status if it ended before d
  (normally completed or interrupted), else `ongoing`; `none` before any service.
- `n_interrupted` and `completed_<svc>` count non-review episodes that ended
  before d; `in_service` is 1.0 when a non-review episode that started before d
  had not ended before d; `days_since_last_service_end` uses the latest end
  before d of a non-review episode.
- `finnish_level`: the highest of the intake level and the
  `language_level_after` of non-review episodes that ended before d.
- `months_unemployed`: the days of every `unemployed` spell, each clipped to
  [start, min(end, d)), added up (overlapping spells are not merged), divided
  by 365.25 / 12.
- A point with no date, or whose client is not in `clients`, is an error
  (`DataContractError`), never a row of NaNs.

Every count, sum or "last before d" is a search of a sorted event list
(`model.decision_points.events`); no Python runs per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from model.catalogue import Catalogue
from model.config import RunConfig
from model.decision_points.conversions import (
    EPOCH,
    booleans,
    categories,
    cefr_ranks,
    datetimes,
    day_numbers,
    numbers,
    require_columns,
)
from model.decision_points.events import KEY_SPACE, QueryPoints, SortedEvents
from model.decision_points.histories import ClientHistories
from model.errors import DataContractError
from model.features import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    NONE_YET,
    Feature,
    FeatureKind,
    completed_feature,
    feature_catalogue,
)
from model.vocab import UNKNOWN

# `last_service_status` of a service that had not ended before the decision date.
ONGOING: Final = "ongoing"


def features_at(
    clients: pd.DataFrame,
    episodes: pd.DataFrame,
    outcomes: pd.DataFrame,
    points: pd.DataFrame,
    *,
    catalogue: Catalogue,
    config: RunConfig,
) -> pd.DataFrame:
    """Features of arbitrary points (client_id, decision_date) as known on each date.

    Returns a frame with the index of `points`: client_id, decision_date (as a
    whole day, datetime64[ns]), then every feature of
    `feature_catalogue(catalogue.service_codes, config.extra_features)` in that
    order. See the module docstring for the exact semantics.
    """
    require_columns(points, ("client_id", "decision_date"), "decision points")
    histories = ClientHistories(clients, episodes, outcomes)
    days = day_numbers(points["decision_date"])
    if np.isnan(days).any():
        row = int(np.flatnonzero(np.isnan(days))[0])
        raise DataContractError(f"decision points: row {row} has no decision_date")
    codes = histories.codes_of(points["client_id"])
    feature_list = feature_catalogue(catalogue.service_codes, config.extra_features)
    features = feature_frame(
        feature_values(histories, codes, days, catalogue, config), feature_list
    )
    head = pd.DataFrame(
        {"client_id": points["client_id"].to_numpy(), "decision_date": datetimes(days)},
        index=points.index,
    )
    return pd.concat([head, features.set_axis(points.index)], axis=1)


def feature_values(
    histories: ClientHistories,
    codes: np.ndarray,
    days: np.ndarray,
    catalogue: Catalogue,
    config: RunConfig,
) -> dict[str, np.ndarray]:
    """Every feature for points (client code, day) as numpy arrays.

    Numeric and yes/no features are float64 arrays, categorical ones object
    arrays of strings: the form the eligibility rules read.
    """
    # Work on points sorted by key (fast searchsorted), then put them back.
    order = np.argsort(KEY_SPACE.keys(codes, days), kind="stable")
    points = QueryPoints.of(codes[order], days[order])
    progress = _progress(histories, points, catalogue.service_codes)
    values: dict[str, np.ndarray] = {}
    for name, sorted_values in progress.items():
        restored = np.empty_like(sorted_values)
        restored[order] = sorted_values
        values[name] = restored
    values.update(_profile(histories.clients, codes, days, config.extra_features))
    return values


def feature_frame(
    values: Mapping[str, np.ndarray], feature_list: Sequence[Feature]
) -> pd.DataFrame:
    """The features as a frame: categorical ones as pandas strings, in catalogue order."""
    return pd.DataFrame(
        {
            feature.name: pd.array(values[feature.name], dtype="str")
            if feature.kind == "categorical"
            else values[feature.name]
            for feature in feature_list
        },
        copy=False,
    )


def _profile(
    clients: pd.DataFrame,
    codes: np.ndarray,
    days: np.ndarray,
    extras: Mapping[str, FeatureKind],
) -> dict[str, np.ndarray]:
    """Features from the clients table: the fields as they are, age and time since."""
    n_clients = len(clients)

    def column(name: str, kind: FeatureKind) -> np.ndarray:
        if name not in clients.columns:
            if kind == "categorical":
                return np.full(n_clients, UNKNOWN, dtype=object)
            return np.full(n_clients, np.nan)
        if kind == "categorical":
            return categories(clients[name])
        if kind == "boolean":
            return booleans(clients[name])
        return numbers(clients[name])

    per_client: dict[str, np.ndarray] = {
        feature.name: column(feature.name, feature.kind)
        for feature in feature_catalogue((), extras)
        if feature.source == feature.name  # fields used as they are
    }
    per_client["finnish_level_intake"] = (
        cefr_ranks(clients["finnish_level"])
        if "finnish_level" in clients.columns
        else np.full(n_clients, np.nan)
    )
    out = {name: values[codes] for name, values in per_client.items()}
    year = (EPOCH + days.astype(np.int64)).astype("datetime64[Y]").astype(np.int64) + 1970
    out["age"] = year - column("birth_year", "numeric")[codes]
    for name, source in (
        ("years_since_arrival", "arrival_date"),
        ("months_since_intake", "intake_date"),
    ):
        since = days - (
            day_numbers(clients[source])[codes] if source in clients.columns else np.nan
        )
        out[name] = since / (DAYS_PER_YEAR if name == "years_since_arrival" else DAYS_PER_MONTH)
    return out


def _progress(
    histories: ClientHistories, points: QueryPoints, services: Sequence[str]
) -> dict[str, np.ndarray]:
    """Features from episodes and outcomes."""
    n_points = len(points.codes)
    days = points.days
    starts, ends = histories.service_starts, histories.service_ends
    out: dict[str, np.ndarray] = {}

    start_lo, start_hi = starts.before(points)
    n_services = start_hi - start_lo
    end_lo, end_hi = ends.before(points)  # ended strictly before d (so started before d too)
    n_ended = end_hi - end_lo
    out["n_services"] = n_services.astype(float)
    out["in_service"] = (n_services > n_ended).astype(float)
    out["n_reviews"] = histories.review_starts.count_before(points).astype(float)

    # counts of ended episodes by status and service: prefix sums over `ends`
    end_status = ends.payload["status"]
    end_service = ends.payload["service"]
    interrupted = ends.cumulative(end_status == "interrupted")
    out["n_interrupted"] = (interrupted[end_hi] - interrupted[end_lo]).astype(float)
    completed = end_status == "completed"
    service_index, service_codes = pd.factorize(end_service)
    position = {code: i for i, code in enumerate(service_codes)}
    for code in services:
        done = ends.cumulative(completed & (service_index == position.get(code, -2)))
        out[completed_feature(code)] = (done[end_hi] - done[end_lo]).astype(float)

    has_end = n_ended > 0
    last = np.where(has_end, end_hi - 1, 0)
    # Highest language level reached in an ended service. Running maximum
    # within each client: events are sorted by client and levels lie in 0..6
    # (-1 for none), so client_code * 10 + level keeps clients apart.
    lift = ends.codes.astype(float) * 10.0
    running = np.maximum.accumulate(lift + np.nan_to_num(ends.payload["level"], nan=-1.0)) - lift
    last_end = np.full(n_points, np.nan)
    reached = np.full(n_points, np.nan)
    if len(ends):
        last_end = np.where(has_end, ends.days[last], np.nan)
        reached = np.where(has_end & (running[last] >= 0), running[last], np.nan)
    out["days_since_last_service_end"] = days - last_end
    intake = (
        cefr_ranks(histories.clients["finnish_level"])[points.codes]
        if "finnish_level" in histories.clients.columns
        else np.full(n_points, np.nan)
    )
    out["finnish_level"] = np.fmax(intake, reached)

    out["last_service"], out["last_service_status"] = _last_service(
        starts, start_lo, start_hi, days
    )
    out["months_unemployed"] = _unemployed_days(histories, points) / DAYS_PER_MONTH
    return out


def _last_service(
    starts: SortedEvents, lo: np.ndarray, hi: np.ndarray, days: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Service of the latest start before d and its status as of d (see module doc)."""
    n_points = len(days)
    service = np.full(n_points, NONE_YET, dtype=object)
    status = np.full(n_points, NONE_YET, dtype=object)
    has = hi > lo
    if not has.any():
        return service, status
    idx = np.where(has, hi - 1, 0)
    block_first = np.searchsorted(starts.keys, starts.keys, side="left")  # first same-day start
    tied = has & (block_first[idx] < idx)
    plain = has & ~tied
    start_service, start_status, start_end = (
        starts.payload[name] for name in ("service", "status", "end")
    )

    j = idx[plain]
    service[plain] = start_service[j]
    status[plain] = np.where(start_end[j] < days[plain], start_status[j], ONGOING)

    if tied.any():
        point = np.flatnonzero(tied)
        first = block_first[idx[point]]
        sizes = idx[point] - first + 1
        rep = np.repeat(point, sizes)
        candidate = (
            np.repeat(first, sizes)
            + np.arange(sizes.sum())
            - np.repeat(np.cumsum(sizes) - sizes, sizes)
        )
        ended = start_end[candidate] < days[rep]
        # ongoing as of d ranks above any end
        candidate_end = np.where(ended, start_end[candidate], np.inf)
        candidate_status = np.where(ended, start_status[candidate], ONGOING).astype(str)
        candidate_service = start_service[candidate].astype(str)
        order = np.lexsort((candidate_status, candidate_service, candidate_end, rep))
        last = order[np.flatnonzero(np.r_[rep[order][1:] != rep[order][:-1], True])]
        service[rep[last]] = candidate_service[last]
        status[rep[last]] = candidate_status[last]
    return service, status


def _unemployed_days(histories: ClientHistories, points: QueryPoints) -> np.ndarray:
    """Sum over unemployed spells of the days in [start, min(end, d)).

    Sum of (d - start) over spells started before d, minus sum of (d - end)
    over spells also ended before d; exact integer arithmetic on day numbers.
    """
    total = np.zeros(len(points.codes), dtype=np.int64)
    d = points.days.astype(np.int64)
    for events, sign in ((histories.unemployed_starts, 1), (histories.unemployed_ends, -1)):
        if len(events) == 0:
            continue
        lo, hi = events.before(points)
        summed = events.cumulative(events.days.astype(np.int64))
        total += sign * (d * (hi - lo) - (summed[hi] - summed[lo]))
    return total.astype(float)
