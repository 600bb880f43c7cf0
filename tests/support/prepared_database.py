"""Databases for real servers: fresh ones, migrated and with keys as an operator would.

`fresh_database` gives a new SQLite file, or a new schema on the shared
PostgreSQL server (dropped after). `prepare` migrates it and creates
caseworker keys, as `polku db upgrade` and `polku keys create` would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from api.auth import create_key
from api.storage import migrate
from api.storage.engine import make_engine
from tests.support import postgres


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh SQLite file, or a fresh schema on the shared PostgreSQL server (dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{(folder / 'db' / 'polku.db').as_posix()}"
        return
    url = postgres.server_url()
    postgres.require_server(url)
    with postgres.own_schema(url, "polku_durability") as schema_url:
        yield schema_url


@dataclass(frozen=True)
class Prepared:
    """A migrated database with caseworker keys; `engine` is the test's own view of it."""

    url: str
    engine: Engine
    headers: list[dict[str, str]]  # one caseworker key per unit
    units: list[str]


def prepare(url: str, *, units: int = 5) -> Prepared:
    """Migrate `url` and create one caseworker key per unit, as an operator would."""
    engine = make_engine(url, pool_size=2)
    migrate.upgrade(engine)
    names = [f"durability-{i}" for i in range(units)]
    keys = [create_key(engine, role="caseworker", unit=name) for name in names]
    return Prepared(
        url=url,
        engine=engine,
        headers=[{"Authorization": f"Bearer {key.key}"} for key in keys],
        units=names,
    )
