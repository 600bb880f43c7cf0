"""The month's starts kept per database (`api.capacity`), and the seats and wait worked from them.

On a real SQLite database: decisions written by another process (straight
into the table) are counted once the kept counts have aged, those recorded
here at once; last month's decisions and corrected ones take no seat.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from api.capacity import Availability, MonthStarts, Seats, forget_starts, month_starts
from api.recommendations.service import HELSINKI
from api.storage import migrate
from api.storage.audit import AuditEvent, insert_audit_event
from api.storage.decisions import DecisionRow, insert_decision
from api.storage.engine import make_engine, write_transaction
from model.catalogue import load_catalogue

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=HELSINKI)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'polku.db'}")
    migrate.upgrade(engine)
    with write_transaction(engine) as connection:
        insert_audit_event(connection, event=_event("r1"))
    yield engine
    engine.dispose()


def _event(request_id: str) -> AuditEvent:
    return AuditEvent(
        request_id=request_id,
        created_at=NOW.astimezone(UTC),
        client_id="C1",
        unit="espoo-a",
        role="caseworker",
        key_id="k000000000000",
        model_name="polku-router",
        model_version="1",
        model_run_id=None,
        as_of=NOW.date(),
        language="fi",
        k=3,
        input_hash="0" * 64,
        features={},
        output={},
    )


def _decide(
    engine: Engine, service: str, *, at: datetime = NOW, corrects: str | None = None
) -> str:
    decision_id = str(uuid.uuid4())
    row = DecisionRow(
        decision_id=decision_id,
        request_id="r1",
        created_at=at.astimezone(UTC),
        unit="espoo-a",
        role="caseworker",
        key_id="k000000000000",
        idempotency_key=decision_id,
        body_hash="0" * 64,
        chosen_service=service,
        recommended_service=service,
        chosen_rank=1,
        reason_code=None,
        comment=None,
        corrects=corrects,
    )
    with write_transaction(engine) as connection:
        insert_decision(connection, decision=row)
    return decision_id


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_counts_are_kept_until_they_age_or_a_decision_is_recorded_here(
    engine: Engine,
) -> None:
    clock = Clock()
    starts = MonthStarts(engine, max_age=5.0, clock=clock)
    _decide(engine, "pay_subsidy")
    assert starts.counts(NOW) == {"pay_subsidy": 1}
    _decide(engine, "pay_subsidy")  # another process: not seen while kept
    clock.now += 4.9
    assert starts.counts(NOW) == {"pay_subsidy": 1}
    assert starts.counts(NOW, fresh=True) == {"pay_subsidy": 2}
    _decide(engine, "work_trial")
    clock.now += 5.0
    assert starts.counts(NOW) == {"pay_subsidy": 2, "work_trial": 1}
    _decide(engine, "work_trial")
    starts.forget()  # recorded here
    assert starts.counts(NOW) == {"pay_subsidy": 2, "work_trial": 2}
    next_month = NOW + timedelta(days=25)
    assert next_month.month == 1 and starts.counts(next_month) == {}


def test_last_months_and_corrected_decisions_take_no_seat(engine: Engine) -> None:
    first = NOW.replace(day=1, hour=0, minute=0)
    _decide(engine, "pay_subsidy", at=first - timedelta(seconds=1))
    _decide(engine, "pay_subsidy", at=first)
    corrected = _decide(engine, "pay_subsidy")
    _decide(engine, "work_trial", corrects=corrected)
    forget_starts(engine)
    assert month_starts(engine).counts(NOW) == {"pay_subsidy": 1, "work_trial": 1}


@pytest.mark.parametrize(
    ("day", "days_left"),
    [(date(2026, 12, 7), 25), (date(2026, 12, 31), 1), (date(2027, 2, 1), 28)],
)
def test_a_full_service_waits_until_the_next_month_begins(day: date, days_left: int) -> None:
    catalogue = load_catalogue()
    now = datetime(day.year, day.month, day.day, 23, 59, tzinfo=HELSINKI)
    seats = Availability.at(now, {"pay_subsidy": 60, "integration_training": 399})
    assert seats.of(catalogue.get("pay_subsidy")) == Seats(0, days_left)  # no usual wait
    assert seats.of(catalogue.get("integration_training")) == Seats(1, 23)
    assert seats.of(catalogue.get("job_search_coaching")) == Seats(None, 0)  # no capacity
    assert seats.of(catalogue.no_new_service) == Seats(None, None)
    over = Availability.at(now, {"integration_training": 401})
    assert over.of(catalogue.get("integration_training")) == Seats(0, 23 + days_left)
