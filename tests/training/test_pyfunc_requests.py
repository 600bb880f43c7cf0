"""The pyfunc answers recommendation requests as the API does (docs/mlflow.md, "The model").

Requests are built from the session's tiny world (its clients' histories up to
a drawn decision date), sent to the real app and to the registered champion
loaded through `mlflow.pyfunc`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow.exceptions import MlflowException

from tests.support.api_requests import Keys, request_body
from tests.support.trained_model import TrainedModel
from tests.support.world_requests import assert_close, world_requests

N_REQUESTS = 220


@pytest.fixture(scope="module")
def pyfunc(trained_model: TrainedModel) -> Any:
    return mlflow.pyfunc.load_model(trained_model.champion_uri)


# Seats and waits are the service's state this month, which the API adds; the model has none.
API_ONLY: Final = ("seats_left_this_month", "expected_wait_days_now")


def _model_part(value: Any) -> Any:
    """The API's answer without what only a running service knows."""
    if isinstance(value, dict):
        return {k: _model_part(v) for k, v in value.items() if k not in API_ONLY}
    if isinstance(value, list):
        return [_model_part(v) for v in value]
    return value


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
            assert_close(_model_part(api[key]), ours[key], f"request {i}.{key}")
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
    unknown = {**good, "episodes": [{**good["episodes"][0], "service": "space_school"}]}
    with pytest.raises(MlflowException, match=r"episodes\.0\.service: not a service code"):
        pyfunc.predict(pd.DataFrame([unknown]))
    extra = {**good, "client": {**good["client"], "extras": {"shoe_size": 42}}}
    with pytest.raises(MlflowException, match=r"client\.extras\.shoe_size: not an extra field"):
        pyfunc.predict(pd.DataFrame([extra]))


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
