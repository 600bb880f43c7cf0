"""Recommendation requests from plain JSON values (model/requests.py), as the pyfunc gets them."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import numpy as np
import pytest

from model.errors import DataContractError
from model.requests import parse_request

TODAY = date(2024, 6, 1)


def _row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "client": {
            "client_id": "C1",
            "intake_date": "2023-03-01",
            "arrival_date": "2023-01-15",
            "birth_year": 1994,
            "gender": "female",
            "mother_tongue": "ar",
            "citizenship_region": "middle_east",
            "residence_basis": "humanitarian",
            "education_level": "secondary",
            "literacy_needs": False,
            "finnish_level": "A1",
        },
        "episodes": [
            {
                "service": "initial_assessment",
                "start_date": "2023-03-08",
                "end_date": "2023-03-31",
                "status": "completed",
            }
        ],
        "outcomes": [{"status": "unemployed", "start_date": "2023-03-01", "end_date": None}],
        "as_of": "2023-05-02",
        "k": 3,
        "language": "en",
    }
    row.update(changes)
    return row


def test_json_text_and_parsed_values_give_the_same_request() -> None:
    parsed = parse_request(_row(), today=TODAY)
    text = parse_request(
        _row(**{k: json.dumps(_row()[k]) for k in ("client", "episodes", "outcomes")}), today=TODAY
    )
    assert parsed == text
    assert parsed.as_of == date(2023, 5, 2) and parsed.k == 3 and parsed.language == "en"
    assert parsed.client["intake_date"] == date(2023, 3, 1)
    assert parsed.episodes[0]["end_date"] == date(2023, 3, 31)
    assert parsed.outcomes[0]["end_date"] is None


def test_values_a_frame_lacks_take_their_defaults() -> None:
    # a frame holds a value some rows lack as NaN
    request = parse_request(
        _row(as_of=float("nan"), k=float("nan"), language=float("nan"), outcomes=float("nan")),
        today=TODAY,
    )
    assert (request.as_of, request.k, request.language, request.outcomes) == (TODAY, 3, "fi", [])
    assert parse_request(_row(k=np.int64(5)), today=TODAY).k == 5
    assert parse_request(_row(k=7.0), today=TODAY).k == 7


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"client": "{"}, r"^client: not valid JSON$"),
        ({"client": []}, r"^client: must be a JSON object$"),
        ({"episodes": {"a": 1}}, r"^episodes: must be a JSON array$"),
        ({"as_of": "2023-13-01"}, r"^as_of: not a date"),
        ({"as_of": "2024-06-02"}, r"^as_of: later than today \(2024-06-01\)$"),
        ({"as_of": "2023-02-01"}, r"^as_of: before the client's intake_date$"),
        ({"k": 0}, r"^k: must be from 1 to 100$"),
        ({"k": 2.5}, r"^k: not a whole number$"),
        ({"k": True}, r"^k: not a whole number$"),
        ({"language": "de"}, r"^language: must be one of fi, sv, en$"),
        (
            {"episodes": [{"service": "x", "start_date": "2023-06-01", "status": "ongoing"}]},
            r"^episodes\.0\.start_date: after as_of",
        ),
        (
            {"episodes": [{"service": "x", "start_date": "2023-02-01", "status": "ongoing"}]},
            r"^episodes\.0\.start_date: before the client's intake_date$",
        ),
        (
            {
                "outcomes": [
                    {"status": "employed", "start_date": "2023-04-01", "end_date": "2023-03-01"}
                ]
            },
            r"^outcomes\.0\.end_date: before start_date$",
        ),
        ({"outcomes": [{"start_date": "2023-04-01"}]}, r"^outcomes\.0\.status: missing$"),
        (
            {"outcomes": [{"status": "asleep", "start_date": "2023-04-01"}]},
            r"^outcomes\.0\.status: must be one of ",
        ),
        (
            {
                "episodes": [
                    {
                        "service": "x",
                        "start_date": "2023-04-01",
                        "end_date": "2023-04-02",
                        "status": "ongoing",
                    }
                ]
            },
            r"^episodes\.0\.end_date: an ongoing episode has no end_date$",
        ),
        (
            {"episodes": [{"service": "x", "start_date": "2023-04-01", "status": "completed"}]},
            r"^episodes\.0\.end_date: a completed or interrupted episode needs an end_date$",
        ),
    ],
)
def test_a_bad_request_names_its_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(DataContractError, match=message):
        parse_request(_row(**changes), today=TODAY)


def test_a_client_without_a_required_field_or_with_a_late_arrival_is_refused() -> None:
    coded = {**_row()["client"], "client_id": "131052-308T"}
    with pytest.raises(
        DataContractError, match=r"^client\.client_id: looks like a Finnish personal"
    ):
        parse_request(_row(client=coded), today=TODAY)
    young = {**_row()["client"], "birth_year": 2010}
    with pytest.raises(DataContractError, match=r"^client\.birth_year: must be at most"):
        parse_request(_row(client=young), today=TODAY)
    client = {k: v for k, v in _row()["client"].items() if k != "finnish_level"}
    with pytest.raises(DataContractError, match=r"^client\.finnish_level: missing$"):
        parse_request(_row(client=client), today=TODAY)
    late = {**_row()["client"], "arrival_date": "2023-04-01"}
    with pytest.raises(DataContractError, match=r"^client\.arrival_date: after intake_date$"):
        parse_request(_row(client=late), today=TODAY)
