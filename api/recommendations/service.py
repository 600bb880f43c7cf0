"""Recommendations: check the request, build its features, rank, explain, audit.

The request's history is checked with the data contract's rules
(docs/data.md; `training.contract` applies them to files), each failure
reported with its field path: an end before its start, a completed episode
without an end, a service the served catalogue does not know, a record
before intake or after `as_of`, `as_of` before intake, an undeclared extra
field. The pandera schemas themselves cost many times a whole
recommendation for one client, so the same rules are applied here in Python and
`tests/api/test_contract_agreement.py` proves, on generated requests, that
they accept and refuse exactly what `training.contract.check_tables` does.

Features come from `model.client_features` (equal to `features_at`, proven
in `tests/model/test_client_features.py`) and are checked against the
decision-point contract before the model sees them; features and the answer's
services are built by `model.requests`, as the MLflow pyfunc builds them.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Engine

from api.auth import Caller
from api.capacity import Availability, availability, seats_json
from api.deps import require_model
from api.problems import FieldError, unavailable, validation_problem
from api.recommendations.schemas import RecommendationRequest
from api.serving import LoadedModel, ModelHolder
from api.settings import Settings
from api.storage.audit import AuditEvent, AuditWriter
from api.storage.control import ControlState
from model.json_values import json_value
from model.requests import answer_json, request_features
from model.router import Recommendation
from model.vocab import EPISODE_STATUSES, REVIEW

HELSINKI: Final = ZoneInfo("Europe/Helsinki")
MIN_AGE_AT_INTAKE: Final = 15
ENDED: Final = tuple(s for s in EPISODE_STATUSES if s != "ongoing")


def now() -> datetime:
    """The time now in Europe/Helsinki, whose days and months the service counts."""
    return datetime.now(HELSINKI)


def today() -> date:
    return now().date()


def check_as_of(as_of: date, today: date) -> list[FieldError]:
    """`as_of` may not be later than today: features of a future date count time not yet passed."""
    if as_of <= today:
        return []
    return [
        FieldError(
            "body",
            "as_of",
            f"as_of is later than today ({today.isoformat()}, Europe/Helsinki); "
            "a recommendation is made with what is known today",
            "after_today",
        )
    ]


@dataclass(frozen=True)
class Answer:
    body: dict[str, Any]
    features: dict[str, Any]


def check_request(
    request: RecommendationRequest, model: LoadedModel, as_of: date
) -> list[FieldError]:
    """Every rule of the data contract the request breaks, with field paths."""
    errors: list[FieldError] = []

    def fail(field: str, code: str, message: str) -> None:
        errors.append(FieldError("body", field, message, code))

    client = request.client
    if client.arrival_date > client.intake_date:
        fail(
            "client.arrival_date",
            "arrival_after_intake",
            "arrival_date is after intake_date; the first registered residence comes before "
            "the first contact with integration services",
        )
    if client.birth_year > client.intake_date.year - MIN_AGE_AT_INTAKE:
        fail(
            "client.birth_year",
            "out_of_range",
            f"birth_year must be at most the intake year minus {MIN_AGE_AT_INTAKE}",
        )
    if as_of < client.intake_date:
        fail("as_of", "before_intake", "as_of is before the client's intake_date")
    for name, value in client.extras.items():
        kind = model.extras.get(name)
        where = f"client.extras.{name}"
        if kind is None:
            declared = ", ".join(sorted(model.extras)) or "none"
            fail(
                where,
                "undeclared_extra",
                f"not an extra field of the served model (declared: {declared})",
            )
        elif value is None:
            continue
        elif kind == "numeric" and (isinstance(value, bool) or not isinstance(value, int | float)):
            fail(where, "wrong_type", "this extra field is a number")
        elif kind == "boolean" and not isinstance(value, bool):
            fail(where, "wrong_type", "this extra field is true or false")
        elif kind == "categorical" and not isinstance(value, str):
            fail(where, "wrong_type", "this extra field is a category (text)")

    for i, episode in enumerate(request.episodes):
        at = f"episodes.{i}"
        if episode.service != REVIEW and episode.service not in model.services:
            fail(
                f"{at}.service",
                "unknown_service",
                "not a service code of the served catalogue (GET /v1/services) or 'review'",
            )
        if episode.planned_service is not None and episode.planned_service not in model.actions:
            fail(
                f"{at}.planned_service", "unknown_service", "not an action of the served catalogue"
            )
        if episode.end_date is not None and episode.end_date < episode.start_date:
            fail(f"{at}.end_date", "end_before_start", "end_date is before start_date")
        if episode.status == "ongoing" and episode.end_date is not None:
            fail(
                f"{at}.end_date",
                "ongoing_with_end_date",
                "an ongoing episode has no end_date: leave it null, or give status completed or interrupted",
            )
        if episode.status in ENDED and episode.end_date is None:
            fail(
                f"{at}.end_date",
                "missing_end_date",
                "a completed or interrupted episode needs an end_date (it is null only while ongoing)",
            )
        if episode.start_date < client.intake_date:
            fail(
                f"{at}.start_date", "before_intake", "start_date is before the client's intake_date"
            )
        if episode.start_date > as_of:
            fail(
                f"{at}.start_date",
                "after_as_of",
                "start_date is after as_of; send the history up to as_of",
            )
    for i, spell in enumerate(request.outcomes):
        at = f"outcomes.{i}"
        if spell.end_date is not None and spell.end_date < spell.start_date:
            fail(f"{at}.end_date", "end_before_start", "end_date is before start_date")
        if spell.start_date > as_of:
            fail(
                f"{at}.start_date",
                "after_as_of",
                "start_date is after as_of; send the history up to as_of",
            )
    return errors


def features_of(request: RecommendationRequest, model: LoadedModel, as_of: date) -> dict[str, Any]:
    """The request's decision-point features, checked against the contract."""
    client = request.client
    profile = {name: getattr(client, name) for name in type(client).model_fields}
    return request_features(
        model.router,
        profile,
        [e.__dict__ for e in request.episodes],
        [o.__dict__ for o in request.outcomes],
        as_of,
        features=model.features,
    )


