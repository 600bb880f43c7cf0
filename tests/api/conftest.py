"""Fixtures of the API tests: the real app, a real model, real databases.

- The model: the session's champion (`trained_model` in tests/conftest.py,
  trained by the real pipeline into a temporary MLflow store); tests that
  move aliases use `reload_versions`, a second registered model.
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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from api.auth import create_key
from api.main import create_app
from api.settings import Settings
from api.storage.tables import metadata
from tests.conftest import MlflowStore, TrainedModel

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --------------------------------------------------------------------------- the models

# A second registered model for the tests that move aliases (the session's
# champion, tests/conftest.py, stays where it is).
RELOAD_MODEL = "polku-router-api-test"


@dataclass(frozen=True)
class ReloadVersions:
    """Versions of `RELOAD_MODEL`: good (no fairness report), failing its golden cases, unloadable."""

    name: str
    good: str
    golden_fails: str
    broken: str

    def point(self, alias: str, version: str) -> None:
        from training.registry.versions import promote

        promote(version, alias=alias, name=self.name)


@pytest.fixture(scope="session")
def reload_versions(trained_model: TrainedModel, mlflow_store: MlflowStore) -> ReloadVersions:
    import copy

    from mlflow import MlflowClient

    from model.golden import GOLDEN_CASES, METADATA_KEY
    from model.router import Router
    from training.registry.runs import log_training

    result = trained_model.result

    def fresh(**changes: Any) -> Any:
        # log_training writes into the result's figures and card; never into the session's
        changes.setdefault("test", copy.deepcopy(result.test))
        changes.setdefault("model_card", copy.deepcopy(result.model_card))
        changes.setdefault("fairness_report", None)
        return replace(result, **changes)

    good = log_training(fresh(), name=RELOAD_MODEL).version
    wrong = Router.from_dict(copy.deepcopy(result.router.to_dict()))
    wrong.metadata[METADATA_KEY] = {case.name: "pay_subsidy" for case in GOLDEN_CASES}
    golden_fails = log_training(fresh(router=wrong), name=RELOAD_MODEL).version
    broken = log_training(fresh(), name=RELOAD_MODEL).version
    client = MlflowClient(tracking_uri=mlflow_store.uri)
    model_id = str(client.get_model_version(RELOAD_MODEL, broken).source).removeprefix("models:/")
    location = Path(client.get_logged_model(model_id).artifact_location.removeprefix("file://"))
    removed = list(location.rglob("router.json"))
    assert removed, "the version has no router to remove"
    for path in removed:
        path.unlink()
    return ReloadVersions(RELOAD_MODEL, good=good, golden_fails=golden_fails, broken=broken)


@pytest.fixture(autouse=True)
def _mlflow_store_restored(mlflow_store: MlflowStore) -> Iterator[None]:
    """Point MLflow back at the session's store after a test that loaded from another one.

    `mlflow.set_tracking_uri` (called by `training.registry` for every load)
    also rewrites the process's MLFLOW_TRACKING_URI, so a test that serves
    from an unreachable or empty store would leave every later test that
    relies on the variable (`ReloadVersions.point`, ...) talking to it.
    """
    yield
    if os.environ.get("MLFLOW_TRACKING_URI") != mlflow_store.uri:
        from training.registry.store import configure

        configure(mlflow_store.uri)


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
def settings(tmp_path: Path, database_url: str, trained_model: TrainedModel) -> Settings:
    """The session's champion from the session's MLflow store, a fresh database."""
    return Settings(
        env="development",
        data_dir=tmp_path,
        database_url=database_url,
        model_name=trained_model.name,
        model_alias="champion",
        model_retry_seconds=0,
        model_start_wait_seconds=60,
        mlflow_tracking_uri=trained_model.tracking_uri,
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


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
