"""Fixtures shared by the whole suite: the session's model, and the API's app and databases.

The session (one per pytest-xdist worker: each has its own temporary folders)
- `mlflow_store` (autouse): a real SQLite MLflow store in a temporary folder.
  `MLFLOW_TRACKING_URI` points at it for the whole session, so no test ever
  writes to the checkout's `mlruns/`; artifacts go to `<folder>/artifacts`.
  Child processes inherit the variable.
- `tiny_world_dir`: the built-in world with 1 500 clients (seed 3,
  `truth_replicates=2`) written as CSV with its `truth.csv` and `world.json`.
  Treat it as read-only.
- `tiny_config_file`: a run configuration (TOML) with small learners, one
  LightGBM thread.
- `trained_model`: the real `polku train` path
  (`training.registry.runs.train_and_register`) run once on `tiny_world_dir`
  with the tiny configuration, registered as `polku-router` and promoted to
  `champion`. Every test that needs a model shares this one. Don't move its
  aliases: register another model name when a test needs to (as
  `reload_versions` does, and tests/training/test_registry.py).

The API (tests/api, tests/reliability)
- `database_url`: a fresh SQLite file per test; modules that parametrise
  `backend` with PostgreSQL run there too (`POLKU_TEST_POSTGRES_URL`, a schema
  of its own per session, emptied after every test).
- `settings`, `app`, `client`: the real app serving the session's champion,
  through FastAPI's TestClient, lifespan included.
- `keys`: one key per role (two caseworker units) and their headers.
- A module marked `one_app_per_module` gets one app, SQLite database and
  model load for all its tests (`module_app`): its tests only add rows, with
  keys and ids of their own, and check what they stored by difference.

Markers and processes
- Tests that start real servers (`polku serve` or a PostgreSQL cluster of
  their own) get the `server` marker from the fixtures they use, so that
  `make test-fast` can leave them out with the `slow`, `postgres` and
  `browser` ones.
- Under pytest-xdist (`--dist loadscope`, as `make test` runs it) the tests
  of one module run in one process, except where tests/support/scheduling.py
  splits a module whose tests start servers of their own. The groups with
  server tests go first, then the slow ones, so that the longest run side by
  side while the short ones fill the gaps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.trained_model import (
    TINY_CONFIG,
    TINY_WORLD_CLIENTS,
    TINY_WORLD_SEED,
    MlflowStore,
    TrainedModel,
)

# The API, MLflow and the learners are imported where a fixture needs them: the
# pytest-xdist controller loads this file too, and runs no test.
if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from api.settings import Settings
    from tests.support.api_requests import Keys
    from tests.support.reload_versions import ReloadVersions


# --------------------------------------------------------------------------- markers and processes

# Fixtures that start `polku serve` or a PostgreSQL cluster of their own.
SERVER_FIXTURES = frozenset({"server_factory", "throwaway_postgres", "served", "two_worker_server"})


def _start_order(item: pytest.Item) -> int:
    if item.get_closest_marker("server"):
        return 0
    return 1 if item.get_closest_marker("slow") else 2


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tests.support.scheduling import process_group

    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        groups.setdefault(process_group(item.nodeid), []).append(item)
    ordered = sorted(groups.values(), key=lambda members: min(map(_start_order, members)))
    items[:] = [item for members in ordered for item in members]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`--dist loadscope` splits the modules that tests/support/scheduling.py names."""
    if config.getvalue("dist") != "loadscope":
        return None
    from tests.support.scheduling import module_scheduling

    return module_scheduling(config, log)


# --------------------------------------------------------------------------- the model


@pytest.fixture(scope="session", autouse=True)
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowStore]:
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{(folder / 'mlflow.db').as_posix()}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        yield MlflowStore(uri=uri, folder=folder)


