"""Realistic recommendation requests for the serving benchmarks, from a simulated world.

Clients of the world at a decision date chosen so that 0 to 15 of their
episodes came before it, k=3, explanations in Finnish; and the same clients
as `mlflow models serve` rows of their decision-point features.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import store_env

MODEL_NAME = "polku-router"
MAX_EPISODES = 15


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _none(value: str) -> str | None:
    return value if value != "" else None


def _bool(value: str) -> bool | None:
    return None if value == "" else value.lower() in ("true", "1", "yes")


def build_requests(world: Path, n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """`n` request bodies from the world's clients, each with 0..15 prior episodes."""
    rng = random.Random(seed)
    clients = _read(world / "clients.csv")
    episodes: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _read(world / "episodes.csv"):
        episodes[row["client_id"]].append(row)
    outcomes: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _read(world / "outcomes.csv"):
        outcomes[row["client_id"]].append(row)
    bodies = []
    for client in rng.sample(clients, min(n, len(clients))):
        cid = client["client_id"]
        history = sorted(episodes[cid], key=lambda e: e["start_date"])
        starts = sorted({e["start_date"] for e in history})
        want = rng.randint(0, MAX_EPISODES)
        intake = date.fromisoformat(client["intake_date"])
        if want < len(starts):
            as_of = max(date.fromisoformat(starts[want]), intake)
        else:
            last = date.fromisoformat(starts[-1]) if starts else intake
            as_of = last + timedelta(days=30)
        day = as_of.isoformat()
        body_episodes = []
        for e in history:
            if e["start_date"] >= day:
                continue
            ended = e["end_date"] != "" and e["end_date"] < day
            item: dict[str, Any] = {
                "service": e["service"],
                "start_date": e["start_date"],
                "end_date": e["end_date"] if ended else None,
                "status": e["status"] if ended else "ongoing",
            }
            if ended and e.get("language_level_after"):
                item["language_level_after"] = e["language_level_after"]
            if e.get("planned_service"):
                item["planned_service"] = e["planned_service"]
            body_episodes.append(item)
        body_outcomes = [
            {
                "status": o["status"],
                "start_date": o["start_date"],
                "end_date": o["end_date"] if o["end_date"] and o["end_date"] < day else None,
            }
            for o in outcomes[cid]
            if o["start_date"] < day
        ]
        profile: dict[str, Any] = {
            "client_id": cid,
            "intake_date": client["intake_date"],
            "arrival_date": client["arrival_date"],
            "birth_year": int(client["birth_year"]),
            "gender": client["gender"],
            "mother_tongue": client["mother_tongue"],
            "citizenship_region": client["citizenship_region"],
            "residence_basis": client["residence_basis"],
            "education_level": client["education_level"],
            "prior_work_years": float(client["prior_work_years"])
            if client["prior_work_years"]
            else None,
            "literacy_needs": _bool(client["literacy_needs"]),
            "finnish_level": client["finnish_level"],
            "health_limitation": _bool(client.get("health_limitation", "")),
            "children_under_school_age": int(client["children_under_school_age"])
            if client.get("children_under_school_age")
            else None,
        }
        bodies.append(
            {
                "client": profile,
                "episodes": body_episodes,
                "outcomes": body_outcomes,
                "as_of": day,
                "k": 3,
                "language": "fi",
            }
        )
    return bodies


def mlflow_rows(bodies: list[dict[str, Any]], store: Path, version: str) -> list[bytes]:
    """The same clients as `dataframe_split` bodies of their decision-point features."""
    from model.client_features import client_features
    from model.json_values import json_value
    from training.registry.served import load_served

    router = load_served(
        MODEL_NAME, version=version, tracking_uri=store_env(store)["MLFLOW_TRACKING_URI"]
    ).router
    services = router.catalogue.service_codes
    extras = dict(router.config.extra_features)
    out = []
    for body in bodies:
        client = {
            **body["client"],
            "intake_date": date.fromisoformat(body["client"]["intake_date"]),
            "arrival_date": date.fromisoformat(body["client"]["arrival_date"]),
        }

        def dated(record: dict[str, Any]) -> dict[str, Any]:
            return {
                **record,
                "start_date": date.fromisoformat(record["start_date"]),
                "end_date": date.fromisoformat(record["end_date"])
                if record.get("end_date")
                else None,
            }

        features = client_features(
            client,
            [dated(e) for e in body["episodes"]],
            [dated(o) for o in body["outcomes"]],
            date.fromisoformat(body["as_of"]),
            services=services,
            extras=extras,
        )
        columns = list(features)
        row = [json_value(v) for v in features.values()]
        out.append(json.dumps({"dataframe_split": {"columns": columns, "data": [row]}}).encode())
    return out
