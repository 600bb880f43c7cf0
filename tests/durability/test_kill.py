"""SIGKILL under load, round after round: no acknowledged decision or recommendation is lost.

Each round the server (the whole process group) is killed at a random
moment while writers post decisions and a caseworker asks for
recommendations. While it is down, the database checks itself (SQLite's
integrity and foreign-key checks on a fresh connection, which also recovers
the write-ahead log; PostgreSQL's constraints, references and amcheck) and
every 201 must have its row, with its audit event, and every answered
recommendation its audit event. After the restart, every decision sent
without an answer is sent again with the same key and body and must be
stored exactly once; a sample of acknowledged ones must replay the same
decision.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter

import httpx
import pytest

from tests.support.api_requests import request_body
from tests.support.database_checks import (
    audit_request_ids,
    enable_amcheck,
    integrity_problems,
    stored_decisions,
)
from tests.support.decision_writers import (
    TIMEOUT,
    Ledger,
    PlannedDecision,
    plan,
    post_decision,
    recommend_many,
    run_writers,
)
from tests.support.prepared_database import Prepared
from tests.support.servers import Servers

pytestmark = pytest.mark.slow

# Each round restarts the server, so `make test` runs a few per backend;
# POLKU_KILL_ROUNDS sets how many for a longer run.
ROUNDS = int(os.environ.get("POLKU_KILL_ROUNDS", "6"))
WRITERS = 20
KILL_AFTER_S = (0.5, 2.5)  # the moment of the kill, uniform after the load starts
REPLAY_SAMPLE = 20


def _recommender(base_url: str, headers: dict[str, str], stop: threading.Event) -> list[str]:
    """A caseworker asking for recommendations until the server dies; the answered request ids."""
    answered: list[str] = []
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as http:
        while not stop.is_set():
            try:
                response = http.post("/v1/recommendations", json=request_body(), headers=headers)
            except httpx.TransportError:
                return answered
            if response.status_code == 200:
                answered.append(response.json()["request_id"])
            else:
                time.sleep(0.2)  # 503 while the restarted server loads its model
    return answered


def test_sigkill_under_load_loses_no_acknowledged_decision(
    prepared: Prepared, server_factory: Servers
) -> None:
    seed = int(os.environ.get("POLKU_DURABILITY_SEED", random.SystemRandom().randrange(10**6)))
    rng = random.Random(seed)
    if prepared.engine.dialect.name == "postgresql":
        enable_amcheck(prepared.engine)
    # Restarts answer decisions before the model is loaded (decisions do not need it).
    server = server_factory(prepared.url, env={"POLKU_MODEL_START_WAIT_SECONDS": "0"})
    recommendations = recommend_many(server.url, prepared.headers, prepared.units, WRITERS)
    ledger = Ledger()
    sent: dict[str, PlannedDecision] = {}
    answered_recommendations: list[str] = []
    kills: list[float] = []
    in_flight_at_kill: list[int] = []
    restart_s: list[float] = []

    for round_ in range(ROUNDS + 1):
        if round_ > 0:
            server.start(wait="live")
            restart_s.append(server.last_start_s)
        # Everything sent in earlier rounds without a 201 goes again, same key and body.
        acknowledged = ledger.acknowledged()
        unanswered = [d for k, d in sent.items() if k not in acknowledged]
        retry = Ledger()
        run_writers(server.url, [unanswered[i::WRITERS] for i in range(WRITERS)], retry)
        assert {a.status for a in retry.answers} <= {201, 503}, server.log_tail()
        assert set(retry.acknowledged()) == {d.key for d in unanswered}
        for answer in retry.answers:
            ledger.add(answer)
        # Acknowledged ones replay the first answer.
        sample = rng.sample(sorted(acknowledged), min(REPLAY_SAMPLE, len(acknowledged)))
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
            for key in sample:
                replay = post_decision(http, sent[key])
                assert replay.status == 201 and replay.replayed, server.log_tail()
                assert replay.decision_id == acknowledged[key]
        if round_ == ROUNDS:
            break

        plans = [plan(r, 2_000, tag=f"kill{round_}") for r in recommendations]
        planned = {d.key: d for p in plans for d in p}
        first_answers = len(ledger.answers)
        stop = threading.Event()
        writers = threading.Thread(
            target=run_writers,
            args=(server.url, plans, ledger),
            kwargs={"stop_on_no_answer": True, "stop": stop},
        )
        recommended: list[list[str]] = []
        recommender = threading.Thread(
            target=lambda out=recommended, stop=stop: out.append(
                _recommender(server.url, prepared.headers[0], stop)
            )
        )
        writers.start()
        recommender.start()
        kill_after = rng.uniform(*KILL_AFTER_S)
        time.sleep(kill_after)
        server.kill()
        kills.append(kill_after)
        stop.set()
        writers.join()
        recommender.join()
        answered_recommendations += recommended[0]
        new_answers = ledger.answers[first_answers:]
        for answer in new_answers:
            sent.setdefault(answer.key, planned[answer.key])
        in_flight_at_kill.append(sum(a.status is None for a in new_answers))

        # The server is down: the database as the kill left it.
        prepared.engine.dispose()
        assert integrity_problems(prepared.url) == [], f"round {round_}, seed {seed}"
        rows = {r.idempotency_key: r for r in stored_decisions(prepared.engine)}
        for key, decision_id in ledger.acknowledged().items():
            row = rows.get(key)
            assert row is not None, f"acknowledged decision lost (round {round_}, seed {seed})"
            assert row.decision_id == decision_id
            assert row.request_id == sent[key].body["request_id"] == row.audit_request_id
        assert set(answered_recommendations) <= audit_request_ids(prepared.engine)
        assert set(rows) <= set(sent), "a row for a decision never sent"
        prepared.engine.dispose()

    statuses = ledger.statuses()
    stored = stored_decisions(prepared.engine)
    per_key = Counter(r.idempotency_key for r in stored)
    print(
        f"\n{prepared.engine.dialect.name} kill rounds (seed {seed}): {ROUNDS}, kills after "
        f"{[round(k, 2) for k in kills]} s, requests {len(ledger.answers)}, answers "
        f"{dict(statuses)}, without answer at the kill {in_flight_at_kill}, decisions sent "
        f"{len(sent)}, acknowledged {len(ledger.acknowledged())} (of them stored before the "
        f"kill though unanswered: {len(ledger.replayed_after_refusal())}), rows {len(stored)}, "
        f"recommendations answered {len(answered_recommendations)}, restarts to live "
        f"{[round(s, 1) for s in restart_s]} s"
    )
    assert statuses.get(500, 0) == 0, server.log_tail()
    assert set(per_key) == set(sent) == set(ledger.acknowledged())
    assert max(per_key.values()) == 1, "a decision was stored twice"
    assert server_factory.leaks() == []
    assert sum(in_flight_at_kill) > 0, "no kill caught a request in flight: the test proved little"
