"""Event lists sorted by (client, day), searched for many points at once.

Every event list is sorted by the int64 key ``client_code * span + day`` and
every per-point count, sum or "last before d" is a `searchsorted` on it
(queries are sorted too, which keeps the binary searches cache-friendly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np


@dataclass(frozen=True)
class KeySpace:
    """Key space: ``client_code * span + (day - base)``; days outside are clipped."""

    base: int
    span: int

    def keys(self, codes: np.ndarray, days: np.ndarray) -> np.ndarray:
        offset = np.clip(days - self.base, 0, self.span - 1).astype(np.int64)
        return codes.astype(np.int64) * self.span + offset

    def client_floor(self, codes: np.ndarray) -> np.ndarray:
        return codes.astype(np.int64) * self.span


# 1800-01-01 .. 2199-12-31 as day numbers, far beyond any valid record.
KEY_SPACE: Final = KeySpace(base=-62_091, span=62_091 + 84_005 + 1)


@dataclass(frozen=True)
class QueryPoints:
    """Query points: client codes, day numbers and their keys."""

    codes: np.ndarray
    days: np.ndarray
    keys: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray, days: np.ndarray) -> QueryPoints:
        return cls(codes, days, KEY_SPACE.keys(codes, days))


class SortedEvents:
    """Events (client code, day, payload) sorted by key; rows with no day dropped."""

    def __init__(
        self, n_clients: int, codes: np.ndarray, days: np.ndarray, **payload: np.ndarray
    ) -> None:
        keep = ~np.isnan(days)
        keys = KEY_SPACE.keys(codes[keep], days[keep])
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.codes = codes[keep][order]
        self.days = days[keep][order]
        self.payload = {name: values[keep][order] for name, values in payload.items()}
        # index of each client's first event (or where it would be)
        self.client_first = np.searchsorted(self.keys, KEY_SPACE.client_floor(np.arange(n_clients)))

    def __len__(self) -> int:
        return len(self.keys)

    def before(self, points: QueryPoints) -> tuple[np.ndarray, np.ndarray]:
        """Index range [lo, hi) of each point's client's events with day < d."""
        lo = self.client_first[points.codes]
        hi = np.searchsorted(self.keys, points.keys, side="left")
        return lo, hi

    def count_before(self, points: QueryPoints) -> np.ndarray:
        lo, hi = self.before(points)
        return hi - lo

    def count_between(self, codes: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Number of the client's events with first <= day <= last."""
        lo = np.searchsorted(self.keys, KEY_SPACE.keys(codes, first), side="left")
        hi = np.searchsorted(self.keys, KEY_SPACE.keys(codes, last), side="right")
        return hi - lo

    def first_from(
        self, codes: np.ndarray, days: np.ndarray, *, strictly_after: bool = False
    ) -> np.ndarray:
        """Day of each point's client's first event on (or strictly after) its day; inf if none."""
        index = np.searchsorted(
            self.keys, KEY_SPACE.keys(codes, days), side="right" if strictly_after else "left"
        )
        found = np.full(len(codes), np.inf)
        inside = index < len(self.keys)
        same_client = inside.copy()
        same_client[inside] = self.codes[index[inside]] == codes[inside]
        found[same_client] = self.days[index[same_client]]
        return found

    def cumulative(self, values: np.ndarray) -> np.ndarray:
        """Prefix sums of `values` over the sorted events, starting with 0."""
        return np.concatenate([[0], np.cumsum(values)])
