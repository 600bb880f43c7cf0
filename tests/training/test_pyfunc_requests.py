"""The pyfunc answers recommendation requests as the API does (docs/mlflow.md, "The model").

Requests are built from the session's tiny world (its clients' histories up to
a drawn decision date), sent to the real app and to the registered champion
loaded through `mlflow.pyfunc`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow.exceptions import MlflowException

from tests.support.api_requests import Keys, request_body
from tests.support.trained_model import TrainedModel

N_REQUESTS = 220
TOLERANCE = 1e-9


def _value(raw: str) -> Any:
    return None if raw == "" else raw


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
            return [{k: _value(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]

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


def _close(a: Any, b: Any, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            _close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}.{i}")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert isinstance(b, int | float), where
        assert math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def pyfunc(trained_model: TrainedModel) -> Any:
    return mlflow.pyfunc.load_model(trained_model.champion_uri)


def test_the_pyfunc_answers_generated_requests_as_the_api_does(
    client: TestClient, keys: Keys, pyfunc: Any, tiny_world_dir: Path
) -> None:
    requests = world_requests(tiny_world_dir, N_REQUESTS)
    api_answers = []
    for body in requests:
        response = client.post("/v1/recommendations", json=body, headers=keys.caseworker)
        assert response.status_code == 200, response.text
        api_answers.append(response.json())
    # half the rows as JSON text (as a CSV or a REST caller has them), half as parsed values
    rows = [
        {**body, **{k: json.dumps(body[k]) for k in ("client", "episodes", "outcomes")}}
        if i % 2
        else body
        for i, body in enumerate(requests)
    ]
    answers = pyfunc.predict(pd.DataFrame(rows))
    assert list(answers.columns) == ["as_of", "recommendations", "reference", "not_eligible"]
    assert len(answers) == len(requests)
    ranked = 0
    for i, (api, ours) in enumerate(
        zip(api_answers, answers.to_dict(orient="records"), strict=True)
    ):
        assert [s["service"] for s in ours["recommendations"]] == [
            s["service"] for s in api["recommendations"]
        ], f"request {i}"
        ranked += len(ours["recommendations"])
        for key in ("as_of", "recommendations", "reference", "not_eligible"):
            _close(api[key], ours[key], f"request {i}.{key}")
    assert ranked > N_REQUESTS  # more than one service per request on the whole


def test_a_bad_request_row_is_refused_naming_its_row_and_field(pyfunc: Any) -> None:
    good = request_body()
    bad_date = {**good, "client": {**good["client"], "intake_date": "2023-02-30"}}
    with pytest.raises(MlflowException, match=r"request row 1: client\.intake_date: not a date"):
        pyfunc.predict(pd.DataFrame([good, bad_date]))
    late = {**good, "episodes": [{**good["episodes"][0], "start_date": "2023-06-01"}]}
    with pytest.raises(
        MlflowException, match=r"request row 0: episodes\.0\.start_date: after as_of"
    ):
        pyfunc.predict(pd.DataFrame([late]))
    with pytest.raises(MlflowException, match=r"request row 0: client: not valid JSON"):
        pyfunc.predict(pd.DataFrame([{**good, "client": "{not json"}]))
    with pytest.raises(MlflowException, match=r"k: must be from 1 to 100"):
        pyfunc.predict(pd.DataFrame([{**good, "k": 0}]))


def test_features_without_a_client_column_are_scored_as_decision_points(
    pyfunc: Any, trained_model: TrainedModel
) -> None:
    dp = trained_model.result.dp
    features = dp.frame[list(dp.feature_names)].head(5).reset_index(drop=True)
    features = features.astype({f.name: object for f in dp.features if f.kind == "categorical"})
    scores = pyfunc.predict(features)
    assert len(scores) == 5 and set(scores["recommended"]) <= set(dp.actions)
    with pytest.raises(MlflowException, match=r"missing features: .*finnish_level"):
        pyfunc.predict(features.drop(columns=["finnish_level"]))
