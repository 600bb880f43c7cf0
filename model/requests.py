"""One recommendation request answered: its features, the ranked services, their explanations.

The API (`api.recommendations.service`) and the MLflow pyfunc
(`training.registry.pyfunc`) both answer through here, so a request gets the
same services, chances, intervals, uplifts and explanations from either. A
request is what `POST /v1/recommendations` takes (docs/api.md): `client`,
`episodes`, `outcomes`, `as_of`, `k`, `language`. The API checks it with its
own schemas first; `parse_request` and `check_catalogue_fields` are the
check for plain JSON values (as the pyfunc receives them): the shape and
types of the fields, the dates and the data contract's rules on them (no
record after `as_of` or before intake, ends not before starts, an end date
exactly when the episode has ended, no personal identity code as the client
id), and service codes and extra fields the served catalogue and
configuration know. An error names the field.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from model.client_features import check_features, client_features
from model.errors import DataContractError
from model.features import Feature, feature_catalogue
from model.privacy import looks_like_personal_identity_code
from model.router import Recommendation, Router, Scored
from model.vocab import EPISODE_STATUSES, LANGUAGES, OUTCOME_STATUSES, REVIEW

DEFAULT_K: Final = 3
MIN_AGE_AT_INTAKE: Final = 15
ENDED: Final = tuple(s for s in EPISODE_STATUSES if s != "ongoing")
MAX_K: Final = 100
DEFAULT_LANGUAGE: Final = "fi"
CLIENT_DATES: Final = ("intake_date", "arrival_date")
CLIENT_REQUIRED: Final = (
    "intake_date",
    "arrival_date",
    "birth_year",
    "gender",
    "mother_tongue",
    "citizenship_region",
    "residence_basis",
    "education_level",
    "literacy_needs",
    "finnish_level",
)
EPISODE_REQUIRED: Final = ("service", "start_date", "status")
OUTCOME_REQUIRED: Final = ("status", "start_date")


@dataclass(frozen=True)
class Request:
    """A recommendation request as plain values: dates as `date`, records as dicts."""

    client: dict[str, Any]
    episodes: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    as_of: date
    k: int = DEFAULT_K
    language: str = DEFAULT_LANGUAGE


def request_features(
    router: Router,
    client: Mapping[str, Any],
    episodes: Sequence[Mapping[str, Any]],
    outcomes: Sequence[Mapping[str, Any]],
    as_of: date,
    *,
    features: Sequence[Feature] | None = None,
) -> dict[str, Any]:
    """The request's decision-point features, checked against the contract.

    `client` holds the profile fields and, under `extras`, the extra fields
    the router's configuration declares. `features` is the router's feature
    list when the caller has it already.
    """
    extras = dict(router.config.extra_features)
    profile = {name: value for name, value in client.items() if name != "extras"}
    profile.update(client.get("extras") or {})
    services = router.catalogue.service_codes
    out = client_features(profile, episodes, outcomes, as_of, services=services, extras=extras)
    check_features(out, features if features is not None else feature_catalogue(services, extras))
    return out


def scored_json(s: Scored) -> dict[str, Any]:
    """A ranked (or reference) service as the API's answer holds it."""
    return {
        "service": s.service,
        "name": s.name,
        "rank": s.rank,
        "p_outcome": s.p_outcome,
        "interval": [s.interval[0], s.interval[1]],
        "uplift": s.uplift,
        "thin_support": s.thin_support,
        # The router gives each value as JSON holds it (model.json_values.json_value).
        "explanation": [
            {
                "feature": c.feature,
                "value": c.value,
                "value_text": c.value_text,
                "contribution": c.contribution,
                "text": c.text,
            }
            for c in s.explanation
        ],
    }


def answer_json(recommendation: Recommendation) -> dict[str, Any]:
    """`recommendations`, `reference` and `not_eligible` of the API's answer."""
    return {
        "recommendations": [scored_json(s) for s in recommendation.recommendations],
        "reference": scored_json(recommendation.reference),
        "not_eligible": [
            {"service": code, "reason": reason} for code, reason in recommendation.not_eligible
        ],
    }


def check_catalogue_fields(router: Router, request: Request) -> None:
    """Service codes the served catalogue knows, extra fields its configuration declares.

    Raises `DataContractError` naming the field.
    """
    services = set(router.catalogue.service_codes)
    for i, episode in enumerate(request.episodes):
        if episode["service"] != REVIEW and episode["service"] not in services:
            raise _fail(f"episodes.{i}.service", "not a service code of the served catalogue")
        planned = episode.get("planned_service")
        if not _missing(planned) and planned not in router.actions:
            raise _fail(f"episodes.{i}.planned_service", "not an action of the served catalogue")
    extras = request.client.get("extras") or {}
    if not isinstance(extras, dict):
        raise _fail("client.extras", "must be a JSON object")
    declared = dict(router.config.extra_features)
    for name, value in extras.items():
        kind = declared.get(name)
        if kind is None:
            known = ", ".join(sorted(declared)) or "none"
            raise _fail(f"client.extras.{name}", f"not an extra field of the model ({known})")
        if _missing(value):
            continue
        if kind == "numeric" and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise _fail(f"client.extras.{name}", "this extra field is a number")
        if kind == "boolean" and not isinstance(value, bool):
            raise _fail(f"client.extras.{name}", "this extra field is true or false")
        if kind == "categorical" and not isinstance(value, str):
            raise _fail(f"client.extras.{name}", "this extra field is a category (text)")


