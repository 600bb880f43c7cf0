"""Decisions: idempotent, append-only, on a recommendation of the caller's unit.

One write transaction (``BEGIN IMMEDIATE`` on SQLite) looks the
idempotency key up and appends the row, so a key is stored once: the same
key with the same body replays the first answer, with another body it is
refused. On PostgreSQL two concurrent first uses of one key race to the
unique index; the loser's transaction fails and is retried once, and then
finds the winner's row. A 201 is answered only after the commit, which is
durable (``synchronous=FULL``, ``synchronous_commit=on``).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from api.auth import Caller, Role
from api.capacity import forget_starts
from api.decisions.schemas import DecisionRequest
from api.problems import FieldError, Problem, validation_problem
from api.storage.audit import get_audit_event
from api.storage.decisions import (
    DecisionRow,
    count_decisions,
    find_by_idempotency_key,
    get_decision,
    insert_decision,
)
from api.storage.engine import write_transaction

NOT_FOUND = "no recommendation with this request_id in your unit"


def body_hash(body: DecisionRequest) -> str:
    return hashlib.sha256(
        orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def decision_out(row: DecisionRow) -> dict[str, Any]:
    return {
        "decision_id": row.decision_id,
        "request_id": row.request_id,
        "chosen_service": row.chosen_service,
        "recommended_service": row.recommended_service,
        "follows_recommendation": row.chosen_service == row.recommended_service,
        "chosen_rank": row.chosen_rank,
        "reason_code": row.reason_code,
        "comment": row.comment,
        "corrects": row.corrects,
        "unit": row.unit,
        "created_at": row.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def record_decision(
    body: DecisionRequest,
    *,
    caller: Caller,
    idempotency_key: str,
    engine: Engine,
    max_decisions: int | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store the decision (or find its first copy); returns (answer, replayed).

    A recommendation takes at most `max_decisions` decisions (None: any
    number); past that the answer is 409, so one key cannot grow the
    append-only table without bound from a single recommendation.
    """
    digest = body_hash(body)
    for attempt in (1, 2):
        try:
            with write_transaction(engine) as connection:
                existing = find_by_idempotency_key(
                    connection, unit=caller.unit, idempotency_key=idempotency_key
                )
                if existing is not None:
                    if existing.body_hash != digest:
                        raise Problem(
                            422,
                            "idempotency-key-reused",
                            "Idempotency-Key reused for another body",
                            "this Idempotency-Key was used for a different decision; use a new key for a new decision",
                        )
                    return decision_out(existing), True
                row = _new_row(
                    connection, body, caller=caller, idempotency_key=idempotency_key, digest=digest
                )
                if max_decisions is not None and (
                    count_decisions(connection, request_id=body.request_id) >= max_decisions
                ):
                    raise Problem(
                        409,
                        "too-many-decisions",
                        "Too many decisions on this recommendation",
                        f"a recommendation takes at most {max_decisions} decisions "
                        "(corrections included); ask for a new recommendation",
                    )
                insert_decision(connection, decision=row)
            forget_starts(engine)  # the seats this process shows count it from now on
            return decision_out(row), False
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _new_row(
    connection: Any, body: DecisionRequest, *, caller: Caller, idempotency_key: str, digest: str
) -> DecisionRow:
    event = get_audit_event(connection, request_id=body.request_id)
    if event is None or event.unit != caller.unit:
        raise Problem(404, "not-found", "Not found", NOT_FOUND)
    output = event.output
    ranked = [r["service"] for r in output["recommendations"]]
    actions = set(
        output.get("actions")
        or [
            *ranked,
            output["reference"]["service"],
            *(n["service"] for n in output["not_eligible"]),
        ]
    )
    errors = []
    if body.chosen_service not in actions:
        errors.append(
            FieldError(
                "body",
                "chosen_service",
                "not an action of the model that answered this recommendation",
                "unknown_service",
            )
        )
    recommended = ranked[0]
    if body.chosen_service != recommended and body.reason_code is None:
        errors.append(
            FieldError(
                "body",
                "reason_code",
                f"required when chosen_service differs from rank 1 ({recommended})",
                "reason_required",
            )
        )
    if body.corrects is not None:
        earlier = get_decision(connection, decision_id=body.corrects)
        if earlier is None or earlier.unit != caller.unit or earlier.request_id != body.request_id:
            errors.append(
                FieldError(
                    "body",
                    "corrects",
                    "no earlier decision with this id on this recommendation",
                    "unknown_decision",
                )
            )
    if errors:
        raise validation_problem(errors)
    return DecisionRow(
        decision_id=str(uuid.uuid4()),
        request_id=body.request_id,
        created_at=datetime.now(UTC),
        unit=caller.unit,
        role=caller.role.value,
        key_id=caller.key_id,
        idempotency_key=idempotency_key,
        body_hash=digest,
        chosen_service=body.chosen_service,
        recommended_service=recommended,
        chosen_rank=ranked.index(body.chosen_service) + 1
        if body.chosen_service in ranked
        else None,
        reason_code=body.reason_code,
        comment=body.comment,
        corrects=body.corrects,
    )


def visible_unit(caller: Caller) -> str | None:
    """The unit whose decisions the caller sees; None means every unit (admin)."""
    return None if caller.role == Role.admin else caller.unit
