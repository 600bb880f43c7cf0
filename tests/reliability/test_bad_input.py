"""Bad input to the two writing operations: a clear 4xx problem naming the field, nothing stored.

tests/api/test_errors.py has the first of each kind (malformed JSON, wrong
content type, 413, unknown fields, values not echoed); this module runs the
whole list as one table per operation, and checks after every case that
neither the audit log nor the decisions table grew, and that the value sent
is not echoed back. The module's tests share one app and database: each
compares the tables with what they held before it, and a decision that is
stored has an idempotency key of its own.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.storage.tables import audit_events, decisions
from model.privacy import check_character
from tests.support.api_requests import Keys, recommend, request_body

PROBLEM: Final = "application/problem+json"
LEAKS: Final = ("Traceback", 'File "', "sqlalchemy", "SELECT ", "/work/", "site-packages", " at 0x")
IDENTITY_CODE: Final = "131052-308" + check_character("131052308")  # the textbook example

pytestmark = pytest.mark.one_app_per_module


def _stored(app: FastAPI) -> tuple[int, int]:
    with app.state.engine.connect() as connection:
        return (
            connection.execute(select(func.count()).select_from(audit_events)).scalar_one(),
            connection.execute(select(func.count()).select_from(decisions)).scalar_one(),
        )


def _assert_problem(response: Any, status: int, field: str | None, echo: str | None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["request_id"] == response.headers["x-request-id"]
    assert body["title"] and body["detail"]
    for leak in LEAKS:
        assert leak not in response.text, leak
    if field is not None:
        fields = [e["field"] for e in body["errors"]]
        assert field in fields, fields
        assert all(e["message"] and e["code"] for e in body["errors"])
    if echo is not None:
        assert echo not in response.text


@dataclass(frozen=True)
class Case:
    name: str
    status: int
    field: str | None  # the field the problem must name (None: a whole-body problem)
    body: Callable[[dict[str, Any]], Any] | None = None  # change a valid body in place
    raw: bytes | None = None  # or send these bytes instead
    content_type: str = "application/json"
    echo: str | None = None  # a value that must not come back


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], Any]:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[last]

    return change


RECOMMENDATION_CASES: Final = [
    # the body as a whole
    Case("truncated JSON", 400, None, raw=b'{"client": {"client_id": "C1"'),
    Case("trailing comma", 400, None, raw=b'{"k": 3,}'),
    Case("empty body", 422, "", raw=b""),  # no body at all: the body itself is missing
    Case("not UTF-8", 400, None, raw=b'{"k": "\xff\xfe"}'),
    Case("a JSON array", 422, None, raw=b"[]"),
    Case("JSON null", 422, None, raw=b"null"),
    Case("NaN literal", 422, "k", raw=None, body=lambda b: b.__setitem__("k", float("nan"))),
    Case("text/plain", 415, None, content_type="text/plain"),
    Case("form encoded", 415, None, content_type="application/x-www-form-urlencoded"),
    Case("XML", 415, None, content_type="application/xml"),
    # unknown fields
    Case("unknown top-level field", 422, "unit", _set("unit", "espoo-b")),
    Case("unknown client field", 422, "client.ssn", _set("client.ssn", "x")),
    Case("unknown episode field", 422, "episodes.0.cost", _set("episodes.0.cost", 3)),
    Case("server-owned model version", 422, "model_version", _set("model_version", "9")),
    # wrong types (never coerced)
    Case("k as text", 422, "k", _set("k", "3")),
    Case("k as a fraction", 422, "k", _set("k", 2.5)),
    Case("k as true", 422, "k", _set("k", True)),
    Case("birth year as text", 422, "client.birth_year", _set("client.birth_year", "1994")),
    Case("literacy needs as 1", 422, "client.literacy_needs", _set("client.literacy_needs", 1)),
    Case("episodes as an object", 422, "episodes", _set("episodes", {"0": {}})),
    Case("client as null", 422, "client", _set("client", None)),
    Case("client missing", 422, "client", _drop("client")),
    Case("date as a number", 422, "as_of", _set("as_of", 20230502)),
    Case("date in Finnish style", 422, "as_of", _set("as_of", "2.5.2023")),
    Case("not a calendar date", 422, "as_of", _set("as_of", "2023-02-30")),
    Case("year 0001", 422, "as_of", _set("as_of", "0001-01-01")),
    Case("extras value a list", 422, "client.extras.x", _set("client.extras", {"x": []})),
    # vocabulary
    Case("unknown service", 422, "episodes.0.service", _set("episodes.0.service", "teleport")),
    Case("unknown language", 422, "language", _set("language", "de")),
    Case("language upper case", 422, "language", _set("language", "FI")),
    Case("unknown gender", 422, "client.gender", _set("client.gender", "robot")),
    Case("unknown CEFR level", 422, "client.finnish_level", _set("client.finnish_level", "D1")),
    # business rules the schema cannot state
    Case(
        "end before start",
        422,
        "episodes.0.end_date",
        _set("episodes.0.end_date", "2023-03-01"),
    ),
    Case("as_of before intake", 422, "as_of", _set("as_of", "2023-02-01")),
    Case(
        "arrival after intake",
        422,
        "client.arrival_date",
        _set("client.arrival_date", "2023-04-01"),
    ),
    Case(
        "episode before intake",
        422,
        "episodes.0.start_date",
        _set("episodes.0.start_date", "2023-02-01"),
    ),
    Case(
        "episode after as_of",
        422,
        "episodes.2.start_date",
        _set("episodes.2.start_date", "2023-06-01"),
    ),
    Case("k of 0", 422, "k", _set("k", 0)),
    Case("k of -1", 422, "k", _set("k", -1)),
    Case("k of 10^6", 422, "k", _set("k", 10**6)),
    Case("k of 2^64", 422, "k", _set("k", 2**64)),
    # privacy and hostile text
    Case(
        "client id is an identity code",
        422,
        "client.client_id",
        _set("client.client_id", IDENTITY_CODE),
        echo=IDENTITY_CODE,
    ),
    Case(
        "client id holds an identity code",
        422,
        "client.client_id",
        _set("client.client_id", f"asiakas {IDENTITY_CODE.lower()}"),
        echo=IDENTITY_CODE.lower(),
    ),
    Case("client id empty", 422, "client.client_id", _set("client.client_id", "")),
    Case("client id with NUL", 422, "client.client_id", _set("client.client_id", "C1\x00")),
    Case("client id with escape", 422, "client.client_id", _set("client.client_id", "C1\x1b[2J")),
    Case("client id too long", 422, "client.client_id", _set("client.client_id", "C" * 101)),
]


@pytest.mark.parametrize("case", RECOMMENDATION_CASES, ids=lambda c: c.name)
def test_bad_recommendation_requests(
    client: TestClient, keys: Keys, app: FastAPI, case: Case
) -> None:
    before = _stored(app)
    if case.raw is not None:
        content = case.raw
    else:
        body = request_body()
        if case.body is not None:
            case.body(body)
        content = json.dumps(body).encode()  # allow_nan: json.dumps writes NaN as NaN
    response = client.post(
        "/v1/recommendations",
        content=content,
        headers={**keys.caseworker, "Content-Type": case.content_type},
    )
    _assert_problem(response, case.status, case.field, case.echo)
    assert _stored(app) == before


def test_whole_floats_are_integers_as_json_schema_says(client: TestClient, keys: Keys) -> None:
    """The OpenAPI document says integer, and JSON Schema counts 3.0 as one."""
    body = request_body(k=3.0)
    body["client"]["birth_year"] = 1994.0
    response = client.post("/v1/recommendations", json=body, headers=keys.caseworker)
    assert response.status_code == 200, response.text
    assert len(response.json()["recommendations"]) == 3


# --------------------------------------------------------------------------- decisions


DECISION_CASES: Final = [
    Case("truncated JSON", 400, None, raw=b'{"request_id": '),
    Case("text/plain", 415, None, content_type="text/plain"),
    Case("unknown field", 422, "decided_by", _set("decided_by", "someone")),
    Case("server-owned unit", 422, "unit", _set("unit", "espoo-b")),
    Case("server-owned time", 422, "created_at", _set("created_at", "2020-01-01T00:00:00Z")),
    Case("request id not a UUID", 422, "request_id", _set("request_id", "' OR 1=1 --")),
    Case(
        "unknown request id", 404, None, _set("request_id", "00000000-0000-4000-8000-000000000000")
    ),
    Case("chosen service unknown", 422, "chosen_service", _set("chosen_service", "teleport")),
    Case("chosen service as a list", 422, "chosen_service", _set("chosen_service", ["a"])),
    Case("reason code unknown", 422, "reason_code", _set("reason_code", "because")),
    Case("comment over 500", 422, "comment", _set("comment", "x" * 501)),
    Case("comment a number", 422, "comment", _set("comment", 42)),
    Case("comment with NUL", 422, "comment", _set("comment", "ok\x00")),
    Case("comment with escape", 422, "comment", _set("comment", "\x1b[31mred")),
    Case("comment with bell", 422, "comment", _set("comment", "ding\x07")),
    Case("comment with DEL", 422, "comment", _set("comment", "rub\x7fout")),
    Case(
        "comment with an identity code",
        422,
        "comment",
        _set("comment", f"asiakkaan hetu on {IDENTITY_CODE}"),
        echo=IDENTITY_CODE,
    ),
    Case("corrects not a UUID", 422, "corrects", _set("corrects", "1; DROP TABLE decisions")),
    Case(
        "corrects unknown",
        422,
        "corrects",
        _set("corrects", "00000000-0000-4000-8000-000000000000"),
    ),
]


@pytest.fixture
def recommendation(client: TestClient, keys: Keys) -> dict[str, Any]:
    return recommend(client, keys.caseworker)


def _decision(answer: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "request_id": answer["request_id"],
        "chosen_service": answer["recommendations"][0]["service"],
    }
    body.update(changes)
    return body


@pytest.mark.parametrize("case", DECISION_CASES, ids=lambda c: c.name)
def test_bad_decisions(
    client: TestClient, keys: Keys, app: FastAPI, recommendation: dict[str, Any], case: Case
) -> None:
    before = _stored(app)
    if case.raw is not None:
        content = case.raw
    else:
        body = copy.deepcopy(_decision(recommendation))
        if case.body is not None:
            case.body(body)
        content = json.dumps(body).encode()
    response = client.post(
        "/v1/decisions",
        content=content,
        headers={
            **keys.caseworker,
            "Content-Type": case.content_type,
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    _assert_problem(response, case.status, case.field, case.echo)
    assert _stored(app) == before


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({}, "idempotency-key"),
        ({"Idempotency-Key": ""}, "idempotency-key"),
        ({"Idempotency-Key": "x" * 256}, "idempotency-key"),
        ({"Idempotency-Key": "a b"}, "idempotency-key"),
    ],
    ids=["missing", "empty", "too long", "space"],
)
def test_bad_idempotency_keys(
    client: TestClient,
    keys: Keys,
    app: FastAPI,
    recommendation: dict[str, Any],
    headers: dict[str, str],
    field: str,
) -> None:
    before = _stored(app)
    response = client.post(
        "/v1/decisions", json=_decision(recommendation), headers={**keys.caseworker, **headers}
    )
    _assert_problem(response, 422, field, None)
    assert response.json()["errors"][0]["location"] == "header"
    assert _stored(app) == before


def test_another_units_recommendation_is_not_found(
    client: TestClient, keys: Keys, app: FastAPI, recommendation: dict[str, Any]
) -> None:
    before = _stored(app)
    response = client.post(
        "/v1/decisions",
        json=_decision(recommendation),
        headers={**keys.other_unit, "Idempotency-Key": str(uuid.uuid4())},
    )
    _assert_problem(response, 404, None, recommendation["request_id"])
    assert _stored(app) == before


def test_a_reason_is_required_when_the_choice_differs_from_rank_1(
    client: TestClient, keys: Keys, app: FastAPI, recommendation: dict[str, Any]
) -> None:
    before = _stored(app)
    other = recommendation["recommendations"][1]["service"]
    response = client.post(
        "/v1/decisions",
        json=_decision(recommendation, chosen_service=other),
        headers={**keys.caseworker, "Idempotency-Key": str(uuid.uuid4())},
    )
    _assert_problem(response, 422, "reason_code", None)
    assert _stored(app) == before


HOSTILE_BUT_VALID: Final = [
    "'; DROP TABLE decisions; --",
    "1' OR '1'='1",
    "<script>alert(document.cookie)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}} ${7*7} %s %n",
    "Äiti ja lapset odottavat, 😀 مرحبا שלום 你好",
    "rivi yksi\nrivi kaksi\tsarkain",
    "x" * 500,
]


@pytest.mark.parametrize("comment", HOSTILE_BUT_VALID, ids=range(len(HOSTILE_BUT_VALID)))
def test_injection_strings_in_comments_are_stored_as_text(
    client: TestClient, keys: Keys, app: FastAPI, recommendation: dict[str, Any], comment: str
) -> None:
    """Text a caseworker may type: stored verbatim as data, never run, answered as JSON."""
    audit_before, decisions_before = _stored(app)
    made = client.post(
        "/v1/decisions",
        json=_decision(recommendation, comment=comment),
        headers={**keys.caseworker, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert made.status_code == 201, made.text
    assert made.headers["content-type"] == "application/json"
    read = client.get(f"/v1/decisions/{made.json()['decision_id']}", headers=keys.caseworker)
    assert read.json()["comment"] == comment
    assert _stored(app) == (audit_before, decisions_before + 1)  # the tables are all still there


def test_an_identity_code_is_refused_with_a_message_that_says_why(
    client: TestClient, keys: Keys, app: FastAPI
) -> None:
    before = _stored(app)
    body = request_body()
    body["client"]["client_id"] = IDENTITY_CODE
    response = client.post("/v1/recommendations", json=body, headers=keys.caseworker)
    _assert_problem(response, 422, "client.client_id", IDENTITY_CODE)
    (error,) = response.json()["errors"]
    assert "personal identity code" in error["message"]
    assert "pseudonym" in error["message"]  # and what to send instead
    assert _stored(app) == before
