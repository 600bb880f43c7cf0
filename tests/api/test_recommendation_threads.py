"""Where a recommendation is worked out: on the event loop when the worker is idle, else a thread.

The inline path saves a thread hop at low load; it must never hold the loop
for a network database, nor take the place of the thread pool when other
recommendations are being answered (their audit writes commit together
there). Either way the answer and its audit event are the same.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.recommendations import views
from api.storage.engine import write_transaction, writer_busy
from api.storage.tables import audit_events
from tests.support.api_requests import Keys, recommend, request_body


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def threads_used(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread each answer was worked out in."""
    seen: list[str] = []
    answer = views._answer

    def recording(*args: Any) -> Any:
        seen.append(threading.current_thread().name)
        return answer(*args)

    monkeypatch.setattr(views, "_answer", recording)
    return seen


def _loop_thread(client: TestClient) -> str:
    names: list[str] = []

    async def name() -> None:
        names.append(threading.current_thread().name)

    assert client.portal is not None
    client.portal.call(name)
    return names[0]


def test_an_idle_worker_answers_on_its_loop_only_for_sqlite(
    client: TestClient, app: FastAPI, keys: Keys, backend: str, threads_used: list[str]
) -> None:
    recommend(client, keys.caseworker)
    loop = _loop_thread(client)
    if backend == "sqlite":
        assert threads_used == [loop]
    else:
        assert threads_used and threads_used[0] != loop  # PostgreSQL waits on the network
    assert app.state.recommendations_in_flight == 0


def test_a_busy_worker_answers_in_the_thread_pool(
    client: TestClient, app: FastAPI, keys: Keys, threads_used: list[str]
) -> None:
    app.state.recommendations_in_flight = 1  # another recommendation is being answered
    recommend(client, keys.caseworker)
    assert threads_used and threads_used[0] != _loop_thread(client)
    assert app.state.recommendations_in_flight == 1


def test_the_count_of_answers_under_way_survives_a_refusal(
    client: TestClient, app: FastAPI, keys: Keys, threads_used: list[str]
) -> None:
    # Refused inside the answer (a contract check), then while paused.
    early = client.post(
        "/v1/recommendations", json=request_body(as_of="2023-01-01"), headers=keys.caseworker
    )
    assert early.status_code == 422, early.text
    assert early.json()["errors"][0]["code"] == "before_intake"
    paused = client.post("/v1/admin/pause", json={"reason": "test"}, headers=keys.admin)
    assert paused.status_code == 200, paused.text
    response = client.post("/v1/recommendations", json=request_body(), headers=keys.caseworker)
    assert response.status_code == 503, response.text
    assert len(threads_used) == 2  # both refusals came from the answer itself
    assert app.state.recommendations_in_flight == 0


def test_concurrent_requests_all_answer_and_are_all_audited(
    client: TestClient, app: FastAPI, keys: Keys
) -> None:
    def one(_: int) -> str:
        return str(recommend(client, keys.caseworker)["request_id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(one, range(32)))
    assert len(set(ids)) == 32
    with app.state.engine.connect() as connection:
        stored = connection.execute(
            select(func.count()).select_from(audit_events).where(audit_events.c.request_id.in_(ids))
        ).scalar_one()
    assert stored == 32
    assert app.state.recommendations_in_flight == 0


def test_while_another_writer_holds_the_sqlite_file_the_answer_waits_in_a_thread(
    client: TestClient, app: FastAPI, keys: Keys, backend: str, threads_used: list[str]
) -> None:
    if backend != "sqlite":
        pytest.skip("the writer queue is SQLite's")
    database = app.state.engine.url.database
    # Another process's writer (a purge, say) holds the turn: its own open file.
    fd = os.open(f"{Path(database).resolve()}-writer", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert writer_busy(app.state.engine)
        done: list[int] = []
        worker = threading.Thread(
            target=lambda: done.append(
                client.post(
                    "/v1/recommendations", json=request_body(), headers=keys.caseworker
                ).status_code
            )
        )
        worker.start()
        time.sleep(0.3)  # the answer is computed and waits for its turn to write...
        started = time.monotonic()
        assert client.get("/health/live").status_code == 200  # ...while the loop serves
        assert time.monotonic() - started < 1.0  # not after the 5 s the write would wait
        fcntl.flock(fd, fcntl.LOCK_UN)
        worker.join(10)
    finally:
        os.close(fd)
    assert done == [200]
    assert threads_used and threads_used[0] != _loop_thread(client)
    assert not writer_busy(app.state.engine)
    recommend(client, keys.caseworker)  # free again: back on the loop
    assert threads_used[-1] == _loop_thread(client)


def test_writer_busy_sees_a_writer_of_this_process_and_never_waits(
    client: TestClient, app: FastAPI, backend: str
) -> None:
    engine = app.state.engine
    if backend != "sqlite":
        assert not writer_busy(engine)  # no writer queue: PostgreSQL never answers on the loop
        return
    seen: list[bool] = []
    with write_transaction(engine):
        probe = threading.Thread(target=lambda: seen.append(writer_busy(engine)))
        started = time.monotonic()
        probe.start()
        probe.join(5)
        assert time.monotonic() - started < 1.0
    assert seen == [True]
    assert not writer_busy(engine)
