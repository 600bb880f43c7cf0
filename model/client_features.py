"""Decision-point features of one client, in plain Python (the API's fast path).

`model.decision_points.features_at` computes the features of many points from
three pandas tables. Serving one recommendation needs them for a single
client on a single date, where building those tables costs more than the
model itself (bench/RESULTS.md has the figures). `client_features`
computes exactly the same values from plain mappings and lists;
`tests/model/test_client_features.py` proves, with generated histories, that the
two agree feature by feature.

The semantics are `features_at`'s (see the docstring of
`model.decision_points.features`): only records that started strictly before the
decision date count, a record whose end is missing or not before that date
is ongoing as of the date, an end before its start is read as the start,
missing or empty categories are `unknown`, missing numbers NaN.

Inputs are what an API request holds after validation: dates as
`datetime.date` (or `datetime`, whose time is dropped) or None; yes/no
fields as bool, numbers, or the contract's texts (true/false, yes/no, 1/0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

import numpy as np

from model.decision_points.features import ONGOING
from model.decision_points.histories import UNEMPLOYED
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
from model.vocab import CEFR_LEVELS, CEFR_RANK, REVIEW, UNKNOWN

NAN: Final = float("nan")
_TRUTH: Final[Mapping[str, float]] = {
    "true": 1.0,
    "false": 0.0,
    "yes": 1.0,
    "no": 0.0,
    "1": 1.0,
    "0": 0.0,
}
# Profile fields used as they are (`Feature.source == Feature.name`).
_AS_IS: Final = tuple(f for f in feature_catalogue(()) if f.source == f.name)


def client_features(
    client: Mapping[str, Any],
    episodes: Iterable[Mapping[str, Any]],
    outcomes: Iterable[Mapping[str, Any]],
    decision_date: date,
    *,
    services: Sequence[str],
    extras: Mapping[str, FeatureKind] | None = None,
) -> dict[str, Any]:
    """Every feature of `feature_catalogue(services, extras)` for one client on one date.

    Categorical features are `str`, every other feature a `float` (NaN when
    missing). The keys are in the catalogue's order.
    """
    d = _day(decision_date)
    if d is None:
        raise DataContractError("the decision date is missing")
    extras = dict(extras or {})
    out: dict[str, Any] = {}
    profile = _profile(client, d, extras)
    progress = _progress(client, episodes, outcomes, d, services)
    for feature in feature_catalogue(services, extras):
        out[feature.name] = (
            profile[feature.name] if feature.name in profile else progress[feature.name]
        )
    return out


def check_features(features: Mapping[str, Any], feature_list: Sequence[Feature]) -> None:
    """The converted features meet the decision-point contract, or `DataContractError`.

    Every feature is present with its kind: categorical ones non-empty text,
    yes/no ones 0.0, 1.0 or NaN, numbers finite or NaN; counts, durations and
    CEFR ranks within their ranges. A failure here is a bug in the
    conversion, never the caller's input, which was validated before.
    """
    problems: list[str] = []
    for feature in feature_list:
        if feature.name not in features:
            problems.append(f"{feature.name}: missing")
            continue
        value = features[feature.name]
        if feature.kind == "categorical":
            if not isinstance(value, str) or not value:
                problems.append(f"{feature.name}: not a category")
            continue
        if not isinstance(value, float) or math.isinf(value):
            problems.append(f"{feature.name}: not a finite number or NaN")
            continue
        if math.isnan(value):
            continue
        if feature.kind == "boolean" and value not in (0.0, 1.0):
            problems.append(f"{feature.name}: not 0 or 1")
        low, high = _RANGES.get(feature.name, (None, None))
        if feature.name.startswith("completed_"):
            low = 0.0
        if (low is not None and value < low) or (high is not None and value > high):
            problems.append(f"{feature.name}: out of range")
    extra = sorted(set(features) - {f.name for f in feature_list})
    if extra:
        problems.append(f"unexpected feature(s) {', '.join(extra)}")
    if problems:
        raise DataContractError(
            "decision-point features break the contract: " + "; ".join(problems)
        )


_TOP_CEFR: Final = float(len(CEFR_LEVELS) - 1)
_RANGES: Final[Mapping[str, tuple[float | None, float | None]]] = {
    "age": (0.0, None),
    "prior_work_years": (0.0, None),
    "finnish_level_intake": (0.0, _TOP_CEFR),
    "finnish_level": (0.0, _TOP_CEFR),
    "children_under_school_age": (0.0, None),
    "n_services": (0.0, None),
    "n_interrupted": (0.0, None),
    "n_reviews": (0.0, None),
    "months_unemployed": (0.0, None),
    "days_since_last_service_end": (0.0, None),
    "months_since_intake": (0.0, None),
}


# --------------------------------------------------------------------------- conversions


def _day(value: object) -> int | None:
    """Whole days since 1970-01-01; None when missing."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.toordinal() - _EPOCH_ORDINAL
    if isinstance(value, str) and value.strip():
        return date.fromisoformat(value.strip()[:10]).toordinal() - _EPOCH_ORDINAL
    return None


