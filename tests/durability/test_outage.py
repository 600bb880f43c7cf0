"""The database unavailable for 10 s under load: 503 with Retry-After, not ready, nothing lost.

docs/api.md: 503 with Retry-After when the database does not answer (nothing
stored: retry with the same Idempotency-Key); /health/ready is 503 while the
database does not answer. Writers keep posting decisions throughout and
retry every 503 after its Retry-After with the same key and body; a prober
asks /health/ready twice a second.

- PostgreSQL: a cluster of our own (initdb in a temporary folder), stopped
  with `pg_ctl stop -m fast` (open connections are cut) and started again
  10 s later. The shared test server is never touched.
- SQLite: another process holds the database's write lock (``BEGIN
  EXCLUSIVE``) for 10 s, as a stuck maintenance job, a backup tool or an
  operator's `sqlite3` shell left in a transaction would. In WAL mode
  readers still read; every write waits the busy timeout and fails.
  (Moving or chmod-ing the folder does not make it unavailable: the server
  keeps its open file descriptors, and root ignores permissions.)
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support.database_checks import enable_amcheck, integrity_problems, stored_decisions
from tests.support.decision_writers import Ledger, plan, recommend_many, run_writers
from tests.support.postgres_cluster import Cluster
from tests.support.prepared_database import Prepared, prepare
from tests.support.servers import ServerProcess, Servers

pytestmark = pytest.mark.slow

OUTAGE_S = 10.0
WRITERS = 20
RETRY_AFTER = "5"  # POLKU_RETRY_AFTER_SECONDS, the default


@dataclass
class Readiness:
    """/health/ready as a prober saw it: (asked, answered, status, Retry-After)."""

    seen: list[tuple[float, float, int | None, str | None]] = field(default_factory=list)

    def during(self, start: float, end: float) -> Counter[int | None]:
        """Statuses of the probes that were under way at some moment between start and end."""
        return Counter(
            status for asked, answered, status, _ in self.seen if asked <= end and answered >= start
        )

    def asked_after(self, start: float) -> Counter[int | None]:
        return Counter(status for asked, _, status, _ in self.seen if asked >= start)


@contextmanager
def probing(base_url: str) -> Iterator[Readiness]:
    readiness = Readiness()
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=base_url, timeout=30.0) as http:
            while not stop.is_set():
                asked = time.monotonic()
                try:
                    response = http.get("/health/ready")
                    readiness.seen.append(
                        (
                            asked,
                            time.monotonic(),
                            response.status_code,
                            response.headers.get("retry-after"),
                        )
                    )
                except httpx.TransportError:
                    readiness.seen.append((asked, time.monotonic(), None, None))
                stop.wait(0.5)

    thread = threading.Thread(target=probe)
    thread.start()
    try:
        yield readiness
    finally:
        stop.set()
        thread.join()


def exercise_outage(
    prepared: Prepared,
    server: ServerProcess,
    *,
    begin: Callable[[], None],
    end: Callable[[], None],
    how: str,
) -> None:
    recommendations = recommend_many(server.url, prepared.headers, prepared.units, WRITERS)
    plans = [plan(r, 2_000, tag="outage") for r in recommendations]
    ledger = Ledger()
    stop = threading.Event()
    with probing(server.url) as readiness:
        writers = threading.Thread(
            target=run_writers,
            args=(server.url, plans, ledger),
            kwargs={"stop": stop, "deadline_s": 120.0},
        )
        writers.start()
        time.sleep(2.0)
        began = time.monotonic()
        begin()
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - began)))
        end()
        ended = time.monotonic()
        server.wait_for("/health/ready", timeout=60)
        recovered = time.monotonic()
        time.sleep(2.0)
        stop.set()
        writers.join()
    statuses = ledger.statuses()
    acknowledged = ledger.acknowledged()
    sent = {a.key for a in ledger.answers}
    during = [a for a in ledger.answers if began <= a.at <= ended + 1]
    print(
        f"\n{how}: outage {ended - began:.1f} s, ready again {recovered - ended:.1f} s later; "
        f"requests {len(ledger.answers)}, answers {dict(statuses)}, 503 with Retry-After "
        f"{sorted(v or '-' for v in ledger.retry_after_values())}, decisions sent {len(sent)}, "
        f"acknowledged {len(acknowledged)} (stored though answered 503 or not at all: "
        f"{len(ledger.replayed_after_refusal())}); readiness during the outage "
        f"{dict(readiness.during(began, ended))}, after {dict(readiness.asked_after(recovered))}"
    )
    assert statuses.get(500, 0) == 0, server.log_tail()
    assert set(statuses) <= {201, 503}, statuses
    assert sum(a.status == 503 for a in during) > 0, "no 503 during the outage"
    assert ledger.retry_after_values() == {RETRY_AFTER}
    assert readiness.during(began + 1, ended).get(503, 0) > 0, "readiness never failed"
    assert all(retry == RETRY_AFTER for *_, status, retry in readiness.seen if status == 503), (
        "a 503 from readiness without Retry-After"
    )
    assert set(readiness.asked_after(recovered)) == {200}
    # Every decision sent was retried until acknowledged, and is stored exactly once.
    assert set(acknowledged) == sent
    rows = stored_decisions(prepared.engine)
    per_key = Counter(r.idempotency_key for r in rows)
    assert set(per_key) == sent
    assert max(per_key.values()) == 1, "a decision was stored twice"
    by_key = {r.idempotency_key: r for r in rows}
    assert all(
        by_key[k].decision_id == d and by_key[k].audit_request_id for k, d in acknowledged.items()
    )
    prepared.engine.dispose()
    assert integrity_problems(prepared.url) == []
    assert server.log_leaks() == []


HOLD_WRITE_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""


def test_sqlite_locked_by_another_process(tmp_path: Path, server_factory: Servers) -> None:
    url = f"sqlite:///{(tmp_path / 'db' / 'polku.db').as_posix()}"
    prepared = prepare(url)
    server = server_factory(url)
    holder: subprocess.Popen[str] | None = None

    def begin() -> None:
        nonlocal holder
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_WRITE_LOCK, make_url(url).database or ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"

    def end() -> None:
        assert holder is not None and holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 0

    try:
        exercise_outage(prepared, server, begin=begin, end=end, how="sqlite, write lock held")
    finally:
        if holder is not None:
            if holder.poll() is None:
                holder.kill()
            holder.communicate()  # reaps it and closes its pipes
        prepared.engine.dispose()


@pytest.mark.postgres
def test_postgres_server_stopped(throwaway_postgres: Cluster, server_factory: Servers) -> None:
    prepared = prepare(throwaway_postgres.url)
    enable_amcheck(prepared.engine)
    server = server_factory(throwaway_postgres.url)
    try:
        exercise_outage(
            prepared,
            server,
            begin=lambda: throwaway_postgres.stop("fast"),
            end=throwaway_postgres.start,
            how="postgresql, server stopped",
        )
    finally:
        prepared.engine.dispose()