def answer(router: Router, request: Request) -> dict[str, Any]:
    """The API's answer to `request` (without its request id and model): `as_of`,
    `recommendations`, `reference`, `not_eligible`."""
    check_catalogue_fields(router, request)
    features = request_features(
        router, request.client, request.episodes, request.outcomes, request.as_of
    )
    recommendation = router.recommend(
        features, k=request.k, language=request.language, explain=True
    )
    return {"as_of": request.as_of.isoformat(), **answer_json(recommendation)}


# -- plain JSON values to a request -----------------------------------------------------------


def _missing(value: Any) -> bool:
    """None, or NaN (how a frame holds a value some of its rows lack)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fail(field: str, message: str) -> DataContractError:
    return DataContractError(f"{field}: {message}")


def _json(value: Any, field: str, kind: type) -> Any:
    """`value` itself, or parsed when it is JSON text; of type `kind`."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            raise _fail(field, "not valid JSON") from None
    if not isinstance(value, kind):
        raise _fail(field, f"must be a JSON {'object' if kind is dict else 'array'}")
    return value


def _date(value: Any, field: str, *, required: bool = True) -> date | None:
    if _missing(value):
        if required:
            raise _fail(field, "missing (a date, YYYY-MM-DD)")
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(field, "not a date (YYYY-MM-DD)")


def _records(
    value: Any, field: str, required: Sequence[str], as_of: date, intake: date
) -> list[dict[str, Any]]:
    if _missing(value):
        return []
    out = []
    for i, raw in enumerate(_json(value, field, list)):
        at = f"{field}.{i}"
        if not isinstance(raw, dict):
            raise _fail(at, "must be a JSON object")
        record = dict(raw)
        for name in required:
            if record.get(name) is None:
                raise _fail(f"{at}.{name}", "missing")
        statuses = EPISODE_STATUSES if field == "episodes" else OUTCOME_STATUSES
        if record["status"] not in statuses:
            raise _fail(f"{at}.status", f"must be one of {', '.join(statuses)}")
        record["start_date"] = start = _date(record["start_date"], f"{at}.start_date")
        record["end_date"] = end = _date(record.get("end_date"), f"{at}.end_date", required=False)
        assert start is not None
        if start > as_of:
            raise _fail(f"{at}.start_date", "after as_of; send the history up to as_of")
        if end is not None and end < start:
            raise _fail(f"{at}.end_date", "before start_date")
        if field == "episodes" and start < intake:
            raise _fail(f"{at}.start_date", "before the client's intake_date")
        if field == "episodes" and record["status"] == "ongoing" and end is not None:
            raise _fail(f"{at}.end_date", "an ongoing episode has no end_date")
        if field == "episodes" and record["status"] in ENDED and end is None:
            raise _fail(f"{at}.end_date", "a completed or interrupted episode needs an end_date")
        out.append(record)
    return out


def parse_request(row: Mapping[str, Any], *, today: date) -> Request:
    """A request from plain values (`client`, `episodes` and `outcomes` as JSON text or
    already parsed; `as_of` as a date or YYYY-MM-DD, default `today`; `k`;
    `language`). Raises `DataContractError` naming the field."""
    client = dict(_json(row.get("client"), "client", dict))
    for name in CLIENT_REQUIRED:
        if client.get(name) is None:
            raise _fail(f"client.{name}", "missing")
    if looks_like_personal_identity_code(client.get("client_id")):
        raise _fail(
            "client.client_id",
            "looks like a Finnish personal identity code; Polku takes pseudonymous ids only",
        )
    for name in CLIENT_DATES:
        client[name] = _date(client[name], f"client.{name}")
    birth_year = client["birth_year"]
    if isinstance(birth_year, bool) or not isinstance(birth_year, numbers.Real):
        raise _fail("client.birth_year", "not a number")
    if birth_year > client["intake_date"].year - MIN_AGE_AT_INTAKE:
        raise _fail(
            "client.birth_year", f"must be at most the intake year minus {MIN_AGE_AT_INTAKE}"
        )
    if client["arrival_date"] > client["intake_date"]:
        raise _fail("client.arrival_date", "after intake_date")
    as_of = _date(row.get("as_of"), "as_of", required=False) or today
    if as_of > today:
        raise _fail("as_of", f"later than today ({today.isoformat()})")
    if as_of < client["intake_date"]:
        raise _fail("as_of", "before the client's intake_date")
    raw_k = row.get("k")
    raw_k = DEFAULT_K if _missing(raw_k) else raw_k
    if isinstance(raw_k, bool) or not isinstance(raw_k, numbers.Real) or float(raw_k) % 1:
        raise _fail("k", "not a whole number")
    k = int(float(raw_k))
    if not 1 <= k <= MAX_K:
        raise _fail("k", f"must be from 1 to {MAX_K}")
    language = row.get("language")
    language = DEFAULT_LANGUAGE if _missing(language) else language
    if language not in LANGUAGES:
        raise _fail("language", f"must be one of {', '.join(LANGUAGES)}")
    intake = client["intake_date"]
    return Request(
        client=client,
        episodes=_records(row.get("episodes"), "episodes", EPISODE_REQUIRED, as_of, intake),
        outcomes=_records(row.get("outcomes"), "outcomes", OUTCOME_REQUIRED, as_of, intake),
        as_of=as_of,
        k=k,
        language=str(language),
    )
