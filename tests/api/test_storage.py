"""The database layer on SQLite and PostgreSQL: durability settings, migrations, append-only."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from api.auth import create_key, keys
from api.settings import Settings
from api.storage import migrate
from api.storage.control import control_state, record_control_event
from api.storage.engine import database_problem, make_engine, write_transaction
from api.storage.tables import api_keys, console_sessions


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url, busy_timeout_ms=200)
    migrate.upgrade(db)
    yield db
    db.dispose()


def test_durability_settings(engine: Engine, backend: str) -> None:
    with engine.connect() as connection:
        if backend == "sqlite":
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 200
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        else:
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    assert database_problem(engine) is None


def test_migrations_go_down_and_up_again(engine: Engine) -> None:
    tables = {"api_keys", "audit_events", "decisions", "control_events"}
    assert tables <= set(inspect(engine).get_table_names())
    assert not migrate.pending(engine)
    migrate.downgrade(engine, "base")
    assert not tables & set(inspect(engine).get_table_names())
    assert migrate.pending(engine)
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # idempotent
    assert migrate.current(engine) == migrate.head()


def test_the_planner_role_comes_and_goes_and_console_sessions_stay(engine: Engine) -> None:
    """Revision 0004 widens the roles a key may have (on SQLite by copying `api_keys`)."""
    migrate.downgrade(engine, "0003")
    caseworker = create_key(engine, role="caseworker", unit="espoo-a")
    now = datetime.now(UTC)
    session = {"session_hash": "s" * 64, "key_id": caseworker.key_id, "role": "caseworker"}
    with write_transaction(engine) as connection:
        connection.execute(
            insert(console_sessions).values(
                **session, unit="espoo-a", csrf_token="t", created_at=now, last_seen_at=now
            )
        )
    with pytest.raises(IntegrityError):
        _insert_role(engine, "planner")

    migrate.upgrade(engine)
    planner = create_key(engine, role="planner", unit="espoo-a")
    assert _sessions(engine) == [caseworker.key_id]
    with pytest.raises(IntegrityError):
        _insert_role(engine, "manager")
    with write_transaction(engine) as connection:
        connection.execute(
            text(
                "INSERT INTO plan_events (request_id, created_at, unit, role, key_id, "
                "model_name, model_version, month, as_of, clients, input_hash, output) VALUES "
                "('r', :now, 'espoo-a', 'planner', :key, 'm', '1', '2026-12', :day, 1, 'h', '{}')"
            ),
            {"now": now.replace(tzinfo=None), "key": planner.key_id, "day": now.date()},
        )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("UPDATE plan_events SET month = '2027-01'"))

    migrate.downgrade(engine, "0003")
    assert "plan_events" not in inspect(engine).get_table_names()
    assert [row.key_id for row in keys(engine)] == [caseworker.key_id]  # planner keys go
    assert _sessions(engine) == [caseworker.key_id]
    migrate.upgrade(engine)


def _sessions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT key_id FROM console_sessions")).scalars())


def _insert_role(engine: Engine, role: str) -> None:
    with write_transaction(engine) as connection:
        connection.execute(
            insert(api_keys).values(
                key_id="k" + "0" * 12,
                key_hash="h" * 64,
                role=role,
                unit="espoo-a",
                created_at=datetime.now(UTC),
            )
        )


def test_control_events_are_append_only(engine: Engine) -> None:
    with write_transaction(engine) as connection:
        record_control_event(
            connection, action="pause", reason="r", key_id=None, at=datetime.now(UTC)
        )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("UPDATE control_events SET action = 'resume'"))
    with engine.connect() as connection:
        assert control_state(connection).paused


def test_a_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    """Writes take the lock at BEGIN on SQLite (IMMEDIATE): no lock upgrades, no deadlocks."""
    engine = make_engine(f"sqlite:///{(tmp_path / 'lock.db').as_posix()}", busy_timeout_ms=200)
    migrate.upgrade(engine)
    started, release = threading.Event(), threading.Event()

    def first() -> None:
        with write_transaction(engine) as connection:
            record_control_event(
                connection, action="reload", reason=None, key_id=None, at=datetime.now(UTC)
            )
            started.set()
            release.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    started.wait(5)
    began = time.perf_counter()
    with pytest.raises(OperationalError, match="locked"), write_transaction(engine):
        pass  # BEGIN IMMEDIATE waits busy_timeout (200 ms), then gives up
    assert time.perf_counter() - began >= 0.15
    release.set()
    thread.join()
    with write_transaction(engine) as connection:
        record_control_event(
            connection, action="reload", reason=None, key_id=None, at=datetime.now(UTC)
        )
        assert control_state(connection).reload_generation == 2
    engine.dispose()


def test_an_unreachable_database_is_reported_not_raised() -> None:
    db = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_timeout_s=1)
    problem = database_problem(db)
    assert problem is not None and "does not answer" in problem
    assert "nobody" not in problem


def test_without_migrations_on_start_an_old_schema_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app

    fresh = f"sqlite:///{(tmp_path / 'fresh.db').as_posix()}"  # a schema of its own, never migrated
    app = create_app(settings.model_copy(update={"migrate_on_start": False, "database_url": fresh}))
    with pytest.raises(RuntimeError, match="polku db upgrade"), TestClient(app):
        pass
    engine = make_engine(fresh)
    migrate.upgrade(engine)
    engine.dispose()
    with TestClient(app) as client:
        assert client.get("/health/live").status_code == 200


def _write_reloads(url: str, n: int) -> None:
    engine = make_engine(url, busy_timeout_ms=5000)
    for _ in range(n):
        with write_transaction(engine) as connection:
            record_control_event(
                connection, action="reload", reason=None, key_id=None, at=datetime.now(UTC)
            )
    engine.dispose()


def test_writers_in_several_processes_take_turns(tmp_path: Path) -> None:
    """Two processes with four threads each: every write lands, none waits out SQLite's timeout."""
    import multiprocessing

    url = f"sqlite:///{(tmp_path / 'turns.db').as_posix()}"
    setup = make_engine(url)
    migrate.upgrade(setup)
    setup.dispose()
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_reloads, args=(url, 40)) for _ in range(2)]
    for p in processes:
        p.start()
    threads = [threading.Thread(target=_write_reloads, args=(url, 40)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in processes:
        p.join(60)
        assert p.exitcode == 0
    engine = make_engine(url)
    with engine.connect() as connection:
        assert control_state(connection).reload_generation == 240
    assert (tmp_path / "turns.db-writer").exists()
    engine.dispose()


def test_a_writer_whose_turn_does_not_come_goes_ahead(tmp_path: Path) -> None:
    """The turn lock only orders Polku's writers: held elsewhere, a write still lands after the timeout."""
    import fcntl
    import os

    path = tmp_path / "stuck.db"
    engine = make_engine(f"sqlite:///{path.as_posix()}", busy_timeout_ms=300)
    migrate.upgrade(engine)
    fd = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a stopped writer's turn, never given back
    try:
        began = time.perf_counter()
        with write_transaction(engine) as connection:
            record_control_event(
                connection, action="reload", reason=None, key_id=None, at=datetime.now(UTC)
            )
        assert 0.25 <= time.perf_counter() - began < 3
    finally:
        os.close(fd)
    with engine.connect() as connection:
        assert control_state(connection).reload_generation == 1
    engine.dispose()
