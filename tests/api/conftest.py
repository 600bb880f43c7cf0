"""Fixtures of the API tests: the real app, a real model, real databases.

- `model_source`: where the app loads its model from (a small router trained
  once per session on a simulated world).
- `database_url`: a fresh SQLite file per test; tests marked with the
  `backend` parameter run on PostgreSQL too (`POLKU_TEST_POSTGRES_URL`, a
  schema of its own per session, emptied after every test).
- `client`: the app through FastAPI's TestClient, lifespan included.
- `keys`: one key per role (two caseworker units) and their headers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from api.auth import create_key
from api.main import create_app
from api.serving import FolderSource, ModelSource
from api.settings import Settings
from api.storage.tables import metadata

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --------------------------------------------------------------------------- the model


def train_tiny_router(folder: Path, *, n_clients: int = 1500, seed: int = 3) -> Path:
    """A small but real router: simulated world, decision points, S-learner, propensity."""
    from model.catalogue import load_catalogue
    from model.config import RunConfig
    from model.decision_points import build_decision_points
    from model.encoding import FeatureEncoder
    from model.golden import METADATA_KEY, expected_top_services
    from model.learners import PropensityModel, SLearner, TrainingData
    from model.router import Router
    from training.simulator import WorldParams, simulate

    catalogue = load_catalogue()
    config = RunConfig()
    history = simulate(WorldParams(n_clients=n_clients, seed=seed), catalogue)
    dp = build_decision_points(
        history.clients, history.episodes, history.outcomes, catalogue=catalogue, config=config
    )
    encoder = FeatureEncoder(features=dp.features, exclude=config.protected_attributes).fit(
        dp.frame
    )
    index = {a: i for i, a in enumerate(catalogue.actions)}
    labelled = dp.labelled()
    eligible = list(dp.eligibility_columns)
    learner = SLearner(
        n_actions=len(catalogue.actions),
        n_estimators=30,
        min_child_samples=20,
        categorical_features=encoder.categorical_indices,
    ).fit(
        TrainingData(
            encoder.transform(labelled),
            labelled["action"].map(index).to_numpy(),
            labelled["label"].to_numpy().astype(int),
            labelled[eligible].to_numpy(bool),
            labelled["client_id"].to_numpy(),
        )
    )
    known = dp.frame[dp.frame["action_known"].to_numpy(bool)]
    propensity = PropensityModel(
        n_actions=len(catalogue.actions),
        n_estimators=30,
        min_child_samples=20,
        categorical_features=encoder.categorical_indices,
    ).fit(
        encoder.transform(known),
        known["action"].map(index).to_numpy(),
        known[eligible].to_numpy(bool),
        known["client_id"].to_numpy(),
    )
    dates = dp.frame["decision_date"]
    router = Router(
        catalogue=catalogue,
        config=config,
        encoder=encoder,
        learner=learner,
        propensity=propensity,
        metadata={
            "learner": "s_learner",
            "training_window": {"start": str(dates.min().date()), "end": str(dates.max().date())},
        },
    )
    router.metadata[METADATA_KEY] = expected_top_services(router)
    assert np.isfinite(learner.predict(encoder.transform(labelled.head(5)))).all()
    router.save(folder)
    return folder


@pytest.fixture(scope="session")
def router_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_router(tmp_path_factory.mktemp("router"))


@pytest.fixture(scope="session")
def model_source(router_folder: Path) -> ModelSource:
    return FolderSource(router_folder, name="polku-router", version="1")


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A schema of its own on the test server, dropped at the end of the session."""
    url = os.environ.get("POLKU_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    admin = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError:
        admin.dispose()
        where = make_url(url).render_as_string(hide_password=True)
        message = f"no PostgreSQL server answers at {where} (set POLKU_TEST_POSTGRES_URL)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    schema = f"polku_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            present = {
                row[0]
                for row in connection.execute(
                    text(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                    )
                )
            }
            tables = [t.name for t in metadata.sorted_tables if t.name in present]
            if tables:
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend; modules parametrise it with `pytestmark` to add PostgreSQL."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{(tmp_path / 'polku.db').as_posix()}"
        return
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    try:
        yield url
    finally:
        _empty_postgres(url)


# --------------------------------------------------------------------------- the app


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        env="development",
        data_dir=tmp_path,
        database_url=database_url,
        model_retry_seconds=0,
        model_start_wait_seconds=60,
        mlflow_tracking_uri=f"sqlite:///{(tmp_path / 'mlruns' / 'mlflow.db').as_posix()}",
    )


@pytest.fixture
def app(settings: Settings, model_source: ModelSource) -> FastAPI:
    return create_app(settings, model_source=model_source)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class Keys:
    caseworker: dict[str, str]
    other_unit: dict[str, str]
    evaluator: dict[str, str]
    data_scientist: dict[str, str]
    admin: dict[str, str]
    ids: dict[str, str]

    def by_role(self) -> dict[str, dict[str, str]]:
        return {
            "caseworker": self.caseworker,
            "evaluator": self.evaluator,
            "data_scientist": self.data_scientist,
            "admin": self.admin,
        }


@pytest.fixture
def keys(client: TestClient, app: FastAPI) -> Keys:
    engine = app.state.engine
    made = {
        "caseworker": create_key(engine, role="caseworker", unit="espoo-a"),
        "other_unit": create_key(engine, role="caseworker", unit="espoo-b"),
        "evaluator": create_key(engine, role="evaluator", unit="evaluation"),
        "data_scientist": create_key(engine, role="data_scientist", unit="analytics"),
        "admin": create_key(engine, role="admin", unit="hq"),
    }
    headers = {name: {"Authorization": f"Bearer {key.key}"} for name, key in made.items()}
    return Keys(**headers, ids={name: key.key_id for name, key in made.items()})


# --------------------------------------------------------------------------- requests


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
