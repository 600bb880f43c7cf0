"""The state of clients on their paths, and the randomness drawn up front."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STATE_FIELDS = (
    "client",
    "day",
    "epoch",
    "completed",
    "n_interrupted",
    "n_services",
    "n_reviews",
    "last_service",
    "last_status",
    "last_end",
    "finnish_observed",
    "finnish_true",
    "unemployed_days",
    "lasting_employment",
    "lasting_education",
)


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
    lasting_employment: np.ndarray
    lasting_education: np.ndarray

    def take(self, idx: np.ndarray) -> State:
        return State(**{name: getattr(self, name)[idx].copy() for name in STATE_FIELDS})

    def put(self, idx: np.ndarray, other: State) -> None:
        for name in STATE_FIELDS:
            getattr(self, name)[idx] = getattr(other, name)

    def __len__(self) -> int:
        return len(self.client)


@dataclass
class Noise:
    """Pre-drawn randomness per client and epoch, shared by every counterfactual."""

    gumbel: np.ndarray  # (n, K, A) float32
    duration_normal: np.ndarray  # (n, K)
    interrupt_uniform: np.ndarray
    interrupt_fraction: np.ndarray
    language_uniform: np.ndarray
    gap: np.ndarray  # days from a service's end to the next review
    review_interval: np.ndarray  # days to the next review after "no new service"
    wait_uniform: np.ndarray
    record_uniform: np.ndarray
