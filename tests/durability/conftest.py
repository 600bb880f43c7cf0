"""Fixtures of the durability tests: real `polku serve` processes on real databases.

- `server_factory`: `server_factory(database_url, workers=1, wait="ready")`
  starts `polku serve` with the session's registered model
  (tests/support/servers.py); every process still running at the end of the
  test is killed, whatever happened.
- `backend` / `database_url`: a fresh SQLite file per test, or (marked
  `postgres`) a fresh schema per test on the server at
  `POLKU_TEST_POSTGRES_URL` (the same server the API tests use).
- `throwaway_postgres`: a PostgreSQL cluster of its own that a test may stop
  and start (tests/support/postgres_cluster.py).
- `prepared`: the database migrated and with caseworker keys, as an operator
  would with `polku db upgrade` and `polku keys create`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres_cluster import Cluster, throwaway_cluster
from tests.support.prepared_database import Prepared, fresh_database, prepare
from tests.support.servers import Servers
from tests.support.trained_model import TrainedModel


@pytest.fixture
def server_factory(trained_model: TrainedModel, tmp_path: Path) -> Iterator[Servers]:
    """`server_factory(database_url, workers=1, wait="ready")`: a `ServerProcess`, killed at the end."""
    servers = Servers(trained_model, tmp_path)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def prepared(database_url: str) -> Iterator[Prepared]:
    ready = prepare(database_url)
    try:
        yield ready
    finally:
        ready.engine.dispose()


@pytest.fixture
def throwaway_postgres() -> Iterator[Cluster]:
    with throwaway_cluster() as cluster:
        yield cluster
