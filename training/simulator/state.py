"""Clients on their paths, and the randomness their paths are drawn from.

A `State` holds a batch of *walkers*: each is one client at one point of a
path through services (the history as it happened, or a counterfactual path
that `truth` follows). Every field is an array with one entry per walker, so
the whole caseload moves one epoch at a time.

`Noise` is the randomness of a path other than its two event clocks, drawn
up front for every client and epoch. Because a counterfactual path reads the
same draws as the history (or as one of the truth's fresh replicates), paths
that differ only in the first action differ only because of that action.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np


@dataclass
class State:
    """Dynamic state of a batch of walkers (a client at a time, on a path)."""

    client: np.ndarray  # index into the profiles
    day: np.ndarray  # current day (int64)
    epoch: np.ndarray  # index into the per-epoch noise
    completed: np.ndarray  # (n, S) completed episodes per service
    n_interrupted: np.ndarray
    n_services: np.ndarray
    n_reviews: np.ndarray
    last_service: np.ndarray  # -1: none
    last_status: np.ndarray  # 0 completed, 1 interrupted, -1 none
    last_end: np.ndarray  # float day, NaN none
    finnish_observed: np.ndarray  # float rank, NaN unknown
    finnish_true: np.ndarray  # int rank
    unemployed_days: np.ndarray  # float
    lasting_employment: np.ndarray  # log-hazard increments left by completed services
    lasting_education: np.ndarray

    def take(self, rows: np.ndarray) -> State:
        """A copy of the walkers at `rows`."""
        return State(**{name: getattr(self, name)[rows].copy() for name in STATE_FIELDS})

    def put(self, rows: np.ndarray, other: State) -> None:
        """Write `other`'s walkers back into `rows`."""
        for name in STATE_FIELDS:
            getattr(self, name)[rows] = getattr(other, name)

    def __len__(self) -> int:
        return len(self.client)


STATE_FIELDS = tuple(field.name for field in dataclasses.fields(State))


def concatenate(states: list[State]) -> State:
    """The walkers of several states, one after the other."""
    return State(
        **{name: np.concatenate([getattr(s, name) for s in states]) for name in STATE_FIELDS}
    )


@dataclass
class Noise:
    """Pre-drawn randomness per client and epoch, shared by every counterfactual."""

    gumbel: np.ndarray  # (n, K, A) float32: the caseworker's choice among the actions
    duration_normal: np.ndarray  # (n, K)
    interrupt_uniform: np.ndarray
    interrupt_fraction: np.ndarray  # share of the service done when interrupted
    language_uniform: np.ndarray
    gap: np.ndarray  # days from a service's end to the next review
    review_interval: np.ndarray  # days to the next review after "no new service"
    wait_uniform: np.ndarray
    record_uniform: np.ndarray  # whether the review's planned service is recorded


def draw_noise(n_clients: int, max_epochs: int, n_actions: int, rng: np.random.Generator) -> Noise:
    """One draw of all per-client, per-epoch randomness."""
    shape = (n_clients, max_epochs)
    return Noise(
        gumbel=-np.log(
            -np.log(rng.random((*shape, n_actions), dtype=np.float32) + np.float32(1e-12))
        ),
        duration_normal=rng.standard_normal(shape).astype(np.float32),
        interrupt_uniform=rng.random(shape).astype(np.float32),
        interrupt_fraction=rng.uniform(0.15, 0.85, shape).astype(np.float32),
        language_uniform=rng.random(shape).astype(np.float32),
        gap=rng.integers(1, 31, shape).astype(np.int32),
        review_interval=rng.integers(75, 150, shape).astype(np.int32),
        wait_uniform=rng.random(shape).astype(np.float32),
        record_uniform=rng.random(shape).astype(np.float32),
    )
