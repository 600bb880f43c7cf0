"""A small concurrent client: writers that post decisions and keep a ledger of every answer.

Each writer is a thread with its own HTTP connection (httpx, keep-alive)
that posts its planned decisions in order, each with its own
`Idempotency-Key`. A 503 is retried with the same key and body after its
`Retry-After`, as docs/api.md tells case systems to; no answer at all (the
server is gone) either stops the writer (`stop_on_no_answer`, for the kill
test) or is retried too. Every answer, or the lack of one, goes into the
`Ledger`, which the tests compare with the rows in the database.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.api_requests import request_body

TIMEOUT = httpx.Timeout(60.0, connect=5.0)


@dataclass(frozen=True)
class Recommendation:
    request_id: str
    ranked: list[str]
    headers: dict[str, str]
    unit: str


@dataclass(frozen=True)
class PlannedDecision:
    key: str  # the Idempotency-Key
    unit: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    key: str
    status: int | None  # None: no answer (refused, reset, timed out)
    decision_id: str | None = None
    replayed: bool = False
    retry_after: str | None = None
    at: float = field(default_factory=time.monotonic)


class Ledger:
    """Every answer the writers got, in the order they got them (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.answers: list[Answer] = []

    def add(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)

    def statuses(self) -> Counter[int | None]:
        return Counter(a.status for a in self.answers)

    def acknowledged(self) -> dict[str, str]:
        """Idempotency key -> decision_id of every 201; one key never names two decisions."""
        out: dict[str, str] = {}
        for answer in self.answers:
            if answer.status == 201:
                assert answer.decision_id is not None
                earlier = out.setdefault(answer.key, answer.decision_id)
                assert earlier == answer.decision_id, f"key {answer.key} answered two decisions"
        return out

    def replayed_after_refusal(self) -> set[str]:
        """Keys whose first 201 was a replay: an earlier attempt that got no 201 was stored."""
        first: dict[str, bool] = {}
        for answer in self.answers:
            if answer.status == 201 and answer.key not in first:
                first[answer.key] = answer.replayed
        return {key for key, replayed in first.items() if replayed}

    def retry_after_values(self) -> set[str | None]:
        return {a.retry_after for a in self.answers if a.status == 503}


def decision_body(recommendation: Recommendation, n: int) -> dict[str, Any]:
    """The n-th decision on a recommendation: mostly rank 1, every third an override."""
    if n % 3 == 2 and len(recommendation.ranked) > 1:
        return {
            "request_id": recommendation.request_id,
            "chosen_service": recommendation.ranked[1],
            "reason_code": "client_preference",
            "comment": f"toinen vaihtoehto {n}",
        }
    return {"request_id": recommendation.request_id, "chosen_service": recommendation.ranked[0]}


def plan(recommendation: Recommendation, count: int, *, tag: str) -> list[PlannedDecision]:
    """`count` decisions on one recommendation, each with its own key."""
    return [
        PlannedDecision(
            key=f"{tag}-{recommendation.request_id}-{n}",
            unit=recommendation.unit,
            headers=recommendation.headers,
            body=decision_body(recommendation, n),
        )
        for n in range(count)
    ]


def post_decision(http: httpx.Client, decision: PlannedDecision) -> Answer:
    try:
        response = http.post(
            "/v1/decisions",
            json=decision.body,
            headers={**decision.headers, "Idempotency-Key": decision.key},
        )
    except httpx.TransportError:
        return Answer(decision.key, None)
    decision_id = response.json().get("decision_id") if response.status_code == 201 else None
    return Answer(
        decision.key,
        response.status_code,
        decision_id=decision_id,
        replayed=response.headers.get("idempotent-replayed") == "true",
        retry_after=response.headers.get("retry-after"),
    )


def recommend_many(
    base_url: str, headers: Sequence[dict[str, str]], units: Sequence[str], count: int
) -> list[Recommendation]:
    """`count` recommendations through the API (writers share them; 4 threads), round-robin over units."""

    def one(i: int) -> Recommendation:
        unit = i % len(headers)
        with httpx.Client(base_url=base_url, timeout=TIMEOUT) as http:
            body = request_body()
            body["client"]["client_id"] = f"DUR-{i:06d}"
            response = http.post("/v1/recommendations", json=body, headers=headers[unit])
            assert response.status_code == 200, response.text
            answer = response.json()
        return Recommendation(
            request_id=answer["request_id"],
            ranked=[r["service"] for r in answer["recommendations"]],
            headers=headers[unit],
            unit=units[unit],
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(count)))


def run_writers(
    base_url: str,
    plans: Sequence[Sequence[PlannedDecision]],
    ledger: Ledger,
    *,
    stop_on_no_answer: bool = False,
    stop: threading.Event | None = None,
    deadline_s: float = 240.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[int]:
    """One thread per plan; returns how many decisions each writer got a 201 for."""
    give_up = time.monotonic() + deadline_s

    def writer(decisions: Sequence[PlannedDecision]) -> int:
        done = 0
        with httpx.Client(base_url=base_url, timeout=TIMEOUT) as http:
            for decision in decisions:
                if stop is not None and stop.is_set():
                    return done
                while True:
                    answer = post_decision(http, decision)
                    ledger.add(answer)
                    if answer.status == 201:
                        done += 1
                        break
                    if answer.status is None and stop_on_no_answer:
                        return done
                    if time.monotonic() > give_up:
                        return done
                    if answer.status == 503:
                        sleep(float(answer.retry_after or 1))
                    elif answer.status is None:
                        sleep(0.5)
                    else:
                        break  # an answer that a retry cannot change; the test looks at it
        return done

    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        return list(pool.map(writer, plans))
