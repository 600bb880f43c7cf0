"""Concurrent writers against a real `polku serve`: every 201 is one row, no row without a 201.

docs/api.md: a decision is never lost once 201 was answered; the same
Idempotency-Key and body replay the first answer and store one row.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.database_checks import enable_amcheck, integrity_problems, stored_decisions
from tests.support.decision_writers import (
    TIMEOUT,
    Ledger,
    PlannedDecision,
    decision_body,
    plan,
    post_decision,
    recommend_many,
    run_writers,
)
from tests.support.prepared_database import Prepared, fresh_database, prepare
from tests.support.servers import ServerProcess, Servers
from tests.support.trained_model import TrainedModel

pytestmark = pytest.mark.slow

WRITERS = 50
DECISIONS_PER_WRITER = 200
SAME_REQUEST_COPIES = 20


@dataclass(frozen=True)
class Served:
    prepared: Prepared
    server: ServerProcess


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def served(
    backend: str, trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One server per backend for this module's tests (a start costs seconds)."""
    folder = tmp_path_factory.mktemp(f"concurrency-{backend}")
    servers = Servers(trained_model, folder)
    with fresh_database(backend, folder) as url:
        prepared = prepare(url)
        try:
            if prepared.engine.dialect.name == "postgresql":
                enable_amcheck(prepared.engine)
            yield Served(prepared, servers(url))
        finally:
            servers.close()
            prepared.engine.dispose()


def test_concurrent_writers_lose_nothing_and_store_nothing_twice(served: Served) -> None:
    prepared, server = served.prepared, served.server
    # One recommendation per writer: decisions refer to its audit event.
    recommendations = recommend_many(server.url, prepared.headers, prepared.units, WRITERS)
    tag = uuid.uuid4().hex[:8]
    plans = [plan(r, DECISIONS_PER_WRITER, tag=tag) for r in recommendations]
    ledger = Ledger()
    started = time.monotonic()
    done = run_writers(server.url, plans, ledger)
    elapsed = time.monotonic() - started
    statuses = ledger.statuses()
    acknowledged = ledger.acknowledged()
    print(
        f"\n{prepared.engine.dialect.name}: {WRITERS} writers x {DECISIONS_PER_WRITER} decisions "
        f"in {elapsed:.1f} s ({sum(done) / elapsed:.0f}/s), answers {dict(statuses)}"
    )
    assert statuses.get(500, 0) == 0, server.log_tail()
    assert set(statuses) <= {201, 503}, statuses
    assert done == [DECISIONS_PER_WRITER] * WRITERS
    planned = {d.key: d for p in plans for d in p}
    assert set(acknowledged) == set(planned)

    rows = stored_decisions(prepared.engine)
    by_key = Counter((r.unit, r.idempotency_key) for r in rows)
    assert len(rows) == len(acknowledged) == WRITERS * DECISIONS_PER_WRITER
    assert max(by_key.values()) == 1, "an idempotency key was stored twice"
    stored = {r.idempotency_key: r for r in rows}
    for key, decision_id in acknowledged.items():
        row = stored[key]
        assert row.decision_id == decision_id
        assert row.unit == planned[key].unit
        assert row.request_id == planned[key].body["request_id"] == row.audit_request_id
        assert row.chosen_service == planned[key].body["chosen_service"]
    assert integrity_problems(prepared.url) == []
    assert server.log_leaks() == []


def test_the_same_request_sent_in_parallel_is_stored_once(served: Served) -> None:
    prepared, server = served.prepared, served.server
    (recommendation,) = recommend_many(server.url, prepared.headers, prepared.units, 1)
    for round_ in range(3):
        key = str(uuid.uuid4())
        body = decision_body(recommendation, round_)
        barrier = threading.Barrier(SAME_REQUEST_COPIES)
        ledger = Ledger()

        def send(
            key: str = key,
            body: dict[str, object] = body,
            barrier: threading.Barrier = barrier,
            ledger: Ledger = ledger,
        ) -> None:
            decision = PlannedDecision(key, recommendation.unit, recommendation.headers, body)
            with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
                http.get("/health/live")  # connect first: the copies leave together
                barrier.wait()
                ledger.add(post_decision(http, decision))

        threads = [threading.Thread(target=send) for _ in range(SAME_REQUEST_COPIES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        answers = ledger.answers
        assert [a.status for a in answers] == [201] * SAME_REQUEST_COPIES, server.log_tail()
        assert len({a.decision_id for a in answers}) == 1
        assert sum(not a.replayed for a in answers) == 1, "exactly one answer is the first"
        rows = [r for r in stored_decisions(prepared.engine) if r.idempotency_key == key]
        assert len(rows) == 1
        assert rows[0].decision_id == answers[0].decision_id