_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _category(value: object) -> str:
    if _missing(value):
        return UNKNOWN
    text = str(value).strip()
    return text if text else UNKNOWN


def _numeric(value: object) -> float:
    if _missing(value):
        return NAN
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return NAN


def _boolean(value: object) -> float:
    if isinstance(value, bool | np.bool_):
        return float(value)
    if _missing(value):
        return NAN
    if isinstance(value, int | float | np.number):
        return NAN if math.isnan(float(value)) else float(value != 0)
    if isinstance(value, str):
        return _TRUTH.get(value.strip().lower(), NAN)
    return NAN


def _cefr(value: object) -> float:
    return float(CEFR_RANK.get(value.strip(), NAN)) if isinstance(value, str) else NAN


def _year(day: int) -> int:
    return date.fromordinal(day + _EPOCH_ORDINAL).year


# --------------------------------------------------------------------------- the features


def _profile(
    client: Mapping[str, Any], d: int, extras: Mapping[str, FeatureKind]
) -> dict[str, Any]:
    def value(name: str, kind: FeatureKind) -> Any:
        raw = client.get(name)
        if kind == "categorical":
            return _category(raw)
        if kind == "boolean":
            return _boolean(raw)
        return _numeric(raw)

    out: dict[str, Any] = {f.name: value(f.name, f.kind) for f in _AS_IS}
    out.update({name: value(name, kind) for name, kind in extras.items()})
    out["finnish_level_intake"] = _cefr(client.get("finnish_level"))
    out["age"] = _year(d) - _numeric(client.get("birth_year"))
    arrival = _day(client.get("arrival_date"))
    intake = _day(client.get("intake_date"))
    out["years_since_arrival"] = NAN if arrival is None else (d - arrival) / DAYS_PER_YEAR
    out["months_since_intake"] = NAN if intake is None else (d - intake) / DAYS_PER_MONTH
    return out


def _progress(
    client: Mapping[str, Any],
    episodes: Iterable[Mapping[str, Any]],
    outcomes: Iterable[Mapping[str, Any]],
    d: int,
    services: Sequence[str],
) -> dict[str, Any]:
    n_services = n_ended = n_reviews = n_interrupted = 0
    completed = dict.fromkeys(services, 0)
    last_end: int | None = None
    reached = NAN
    # (start, end-as-known rank, service, status) of the latest service start
    latest: tuple[int, float, str, str] | None = None
    for episode in episodes:
        start = _day(episode.get("start_date"))
        if start is None or start >= d:
            continue
        service = _category(episode.get("service"))
        if service == REVIEW:
            n_reviews += 1
            continue
        n_services += 1
        end = _day(episode.get("end_date"))
        if end is not None and end < start:
            end = start
        status = _category(episode.get("status"))
        ended = end is not None and end < d
        if ended:
            assert end is not None
            n_ended += 1
            if status == "interrupted":
                n_interrupted += 1
            elif status == "completed" and service in completed:
                completed[service] += 1
            last_end = end if last_end is None else max(last_end, end)
            level = _cefr(episode.get("language_level_after"))
            if not math.isnan(level) and (math.isnan(reached) or level > reached):
                reached = level
        # Same-day starts: ongoing beats ended, a later end beats an earlier
        # one, then the later service code and status (model.decision_points.features).
        candidate = (
            start,
            float(end) if ended and end is not None else math.inf,
            service,
            status if ended else ONGOING,
        )
        if latest is None or candidate > latest:
            latest = candidate

    out: dict[str, Any] = {
        "n_services": float(n_services),
        "n_interrupted": float(n_interrupted),
        "in_service": float(n_services > n_ended),
        "n_reviews": float(n_reviews),
        "days_since_last_service_end": NAN if last_end is None else float(d - last_end),
        "last_service": NONE_YET if latest is None else latest[2],
        "last_service_status": NONE_YET if latest is None else latest[3],
    }
    intake_level = _cefr(client.get("finnish_level"))
    if math.isnan(intake_level):
        out["finnish_level"] = reached
    elif math.isnan(reached):
        out["finnish_level"] = intake_level
    else:
        out["finnish_level"] = max(intake_level, reached)
    for code, count in completed.items():
        out[completed_feature(code)] = float(count)

    unemployed_days = 0
    for spell in outcomes:
        start = _day(spell.get("start_date"))
        if start is None or start >= d or _category(spell.get("status")) != UNEMPLOYED:
            continue
        end = _day(spell.get("end_date"))
        if end is not None and end < start:
            end = start
        unemployed_days += (end if end is not None and end < d else d) - start
    out["months_unemployed"] = unemployed_days / DAYS_PER_MONTH
    return out
