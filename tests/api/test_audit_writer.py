"""Group commit of audit events (`api.storage.audit.AuditWriter`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from api.storage import migrate
from api.storage.audit import AuditEvent, AuditWriter, get_audit_event
from api.storage.engine import make_engine, read_transaction
from api.storage.tables import audit_events


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url, busy_timeout_ms=5000)
    migrate.upgrade(db)
    yield db
    db.dispose()


def _event(request_id: str) -> AuditEvent:
    return AuditEvent(
        request_id=request_id,
        created_at=datetime.now(UTC),
        client_id="C-1",
        unit="u",
        role="caseworker",
        key_id="k000000000000",
        model_name="polku-router",
        model_version="1",
        model_run_id=None,
        as_of=date(2024, 1, 1),
        language="fi",
        k=3,
        input_hash="0" * 64,
        features={"age": 30.0},
        output={"recommendations": []},
    )


def _count(engine: Engine) -> int:
    with read_transaction(engine) as connection:
        return int(connection.execute(select(func.count()).select_from(audit_events)).scalar_one())


def test_every_event_written_by_concurrent_threads_is_committed(engine: Engine) -> None:
    writer = AuditWriter(engine)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        for i in range(10):
            try:
                writer.write(_event(f"t{t}-{i}"))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _count(engine) == 120
    with read_transaction(engine) as connection:
        assert get_audit_event(connection, request_id="t11-9") is not None


def test_a_bad_event_fails_only_its_own_write(engine: Engine) -> None:
    writer = AuditWriter(engine)
    writer.write(_event("taken"))
    barrier = threading.Barrier(6)
    outcome: dict[str, BaseException | None] = {}

    def work(request_id: str) -> None:
        barrier.wait()
        try:
            writer.write(_event(request_id))
            outcome[request_id] = None
        except BaseException as exc:
            outcome[request_id] = exc

    ids = ["taken", "a", "b", "c", "d", "e"]
    threads = [threading.Thread(target=work, args=(r,)) for r in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(outcome["taken"], IntegrityError)
    assert all(outcome[r] is None for r in ids[1:])
    assert _count(engine) == 6


def test_the_writer_keeps_one_connection_and_replaces_it_after_an_error(engine: Engine) -> None:
    """SQLite: the leader's own connection serves every transaction, until one fails."""
    writer = AuditWriter(engine)
    held = writer._writer
    if not held.held:
        pytest.skip("PostgreSQL writes through the pool (pre-ping finds dropped connections)")
    writer.write(_event("first"))
    kept = held._connection
    assert kept is not None and not kept.closed
    writer.write(_event("second"))
    assert held._connection is kept
    with pytest.raises(IntegrityError):
        writer.write(_event("first"))
    assert kept.closed and held._connection is None  # nothing half-done carries over
    writer.write(_event("third"))
    assert held._connection is not None and held._connection is not kept
    assert _count(engine) == 3
    held.close()