@pytest.fixture(scope="session")
def tiny_world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.simulator import WorldParams, write_world

    folder = tmp_path_factory.mktemp("tiny-world")
    write_world(
        WorldParams(n_clients=TINY_WORLD_CLIENTS, seed=TINY_WORLD_SEED, truth_replicates=2), folder
    )
    return folder


@pytest.fixture(scope="session")
def tiny_config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.toml"
    path.write_text(TINY_CONFIG, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def trained_model(
    tiny_world_dir: Path, tiny_config_file: Path, mlflow_store: MlflowStore
) -> TrainedModel:
    from training.registry.runs import train_and_register
    from training.registry.store import CHAMPION
    from training.registry.versions import promote

    result, registered = train_and_register(tiny_world_dir, config_path=tiny_config_file)
    promote(registered.version, alias=CHAMPION, name=registered.name)
    return TrainedModel(
        name=registered.name,
        version=registered.version,
        run_id=registered.run_id,
        model_uri=registered.model_uri,
        tracking_uri=mlflow_store.uri,
        data_dir=tiny_world_dir,
        config_path=tiny_config_file,
        result=result,
    )


@pytest.fixture(scope="session")
def reload_versions(trained_model: TrainedModel, mlflow_store: MlflowStore) -> ReloadVersions:
    from tests.support.reload_versions import register_reload_versions

    return register_reload_versions(trained_model, mlflow_store)


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
    from tests.support import postgres

    url = postgres.server_url()
    postgres.require_server(url)
    with postgres.own_schema(url, "polku_test") as schema_url:
        yield schema_url


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend; modules parametrise it with `pytestmark` to add PostgreSQL."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{(tmp_path / 'polku.db').as_posix()}"
        return
    from tests.support import postgres

    url = request.getfixturevalue("postgres_url")
    postgres.empty_tables(url)
    try:
        yield url
    finally:
        postgres.empty_tables(url)


# --------------------------------------------------------------------------- the app


def _one_app_per_module(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("one_app_per_module") is not None


def _champion_settings(folder: Path, database_url: str, trained_model: TrainedModel) -> Settings:
    from api.settings import Settings

    return Settings(
        env="development",
        data_dir=folder,
        database_url=database_url,
        model_name=trained_model.name,
        model_alias="champion",
        model_retry_seconds=0,
        model_start_wait_seconds=60,
        mlflow_tracking_uri=trained_model.tracking_uri,
    )


@dataclass(frozen=True)
class RunningApp:
    settings: Settings
    app: FastAPI
    client: TestClient
    keys: Keys


@pytest.fixture(scope="module")
def module_app(
    trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApp]:
    """One app, SQLite database and model load for a module marked `one_app_per_module`."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.support.api_requests import create_keys

    folder = tmp_path_factory.mktemp("app")
    settings = _champion_settings(
        folder, f"sqlite:///{(folder / 'polku.db').as_posix()}", trained_model
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield RunningApp(settings, app, client, create_keys(app.state.engine))


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, trained_model: TrainedModel
) -> Settings:
    """The session's champion from the session's MLflow store, a fresh database.

    In a module marked `one_app_per_module`, the module's app's settings.
    """
    if _one_app_per_module(request):
        return request.getfixturevalue("module_app").settings
    return _champion_settings(tmp_path, database_url, trained_model)


@pytest.fixture
def app(request: pytest.FixtureRequest, settings: Settings) -> FastAPI:
    if _one_app_per_module(request):
        return request.getfixturevalue("module_app").app
    from api.main import create_app

    return create_app(settings)


@pytest.fixture
def client(request: pytest.FixtureRequest, app: FastAPI) -> Iterator[TestClient]:
    if _one_app_per_module(request):
        yield request.getfixturevalue("module_app").client
        return
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def keys(request: pytest.FixtureRequest, client: TestClient, app: FastAPI) -> Keys:
    if _one_app_per_module(request):
        return request.getfixturevalue("module_app").keys
    from tests.support.api_requests import create_keys

    return create_keys(app.state.engine)
