"""Requests to the API as the tests send them: valid bodies, a recommendation, keys per role."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.auth import create_key
from api.recommendations.service import today


@dataclass(frozen=True)
class Keys:
    """Authorization headers of one key per role (two caseworker units), and the keys' ids."""

    caseworker: dict[str, str]
    other_unit: dict[str, str]
    planner: dict[str, str]
    evaluator: dict[str, str]
    data_scientist: dict[str, str]
    admin: dict[str, str]
    ids: dict[str, str]

    def by_role(self) -> dict[str, dict[str, str]]:
        return {
            "caseworker": self.caseworker,
            "planner": self.planner,
            "evaluator": self.evaluator,
            "data_scientist": self.data_scientist,
            "admin": self.admin,
        }


def request_body(**changes: Any) -> dict[str, Any]:
    """A valid recommendation request (a client after the plan, waiting for a service)."""
    body: dict[str, Any] = {
        "client": {
            "client_id": "C003-0000421",
            "intake_date": "2023-03-01",
            "arrival_date": "2023-01-15",
            "birth_year": 1994,
            "gender": "female",
            "mother_tongue": "ar",
            "citizenship_region": "middle_east",
            "residence_basis": "humanitarian",
            "education_level": "secondary",
            "prior_work_years": 2.5,
            "literacy_needs": False,
            "finnish_level": "A1",
        },
        "episodes": [
            {
                "service": "initial_assessment",
                "start_date": "2023-03-08",
                "end_date": "2023-03-31",
                "status": "completed",
            },
            {
                "service": "integration_plan",
                "start_date": "2023-04-03",
                "end_date": "2023-04-20",
                "status": "completed",
            },
            {
                "service": "review",
                "start_date": "2023-04-20",
                "end_date": "2023-04-20",
                "status": "completed",
            },
        ],
        "outcomes": [{"status": "unemployed", "start_date": "2023-03-01", "end_date": None}],
        "as_of": "2023-05-02",
        "k": 3,
        "language": "fi",
    }
    body.update(changes)
    return body


def recommend(http: TestClient, headers: dict[str, str], /, **changes: Any) -> dict[str, Any]:
    """POST a valid request with `changes`; the answer (asserting 200)."""
    response = http.post("/v1/recommendations", json=request_body(**changes), headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def month_from_now(offset: int = 0) -> str:
    """The month `offset` months after this one (Europe/Helsinki), YYYY-MM."""
    day = today()
    number = day.month - 1 + offset
    return f"{day.year + number // 12:04d}-{number % 12 + 1:02d}"


def plan_clients(n: int) -> list[dict[str, Any]]:
    """`n` valid clients for POST /v1/plans, ids P0000, P0001, ..., of varied profiles."""
    out = []
    for i in range(n):
        body = request_body()
        item = {
            key: copy.deepcopy(body[key])
            for key in ("client", "episodes", "outcomes")
            if key in body
        }
        item["client"]["client_id"] = f"P{i:04d}"
        item["client"]["finnish_level"] = ("A0", "A1", "A2", "B1")[i % 4]
        item["client"]["education_level"] = ("primary", "secondary", "bachelor")[i % 3]
        out.append(item)
    return out


def create_keys(engine: Engine) -> Keys:
    """One key per role, two caseworker units, created in the database of `engine`."""
    made = {
        "caseworker": create_key(engine, role="caseworker", unit="espoo-a"),
        "other_unit": create_key(engine, role="caseworker", unit="espoo-b"),
        "planner": create_key(engine, role="planner", unit="espoo-a"),
        "evaluator": create_key(engine, role="evaluator", unit="evaluation"),
        "data_scientist": create_key(engine, role="data_scientist", unit="analytics"),
        "admin": create_key(engine, role="admin", unit="hq"),
    }
    headers = {name: {"Authorization": f"Bearer {key.key}"} for name, key in made.items()}
    return Keys(**headers, ids={name: key.key_id for name, key in made.items()})