def input_hash(request: RecommendationRequest, as_of: date) -> str:
    document = request.model_dump(mode="json")
    document["as_of"] = as_of.isoformat()
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def answer_body(
    recommendation: Recommendation,
    *,
    request_id: str,
    model: LoadedModel,
    as_of: date,
    seats: Availability,
) -> dict[str, Any]:
    """The answer, each ranked service and each one not offered with its seats and wait now."""
    answer = answer_json(recommendation)
    by_code = seats.of_catalogue(model.router.catalogue)
    for entry in (*answer["recommendations"], answer["reference"], *answer["not_eligible"]):
        entry.update(seats_json(by_code[entry["service"]]))
    return {
        "request_id": request_id,
        "model": {"name": model.name, "version": model.version},
        "as_of": as_of.isoformat(),
        **answer,
    }


def recommend(
    request: RecommendationRequest,
    *,
    model: LoadedModel,
    as_of: date,
    request_id: str,
    caller: Caller,
    engine: Engine,
) -> dict[str, Any]:
    """Rank and explain, write the audit event, return the answer body.

    The answer exists only once its audit event is committed: if the write
    fails, the caller gets an error, never an unlogged recommendation. The
    seats are the month's counts this process keeps (`api.capacity`), not a
    query per request; the audit event keeps them as they were shown.
    """
    features = features_of(request, model, as_of)
    recommendation = model.router.recommend(
        features, k=request.k, language=request.language, explain=True
    )
    seats = availability(engine, now())
    body = answer_body(recommendation, request_id=request_id, model=model, as_of=as_of, seats=seats)
    event = AuditEvent(
        request_id=request_id,
        created_at=datetime.now(UTC),
        client_id=request.client.client_id,
        unit=caller.unit,
        role=caller.role.value,
        key_id=caller.key_id,
        model_name=model.name,
        model_version=model.version,
        model_run_id=model.served.run_id,
        as_of=as_of,
        language=request.language,
        k=request.k,
        input_hash=input_hash(request, as_of),
        features=_json_features(features),
        output={
            **{key: body[key] for key in ("recommendations", "reference", "not_eligible")},
            "actions": list(model.actions),
        },
    )
    audit_writer(engine).write(event)
    return body


_writers: weakref.WeakKeyDictionary[Engine, AuditWriter] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def audit_writer(engine: Engine) -> AuditWriter:
    """The engine's audit writer (one per engine, so concurrent requests commit together)."""
    with _writers_lock:
        writer = _writers.get(engine)
        if writer is None:
            writer = _writers[engine] = AuditWriter(engine)
        return writer


def close_audit_writer(engine: Engine) -> None:
    """At shutdown: let go of the writer's connection (and of the engine it holds)."""
    with _writers_lock:
        writer = _writers.pop(engine, None)
    if writer is not None:
        writer.close()


def _json_features(features: Mapping[str, Any]) -> dict[str, Any]:
    return {name: json_value(value) for name, value in features.items()}


def answer_checked(
    body: RecommendationRequest,
    *,
    caller: Caller,
    state: ControlState,
    holder: ModelHolder,
    settings: Settings,
    engine: Engine,
    request_id: str,
) -> dict[str, Any]:
    """The answer to a checked caller: 503 while paused or without a model, 422 for bad input.

    The console asks through here too, with the caller of its session.
    """
    if state.paused:
        why = f" ({state.reason})" if state.reason else ""
        raise unavailable(
            "paused",
            "Recommendations are paused",
            f"an administrator paused recommendations{why}; decisions can still be recorded",
            settings.retry_after_seconds,
        )
    model = require_model(holder, settings)
    if state.reload_generation > model.generation:
        holder.request_reload(state.reload_generation)
    day = today()
    as_of = body.as_of or day
    future = check_as_of(as_of, day)
    if future:
        raise validation_problem(future, detail=future[0].message)
    errors = check_request(body, model, as_of)
    if errors:
        raise validation_problem(errors)
    return recommend(
        body, model=model, as_of=as_of, request_id=request_id, caller=caller, engine=engine
    )
