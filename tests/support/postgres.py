"""The shared PostgreSQL test server: its URL, a schema of one's own on it, emptying it.

The server is the one at `POLKU_TEST_POSTGRES_URL` (.ci/run starts it). Without
it the PostgreSQL tests are skipped, except in CI (CI=true), where they fail.
Every schema made here is named after the pytest-xdist worker too, so that
processes running side by side never share one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from api.storage.tables import metadata

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("POLKU_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def require_server(url: str) -> None:
    """Skip the test (fail it in CI) when no PostgreSQL server answers at `url`."""
    probe = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError:
        where = make_url(url).render_as_string(hide_password=True)
        message = f"no PostgreSQL server answers at {where} (set POLKU_TEST_POSTGRES_URL)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    finally:
        probe.dispose()


@contextmanager
def own_schema(url: str, prefix: str) -> Iterator[str]:
    """A new schema on the server at `url`, dropped afterwards: the URL that uses it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"{prefix}_{worker}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def empty_tables(url: str) -> None:
    """Empty every table of the API in the schema `url` uses (sequences restarted)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            present = {
                row[0]
                for row in connection.execute(
                    text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = current_schema()"
                    )
                )
            }
            tables = [t.name for t in metadata.sorted_tables if t.name in present]
            if tables:
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
