"""Recommendation requests built from a simulated world: its clients' records up to a drawn date.

Valid for the API (the world meets the data contract; no record starts after
`as_of`, and `as_of` is not after today), with `k` and `language` varied.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TOLERANCE = 1e-9


def _value(raw: str) -> Any:
    return None if raw == "" else raw


def _record(row: dict[str, str]) -> dict[str, Any]:
    record = {k: _value(v) for k, v in row.items()}
    if record.get("matches_education") is not None:
        record["matches_education"] = record["matches_education"] == "true"
    return record


def _client_json(row: dict[str, str]) -> dict[str, Any]:
    client: dict[str, Any] = {k: _value(v) for k, v in row.items()}
    client["birth_year"] = int(row["birth_year"])
    for name in ("prior_work_years",):
        client[name] = None if row[name] == "" else float(row[name])
    for name in ("literacy_needs", "health_limitation"):
        client[name] = None if row[name] == "" else row[name] == "true"
    if row.get("children_under_school_age", "") != "":
        client["children_under_school_age"] = int(row["children_under_school_age"])
    return client


def world_requests(folder: Path, n: int, seed: int = 11) -> list[dict[str, Any]]:
    """`n` valid requests: clients of the world with their records up to a drawn date."""
    read = {"dtype": str, "keep_default_na": False}
    clients = pd.read_csv(folder / "clients.csv", **read)
    episodes = pd.read_csv(folder / "episodes.csv", **read).groupby("client_id")
    outcomes = pd.read_csv(folder / "outcomes.csv", **read).groupby("client_id")
    rng = np.random.default_rng(seed)
    today = pd.Timestamp.now().normalize()
    languages = ("fi", "sv", "en")
    requests = []
    for i, row in enumerate(clients.sample(n=n, random_state=seed).to_dict(orient="records")):
        intake = pd.Timestamp(row["intake_date"])
        as_of = min(intake + pd.Timedelta(days=int(rng.integers(0, 1100))), today)

        def records(
            groups: Any, client_id: str = row["client_id"], until: pd.Timestamp = as_of
        ) -> list[dict[str, Any]]:
            if client_id not in groups.groups:
                return []
            frame = groups.get_group(client_id).drop(columns="client_id")
            frame = frame[pd.to_datetime(frame["start_date"]) <= until]
            return [_record(r) for r in frame.to_dict(orient="records")]

        requests.append(
            {
                "client": _client_json(row),
                "episodes": records(episodes),
                "outcomes": records(outcomes),
                "as_of": f"{as_of:%Y-%m-%d}",
                "k": int(rng.integers(1, 8)),
                "language": languages[i % 3],
            }
        )
    return requests


def assert_close(a: Any, b: Any, where: str) -> None:
    """`a` and `b` are the same JSON values, numbers within `TOLERANCE`."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{where}.{i}")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert isinstance(b, int | float), where
        assert math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
