"""Decision points: the (client, date) moments at which a caseworker routed a client.

Two public functions, both pure pandas/numpy:

- `features_at` computes every feature of `model.features.feature_catalogue`
  for arbitrary query points (client_id, decision_date) from the three input
  tables, using only what was known on the decision date d.
- `build_decision_points` derives the historical decision points (SPEC §1,
  "Decision points"): their actions, labels, censoring, features and
  eligibility.

What "known on d" means
-----------------------
Only records that started strictly before d count. An episode or spell whose
end date is missing or on/after d is *ongoing as of d*: neither its end date
nor its final status nor its `language_level_after` is used. A record that
ended strictly before d is fully known. Records starting on or after d are
never read, so adding or changing them never changes a decision's features
(`tests/test_leakage.py` checks this with hypothesis).

Semantic choices
----------------
- Dates are whole calendar days (a time of day is dropped). An end date before
  its start date (the contract forbids it) is read as the start date.
- Categorical profile fields are strings; missing or empty values become
  `unknown`. Yes/no fields are 1.0 / 0.0, NaN when missing or when the optional
  column is absent. A declared extra column that is absent is all missing.
- `last_service`: the non-review episode with the latest start before d.
  Several starting on that same day are ranked by what was known on d: one
  still ongoing beats one that had ended, a later end beats an earlier one,
  then the alphabetically later service code and status win. This replaces
  "the later row in the data wins", which would make the result depend on the
  input's row order; it only matters for same-day starts.
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
  (`DataContractError`), never a row of NaNs. Episode and outcome rows of
  clients that are not in `clients` are ignored (validation rejects them).

Decision points, actions and labels: see `build_decision_points`.

Algorithm: every event list is sorted by the int64 key ``client_code * span +
day`` and every per-point count, sum or "last before d" is a `searchsorted`
on it (queries are sorted too, which keeps the binary searches cache-friendly).
No Python runs per row except on the few distinct values of a categorical
column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import pandas as pd

from model.catalogue import Catalogue
from model.config import RunConfig
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
from model.vocab import CEFR_RANK, NO_NEW_SERVICE, REVIEW, UNKNOWN

SERVICE_START: Final = "service_start"
REVIEW_KIND: Final = "review"

# Where a decision point's action comes from (the `action_source` column).
SOURCE_SERVICE_START: Final = "service_start"  # the service that started
SOURCE_PLANNED: Final = "planned_service"  # a review's recorded planned_service
SOURCE_INFERRED: Final = "inferred"  # a review read as no_new_service: nothing started
SOURCE_UNKNOWN: Final = "unknown"  # a review whose action cannot be known
ACTION_SOURCES: Final = (SOURCE_SERVICE_START, SOURCE_PLANNED, SOURCE_INFERRED, SOURCE_UNKNOWN)
ONGOING: Final = "ongoing"
UNEMPLOYED: Final = "unemployed"

# Columns of the decision-point frame before the features, in order.
ID_COLUMNS: Final = (
    "dp_id",
    "client_id",
    "decision_date",
    "kind",
    "action",
    "action_known",
    "action_source",
    "label",
    "censored",
)


def eligible_column(action: str) -> str:
    """Name of the frame column saying whether `action` was eligible at the point."""
    return f"eligible_{action}"


@dataclass(frozen=True)
class DecisionPoints:
    """Historical decision points with their actions, labels, features and eligibility.

    `frame` has the columns `ID_COLUMNS`, then every feature of `features` in
    order, then `eligible_<action>` for every action of the catalogue. One row
    per decision point, sorted by client_id, decision_date, kind (service
    starts first), action (known actions first, alphabetically); rows still
    tied are identical except for dp_id.
    """

    frame: pd.DataFrame
    features: tuple[Feature, ...]
    actions: tuple[str, ...]
    extract_date: date | None
    protected_attributes: tuple[str, ...] = ()

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def model_feature_names(self) -> tuple[str, ...]:
        """Features a learner may use: all but the protected attributes (fairness audit only)."""
        protected = set(self.protected_attributes)
        return tuple(f.name for f in self.features if f.name not in protected)

    @property
    def eligibility_columns(self) -> tuple[str, ...]:
        return tuple(eligible_column(a) for a in self.actions)

    def eligibility(self) -> np.ndarray:
        """(n_points, n_actions) boolean matrix in catalogue action order."""
        return self.frame[list(self.eligibility_columns)].to_numpy(dtype=bool)

    def labelled(self) -> pd.DataFrame:
        """Training rows of the outcome models: action known and label not censored."""
        known = self.frame["action_known"].to_numpy(dtype=bool)
        censored = self.frame["censored"].to_numpy(dtype=bool)
        return self.frame.loc[known & ~censored]

    def __len__(self) -> int:
        return len(self.frame)


# --------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------


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
    _require(points, ("client_id", "decision_date"), "decision points")
    tables = _Tables.prepare(clients, episodes, outcomes)
    days = _days(points["decision_date"])
    if np.isnan(days).any():
        row = int(np.flatnonzero(np.isnan(days))[0])
        raise DataContractError(f"decision points: row {row} has no decision_date")
    codes = tables.codes_of(points["client_id"])
    feature_list = feature_catalogue(catalogue.service_codes, config.extra_features)
    features = _frame(_feature_values(tables, codes, days, catalogue, config), feature_list)
    head = pd.DataFrame(
        {"client_id": points["client_id"].to_numpy(), "decision_date": _to_datetime(days)},
        index=points.index,
    )
    return pd.concat([head, features.set_axis(points.index)], axis=1)


def build_decision_points(
    clients: pd.DataFrame,
    episodes: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    catalogue: Catalogue,
    config: RunConfig,
) -> DecisionPoints:
    """Derive every historical decision point (SPEC §1) with its label and features.

    Decisions (w = config.review_window_days, all windows inclusive):
    - each non-review episode start; the action is its service;
    - each review with no non-review episode starting in [r, r + w]. Its
      action is the review's `planned_service` when recorded (non-empty, not
      `unknown`). Otherwise the action is unknown (`action_known` False; not a
      training row for any action's outcome model) when an outcome spell other
      than `unemployed` starts in [r, r + w] (reverse causation: the client
      found work or education while waiting), or when r + w is after the
      extract date (the window is not fully observed); else `no_new_service`.

    `action_source` says where each action came from: `service_start`,
    `planned_service` (a review's recorded plan), `inferred` (a review read as
    `no_new_service` because nothing started within the window) or `unknown`.
    Inferred actions are biased towards failure: the reviews whose window an
    outcome cut short are unknown, so only successes are lost from them. The
    training pipeline uses this column to leave them out where plans are
    recorded.

    Label: 1.0 if a spell whose status is in `config.target_statuses` starts
    0..horizon_days days after the decision date (both ends inclusive), else
    0.0. Censored, with label NaN, when decision_date + horizon_days is after
    the extract date (`config.extract_date`, by default the latest date in the
    three tables).

    dp_id is ``f"{client_id}|{decision_date:%Y-%m-%d}|{n}"``, n counting the
    client's points on that date in frame order from 0.
    """
    tables = _Tables.prepare(clients, episodes, outcomes)
    extract = config.extract_date if config.extract_date is not None else tables.latest_date()
    extract_day = np.nan if extract is None else _date_to_day(extract)
    window = config.review_window_days
    horizon = config.horizon_days

    # every service start
    svc = ~tables.ep_is_review
    s_code = tables.ep_code[svc]
    s_day = tables.ep_start[svc]
    s_action = tables.ep_service[svc]

    # reviews not followed by a service start within the window
    rev = tables.ep_is_review
    r_code = tables.ep_code[rev]
    r_day = tables.ep_start[rev]
    followed = tables.service_starts.count_between(r_code, r_day, r_day + window) > 0
    cut_short = tables.non_unemployed_starts.count_between(r_code, r_day, r_day + window) > 0
    with np.errstate(invalid="ignore"):
        incomplete = ~(r_day + window <= extract_day)
    r_action = np.full(len(r_code), None, dtype=object)  # None: unknown
    r_source = np.full(len(r_code), 3, dtype=np.int8)  # index into ACTION_SOURCES
    inferred = ~(cut_short | incomplete)
    r_action[inferred] = NO_NEW_SERVICE
    r_source[inferred] = 2
    planned = tables.ep_planned[rev]
    recorded = pd.notna(planned)
    r_action[recorded] = planned[recorded]
    r_source[recorded] = 1
    keep = ~followed

    codes = np.concatenate([s_code, r_code[keep]]).astype(np.int64)
    days = np.concatenate([s_day, r_day[keep]])
    kind_rank = np.concatenate([np.zeros(len(s_code), np.int8), np.ones(int(keep.sum()), np.int8)])
    action = np.concatenate([s_action, r_action[keep]]).astype(object)
    action_known = pd.notna(action)
    source = np.concatenate([np.zeros(len(s_code), np.int8), r_source[keep]])

    # deterministic order that does not depend on the input's row order
    action_codes, action_vocab = pd.factorize(action, sort=True)
    action_key = np.where(action_codes < 0, np.iinfo(np.int64).max, action_codes)
    order = np.lexsort((action_key, kind_rank, days, tables.client_rank[codes]))
    codes, days, kind_rank, action_codes, action_known, source = (
        codes[order],
        days[order],
        kind_rank[order],
        action_codes[order],
        action_known[order],
        source[order],
    )

    label = (
        tables.target_starts(config.target_statuses).count_between(codes, days, days + horizon) > 0
    ).astype(float)
    with np.errstate(invalid="ignore"):
        censored = ~(days + horizon <= extract_day)
    label[censored] = np.nan

    dp_id = _dp_ids(tables, codes, days)

    feature_list = feature_catalogue(catalogue.service_codes, config.extra_features)
    values = _feature_values(tables, codes, days, catalogue, config)
    features = _frame(values, feature_list)
    head = pd.DataFrame(
        {
            "dp_id": dp_id,
            "client_id": tables.clients["client_id"].array.take(codes),
            "decision_date": _to_datetime(days),
            "kind": _strings([SERVICE_START, REVIEW_KIND], kind_rank),
            "action": _strings(action_vocab, action_codes),
            "action_known": action_known,
            "action_source": _strings(ACTION_SOURCES, source.astype(np.intp)),
            "label": label,
            "censored": censored,
        },
        copy=False,
    )
    eligible = catalogue.eligibility(values, len(codes))
    eligibility = pd.DataFrame(
        {eligible_column(a): eligible[:, j] for j, a in enumerate(catalogue.actions)}, copy=False
    )
    frame = pd.concat([head, features, eligibility], axis=1)
    return DecisionPoints(
        frame=frame,
        features=feature_list,
        actions=catalogue.actions,
        extract_date=extract,
        protected_attributes=tuple(config.protected_attributes),
    )


def _dp_ids(tables: _Tables, codes: np.ndarray, days: np.ndarray) -> pd.Series:
    """client|date|n, n numbering the points of one client and date (points are sorted)."""
    n = len(codes)
    if n == 0:
        return pd.Series([], dtype="str")
    new = np.ones(n, dtype=bool)
    new[1:] = (codes[1:] != codes[:-1]) | (days[1:] != days[:-1])
    counter = np.arange(n) - np.maximum.accumulate(np.where(new, np.arange(n), 0))
    day_codes, unique_days = pd.factorize(days)
    day_text = np.datetime_as_string(
        (_EPOCH + np.asarray(unique_days, dtype=np.int64)).astype("datetime64[D]")
    )
    client_text = pd.Series(_strings(tables.client_ids.astype(str), codes))
    date_text = pd.Series(_strings(day_text, day_codes))
    count_text = pd.Series(_strings([str(i) for i in range(int(counter.max()) + 1)], counter))
    return client_text + "|" + date_text + "|" + count_text


def _strings(
    vocab: Sequence[object] | np.ndarray, index: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """vocab[index] as a pandas string array; index -1 gives a missing value."""
    return pd.array(np.asarray(vocab, dtype=object), dtype="str").take(index, allow_fill=True)


# --------------------------------------------------------------------------
# conversions: every date a float day number, every categorical a clean string
# --------------------------------------------------------------------------

_EPOCH: Final = np.datetime64("1970-01-01", "D")


def _days(values: pd.Series) -> np.ndarray:
    """Whole days since 1970-01-01 as float64; NaN where missing."""
    if len(values) == 0:
        return np.empty(0, dtype=float)
    converted = pd.to_datetime(values)
    if isinstance(converted.dtype, pd.DatetimeTZDtype):
        converted = converted.dt.tz_localize(None)
    raw = converted.to_numpy()
    missing = np.isnat(raw)
    out = (raw.astype("datetime64[D]") - _EPOCH).astype(np.int64).astype(float)
    out[missing] = np.nan
    return out


def _date_to_day(value: date) -> float:
    return float((np.datetime64(value, "D") - _EPOCH).astype(np.int64))


def _to_datetime(days: np.ndarray) -> np.ndarray:
    """Day numbers as datetime64[ns] (NaT for NaN)."""
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = ~np.isnan(days)
    out[ok] = (_EPOCH + days[ok].astype(np.int64)).astype("datetime64[ns]")
    return out


def _map_distinct(
    values: pd.Series | np.ndarray, fn: Callable[[object], object], missing: object, dtype: type
) -> np.ndarray:
    """fn applied to each distinct value (missing ones get `missing`), spread back to rows."""
    codes, uniques = pd.factorize(values)
    table: np.ndarray = np.array(
        [fn(u) for u in np.asarray(uniques, dtype=object)] + [missing], dtype=dtype
    )
    return table[codes]  # code -1 (missing) takes the last entry


def _clean_text(value: object) -> str:
    text = str(value).strip()
    return text if text else UNKNOWN


def _category(values: pd.Series | np.ndarray) -> np.ndarray:
    """Strings as an object array; missing or empty -> 'unknown'."""
    return _map_distinct(values, _clean_text, UNKNOWN, object)


def _numeric(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


_TRUTH: Final[Mapping[str, float]] = {
    "true": 1.0,
    "false": 0.0,
    "yes": 1.0,
    "no": 0.0,
    "1": 1.0,
    "0": 0.0,
}


def _truth(value: object) -> float:
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.number):
        return float(value != 0)
    if isinstance(value, str):
        return _TRUTH.get(value.strip().lower(), np.nan)
    return np.nan


def _boolean(series: pd.Series) -> np.ndarray:
    """A yes/no column as float 1.0 / 0.0, NaN where missing."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return np.where(np.isnan(values), np.nan, (values != 0).astype(float))
    return _map_distinct(series, _truth, np.nan, float)


def _cefr_rank(value: object) -> float:
    return float(CEFR_RANK.get(value.strip(), np.nan)) if isinstance(value, str) else np.nan


def _cefr(values: pd.Series) -> np.ndarray:
    """CEFR levels as ranks A0=0 .. C2=6; NaN for unknown or missing."""
    return _map_distinct(values, _cefr_rank, np.nan, float)


def _planned_text(value: object) -> object:
    text = str(value).strip()
    return None if text in ("", UNKNOWN) else text


def _require(frame: pd.DataFrame, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataContractError(f"{table}: missing column(s) {', '.join(missing)}")


# --------------------------------------------------------------------------
# sorted event lists
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Space:
    """Key space: ``client_code * span + (day - base)``; days outside are clipped."""

    base: int
    span: int

    def keys(self, codes: np.ndarray, days: np.ndarray) -> np.ndarray:
        offset = np.clip(days - self.base, 0, self.span - 1).astype(np.int64)
        return codes.astype(np.int64) * self.span + offset

    def client_floor(self, codes: np.ndarray) -> np.ndarray:
        return codes.astype(np.int64) * self.span


# 1800-01-01 .. 2199-12-31 as day numbers, far beyond any valid record.
_SPACE: Final = _Space(base=-62_091, span=62_091 + 84_005 + 1)


@dataclass(frozen=True)
class _Points:
    """Query points: client codes, day numbers and their keys."""

    codes: np.ndarray
    days: np.ndarray
    keys: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray, days: np.ndarray) -> _Points:
        return cls(codes, days, _SPACE.keys(codes, days))


class _Sorted:
    """Events (client code, day, payload) sorted by key; rows with no day dropped."""

    def __init__(
        self, n_clients: int, codes: np.ndarray, days: np.ndarray, **payload: np.ndarray
    ) -> None:
        keep = ~np.isnan(days)
        keys = _SPACE.keys(codes[keep], days[keep])
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.codes = codes[keep][order]
        self.days = days[keep][order]
        self.payload = {name: values[keep][order] for name, values in payload.items()}
        # index of each client's first event (or where it would be)
        self.client_first = np.searchsorted(self.keys, _SPACE.client_floor(np.arange(n_clients)))

    def __len__(self) -> int:
        return len(self.keys)

    def before(self, points: _Points) -> tuple[np.ndarray, np.ndarray]:
        """Index range [lo, hi) of each point's client's events with day < d."""
        lo = self.client_first[points.codes]
        hi = np.searchsorted(self.keys, points.keys, side="left")
        return lo, hi

    def count_before(self, points: _Points) -> np.ndarray:
        lo, hi = self.before(points)
        return hi - lo

    def count_between(self, codes: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Number of the client's events with first <= day <= last."""
        lo = np.searchsorted(self.keys, _SPACE.keys(codes, first), side="left")
        hi = np.searchsorted(self.keys, _SPACE.keys(codes, last), side="right")
        return hi - lo

    def cumulative(self, values: np.ndarray) -> np.ndarray:
        """Prefix sums of `values` over the sorted events, starting with 0."""
        return np.concatenate([[0], np.cumsum(values)])


class _Tables:
    """The three input tables as numpy arrays keyed by an integer client code."""

    def __init__(
        self, clients: pd.DataFrame, episodes: pd.DataFrame, outcomes: pd.DataFrame
    ) -> None:
        _require(clients, ("client_id",), "clients")
        _require(episodes, ("client_id", "service", "start_date", "end_date", "status"), "episodes")
        _require(outcomes, ("client_id", "status", "start_date", "end_date"), "outcomes")
        self.clients = clients
        n = len(clients)
        # One factorisation of every id: clients come first, so a unique client
        # table gets the codes 0..n-1, and any other id is not a client.
        all_ids = pd.concat(
            [clients["client_id"], episodes["client_id"], outcomes["client_id"]], ignore_index=True
        )
        all_codes, _ = pd.factorize(all_ids)
        client_codes = all_codes[:n]
        if not np.array_equal(client_codes, np.arange(n)):
            bad = int(np.flatnonzero(client_codes != np.arange(n))[0])
            value = clients["client_id"].iloc[bad]
            why = "is missing" if pd.isna(value) else f"{value!r} appears more than once"
            raise DataContractError(f"clients: row {bad}: client_id {why}")
        self.client_ids = clients["client_id"].to_numpy(dtype=object)
        # rank of each client's id, for sorting output by client_id
        self.client_rank = np.empty(n, dtype=np.int64)
        self.client_rank[np.argsort(self.client_ids, kind="stable")] = np.arange(n)

        def code(part: np.ndarray) -> np.ndarray:
            return np.where((part >= 0) & (part < n), part, -1).astype(np.int64)

        e = len(episodes)
        ep_code = code(all_codes[n : n + e])
        start = _days(episodes["start_date"])
        end = _days(episodes["end_date"])
        end = np.where(end < start, start, end)
        service = _category(episodes["service"])
        ok = (ep_code >= 0) & ~np.isnan(start)
        self.ep_code = ep_code[ok]
        self.ep_start = start[ok]
        self.ep_end = end[ok]
        self.ep_service = service[ok]
        self.ep_is_review = self.ep_service == REVIEW
        self.ep_status = _category(episodes["status"])[ok]
        self.ep_level = (
            _cefr(episodes["language_level_after"])[ok]
            if "language_level_after" in episodes.columns
            else np.full(int(ok.sum()), np.nan)
        )
        self.ep_planned = (
            _map_distinct(episodes["planned_service"], _planned_text, None, object)[ok]
            if "planned_service" in episodes.columns
            else np.full(int(ok.sum()), None, dtype=object)
        )

        out_code = code(all_codes[n + e :])
        out_start = _days(outcomes["start_date"])
        out_end = _days(outcomes["end_date"])
        out_end = np.where(out_end < out_start, out_start, out_end)
        ok = (out_code >= 0) & ~np.isnan(out_start)
        self.out_code = out_code[ok]
        self.out_start = out_start[ok]
        self.out_end = out_end[ok]
        self.out_status = _category(outcomes["status"])[ok]

        svc = ~self.ep_is_review
        self.service_starts = _Sorted(
            n,
            self.ep_code[svc],
            self.ep_start[svc],
            service=self.ep_service[svc],
            status=self.ep_status[svc],
            end=self.ep_end[svc],
        )
        self.service_ends = _Sorted(
            n,
            self.ep_code[svc],
            self.ep_end[svc],
            service=self.ep_service[svc],
            status=self.ep_status[svc],
            level=self.ep_level[svc],
        )
        self.review_starts = _Sorted(
            n, self.ep_code[self.ep_is_review], self.ep_start[self.ep_is_review]
        )
        unemployed = self.out_status == UNEMPLOYED
        self.unemployed_starts = _Sorted(n, self.out_code[unemployed], self.out_start[unemployed])
        self.unemployed_ends = _Sorted(n, self.out_code[unemployed], self.out_end[unemployed])
        other = (self.out_status != UNEMPLOYED) & (self.out_status != UNKNOWN)
        self.non_unemployed_starts = _Sorted(n, self.out_code[other], self.out_start[other])

    @classmethod
    def prepare(
        cls, clients: pd.DataFrame, episodes: pd.DataFrame, outcomes: pd.DataFrame
    ) -> _Tables:
        return cls(clients, episodes, outcomes)

    def target_starts(self, statuses: Sequence[str]) -> _Sorted:
        mask = np.isin(self.out_status, np.asarray(list(statuses), dtype=object))
        return _Sorted(len(self.client_ids), self.out_code[mask], self.out_start[mask])

    def codes_of(self, ids: pd.Series) -> np.ndarray:
        n = len(self.client_ids)
        both = pd.concat([self.clients["client_id"], ids], ignore_index=True)
        codes = pd.factorize(both)[0][n:]
        unknown = (codes < 0) | (codes >= n)
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise DataContractError(
                f"decision points: row {row}: client_id {ids.iloc[row]!r} is not in clients"
            )
        return codes.astype(np.int64)

    def latest_date(self) -> date | None:
        """The latest date appearing anywhere in the three tables."""
        parts = [self.ep_start, self.ep_end, self.out_start, self.out_end]
        parts += [
            _days(self.clients[c]) for c in ("intake_date", "arrival_date") if c in self.clients
        ]
        every = np.concatenate(parts)
        if every.size == 0 or np.isnan(every).all():
            return None
        return (_EPOCH + np.timedelta64(int(np.nanmax(every)), "D")).astype(date)


# --------------------------------------------------------------------------
# the features
# --------------------------------------------------------------------------


def _feature_values(
    tables: _Tables,
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
    order = np.argsort(_SPACE.keys(codes, days), kind="stable")
    points = _Points.of(codes[order], days[order])
    progress = _progress(tables, points, catalogue.service_codes)
    values: dict[str, np.ndarray] = {}
    for name, sorted_values in progress.items():
        restored = np.empty_like(sorted_values)
        restored[order] = sorted_values
        values[name] = restored
    values.update(_profile(tables.clients, codes, days, config.extra_features))
    return values


def _frame(values: Mapping[str, np.ndarray], feature_list: Sequence[Feature]) -> pd.DataFrame:
    """The features as a frame: categorical ones as pandas strings, in catalogue order."""
    return pd.DataFrame(
        {
            f.name: pd.array(values[f.name], dtype="str")
            if f.kind == "categorical"
            else values[f.name]
            for f in feature_list
        },
        copy=False,
    )


def _profile(
    clients: pd.DataFrame,
    codes: np.ndarray,
    days: np.ndarray,
    extras: Mapping[str, FeatureKind],
) -> dict[str, np.ndarray]:
    n = len(clients)

    def column(name: str, kind: FeatureKind) -> np.ndarray:
        if name not in clients.columns:
            if kind == "categorical":
                return np.full(n, UNKNOWN, dtype=object)
            return np.full(n, np.nan)
        if kind == "categorical":
            return _category(clients[name])
        if kind == "boolean":
            return _boolean(clients[name])
        return _numeric(clients[name])

    per_client: dict[str, np.ndarray] = {
        f.name: column(f.name, f.kind)
        for f in feature_catalogue((), extras)
        if f.source == f.name  # fields used as they are
    }
    per_client["finnish_level_intake"] = (
        _cefr(clients["finnish_level"])
        if "finnish_level" in clients.columns
        else np.full(n, np.nan)
    )
    out = {name: values[codes] for name, values in per_client.items()}
    year = (_EPOCH + days.astype(np.int64)).astype("datetime64[Y]").astype(np.int64) + 1970
    out["age"] = year - column("birth_year", "numeric")[codes]
    for name, source in (
        ("years_since_arrival", "arrival_date"),
        ("months_since_intake", "intake_date"),
    ):
        since = days - (_days(clients[source])[codes] if source in clients.columns else np.nan)
        out[name] = since / (DAYS_PER_YEAR if name == "years_since_arrival" else DAYS_PER_MONTH)
    return out


def _progress(tables: _Tables, points: _Points, services: Sequence[str]) -> dict[str, np.ndarray]:
    """Features from episodes and outcomes."""
    n = len(points.codes)
    days = points.days
    starts, ends = tables.service_starts, tables.service_ends
    out: dict[str, np.ndarray] = {}

    s_lo, s_hi = starts.before(points)
    n_services = s_hi - s_lo
    e_lo, e_hi = ends.before(points)  # ended strictly before d (so started before d too)
    n_ended = e_hi - e_lo
    out["n_services"] = n_services.astype(float)
    out["in_service"] = (n_services > n_ended).astype(float)
    out["n_reviews"] = tables.review_starts.count_before(points).astype(float)

    # counts of ended episodes by status and service: prefix sums over `ends`
    e_status = ends.payload["status"]
    e_service = ends.payload["service"]
    interrupted = ends.cumulative(e_status == "interrupted")
    out["n_interrupted"] = (interrupted[e_hi] - interrupted[e_lo]).astype(float)
    completed = e_status == "completed"
    service_index, service_codes = pd.factorize(e_service)
    position = {code: i for i, code in enumerate(service_codes)}
    for code in services:
        done = ends.cumulative(completed & (service_index == position.get(code, -2)))
        out[completed_feature(code)] = (done[e_hi] - done[e_lo]).astype(float)

    has_end = n_ended > 0
    last = np.where(has_end, e_hi - 1, 0)
    # Highest language level reached in an ended service. Running maximum
    # within each client: events are sorted by client and levels lie in 0..6
    # (-1 for none), so client_code * 10 + level keeps clients apart.
    lift = ends.codes.astype(float) * 10.0
    running = np.maximum.accumulate(lift + np.nan_to_num(ends.payload["level"], nan=-1.0)) - lift
    last_end = np.full(n, np.nan)
    reached = np.full(n, np.nan)
    if len(ends):
        last_end = np.where(has_end, ends.days[last], np.nan)
        reached = np.where(has_end & (running[last] >= 0), running[last], np.nan)
    out["days_since_last_service_end"] = days - last_end
    intake = (
        _cefr(tables.clients["finnish_level"])[points.codes]
        if "finnish_level" in tables.clients.columns
        else np.full(n, np.nan)
    )
    out["finnish_level"] = np.fmax(intake, reached)

    out["last_service"], out["last_service_status"] = _last_service(starts, s_lo, s_hi, days)
    out["months_unemployed"] = _unemployed_days(tables, points) / DAYS_PER_MONTH
    return out


def _last_service(
    starts: _Sorted, lo: np.ndarray, hi: np.ndarray, days: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Service of the latest start before d and its status as of d (see module doc)."""
    n = len(days)
    service = np.full(n, NONE_YET, dtype=object)
    status = np.full(n, NONE_YET, dtype=object)
    has = hi > lo
    if not has.any():
        return service, status
    idx = np.where(has, hi - 1, 0)
    block_first = np.searchsorted(starts.keys, starts.keys, side="left")  # first same-day start
    tied = has & (block_first[idx] < idx)
    plain = has & ~tied
    s_service, s_status, s_end = (starts.payload[k] for k in ("service", "status", "end"))

    j = idx[plain]
    service[plain] = s_service[j]
    status[plain] = np.where(s_end[j] < days[plain], s_status[j], ONGOING)

    if tied.any():
        point = np.flatnonzero(tied)
        first = block_first[idx[point]]
        sizes = idx[point] - first + 1
        rep = np.repeat(point, sizes)
        cand = (
            np.repeat(first, sizes)
            + np.arange(sizes.sum())
            - np.repeat(np.cumsum(sizes) - sizes, sizes)
        )
        ended = s_end[cand] < days[rep]
        c_end = np.where(ended, s_end[cand], np.inf)  # ongoing as of d ranks above any end
        c_status = np.where(ended, s_status[cand], ONGOING).astype(str)
        c_service = s_service[cand].astype(str)
        order = np.lexsort((c_status, c_service, c_end, rep))
        last = order[np.flatnonzero(np.r_[rep[order][1:] != rep[order][:-1], True])]
        service[rep[last]] = c_service[last]
        status[rep[last]] = c_status[last]
    return service, status


def _unemployed_days(tables: _Tables, points: _Points) -> np.ndarray:
    """Sum over unemployed spells of the days in [start, min(end, d)).

    Sum of (d - start) over spells started before d, minus sum of (d - end)
    over spells also ended before d; exact integer arithmetic on day numbers.
    """
    total = np.zeros(len(points.codes), dtype=np.int64)
    d = points.days.astype(np.int64)
    for events, sign in ((tables.unemployed_starts, 1), (tables.unemployed_ends, -1)):
        if len(events) == 0:
            continue
        lo, hi = events.before(points)
        summed = events.cumulative(events.days.astype(np.int64))
        total += sign * (d * (hi - lo) - (summed[hi] - summed[lo]))
    return total.astype(float)
