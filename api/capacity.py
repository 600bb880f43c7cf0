"""Seats left this month and the wait a client can expect now: the one place they are worked out.

A service's seats are shared by every unit. The seats left this month are
its `monthly_capacity` less the decisions recorded this month
(Europe/Helsinki) in every unit that chose it, a corrected decision counted
once, as its correction (`api.storage.decisions.starts_since`); never below
0, and none for a service without a capacity. The wait now is the service's
`expected_wait_days` (0 when unknown), plus the days until the next month
begins when no seat is left; none for no_new_service. A full service is
still shown and ranked as usual: the caseworker decides.

GET /v1/services reads the month's counts afresh. A recommendation must not
pay a query for them, so `MonthStarts` keeps them per engine for
`MAX_AGE_SECONDS`; a decision recorded by this process forgets them at once
(`forget_starts`), and one recorded by another worker or instance is counted
once they have aged. While one request reads them again, the others go on
with the counts they have.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Final

from sqlalchemy import Engine

from api.storage.decisions import starts_since
from api.storage.engine import read_transaction
from model.catalogue import Catalogue, Service
from model.vocab import NO_NEW_SERVICE

MAX_AGE_SECONDS: Final = 5.0


@dataclass(frozen=True, slots=True)
class Seats:
    """A service's seats left this month and the wait a client can expect now."""

    seats_left_this_month: int | None
    expected_wait_days_now: int | None


def seats_json(seats: Seats) -> dict[str, int | None]:
    """The two fields as the API answers them."""
    return {
        "seats_left_this_month": seats.seats_left_this_month,
        "expected_wait_days_now": seats.expected_wait_days_now,
    }


def month_start(now: datetime) -> datetime:
    """Midnight of the first day of `now`'s month, in `now`'s time zone."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True, slots=True)
class Availability:
    """The seats of every service at one moment: the month's starts and the days left in it."""

    started: Mapping[str, int]
    days_to_next_month: int

    @classmethod
    def at(cls, now: datetime, started: Mapping[str, int]) -> Availability:
        """`now` is local time (Europe/Helsinki); `started` the month's starts per service."""
        today = now.date()
        return cls(started, (next_month_start(today) - today).days)

    def of(self, service: Service) -> Seats:
        seats_left = (
            None
            if service.monthly_capacity is None
            else max(0, service.monthly_capacity - self.started.get(service.code, 0))
        )
        if service.code == NO_NEW_SERVICE:
            return Seats(seats_left, None)
        wait = service.expected_wait_days or 0
        return Seats(seats_left, wait + self.days_to_next_month if seats_left == 0 else wait)

    def of_catalogue(self, catalogue: Catalogue) -> dict[str, Seats]:
        """The seats of every action of `catalogue`, by code."""
        return {s.code: self.of(s) for s in (*catalogue.services, catalogue.no_new_service)}


@dataclass(frozen=True, slots=True)
class _Kept:
    month: datetime
    read_at: float
    counts: Mapping[str, int]


class MonthStarts:
    """The month's starts per service of one database, kept for `max_age` seconds."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.max_age = max_age
        self.clock = clock
        self._lock = threading.Lock()
        self._kept: _Kept | None = None
        self._generation = 0
        self._readers = 0

    def counts(self, now: datetime, *, fresh: bool = False) -> Mapping[str, int]:
        """Starts per service since the first of `now`'s month (local time)."""
        month = month_start(now)
        with self._lock:
            kept = self._kept
            usable = kept is not None and kept.month == month
            if usable and not fresh:
                assert kept is not None
                if self._readers or self.clock() - kept.read_at < self.max_age:
                    return kept.counts
            self._readers += 1
            generation = self._generation
        try:
            read_at = self.clock()
            with read_transaction(self.engine) as connection:
                counts = MappingProxyType(starts_since(connection, since=month.astimezone(UTC)))
            with self._lock:
                # A decision recorded while this read was under way may be missing from it.
                if generation == self._generation:
                    self._kept = _Kept(month, read_at, counts)
            return counts
        finally:
            with self._lock:
                self._readers -= 1

    def forget(self) -> None:
        """A decision was recorded: the next request reads the counts again."""
        with self._lock:
            self._generation += 1
            self._kept = None


_kept: weakref.WeakKeyDictionary[Engine, MonthStarts] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


def month_starts(engine: Engine) -> MonthStarts:
    """The engine's kept counts (one per engine, shared by its requests)."""
    with _kept_lock:
        starts = _kept.get(engine)
        if starts is None:
            starts = _kept[engine] = MonthStarts(engine)
        return starts


def availability(engine: Engine, now: datetime, *, fresh: bool = False) -> Availability:
    """Every service's seats at `now` (local time); `fresh` reads the counts from the database."""
    return Availability.at(now, month_starts(engine).counts(now, fresh=fresh))


def forget_starts(engine: Engine) -> None:
    """After a decision is recorded: this process counts it from the next request on."""
    with _kept_lock:
        starts = _kept.get(engine)
    if starts is not None:
        starts.forget()
