"""The state of clients on their paths, and the randomness drawn up front."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STATE_FIELDS = (
    "c",
    "t",
    "k",
    "completed",
    "n_interrupted",
    "n_services",
    "n_reviews",
    "last_service",
    "last_status",
    "last_end",
    "lang_obs",
    "lang_true",
    "unemp_days",
    "persist_e",
    "persist_u",
)


@dataclass
class State:
    """Dynamic state of a batch of walkers (a client at a time, on a path)."""

    c: np.ndarray  # client index
    t: np.ndarray  # current day (int64)
    k: np.ndarray  # epoch (index into the per-epoch noise)
    completed: np.ndarray  # (n, S) completed episodes per service
    n_interrupted: np.ndarray
    n_services: np.ndarray
    n_reviews: np.ndarray
    last_service: np.ndarray  # -1: none
    last_status: np.ndarray  # 0 completed, 1 interrupted, -1 none
    last_end: np.ndarray  # float day, NaN none
    lang_obs: np.ndarray  # float rank, NaN unknown
    lang_true: np.ndarray  # int rank
    unemp_days: np.ndarray  # float
    persist_e: np.ndarray
    persist_u: np.ndarray

    def take(self, idx: np.ndarray) -> State:
        return State(**{name: getattr(self, name)[idx].copy() for name in STATE_FIELDS})

    def put(self, idx: np.ndarray, other: State) -> None:
        for name in STATE_FIELDS:
            getattr(self, name)[idx] = getattr(other, name)

    def __len__(self) -> int:
        return len(self.c)


@dataclass
class Noise:
    """Pre-drawn randomness per client and epoch, shared by every counterfactual."""

    gumbel: np.ndarray  # (n, K, A) float32
    duration_z: np.ndarray  # (n, K)
    interrupt_u: np.ndarray
    interrupt_frac: np.ndarray
    lang_u: np.ndarray
    gap: np.ndarray  # days from a service's end to the next review
    review_interval: np.ndarray  # days to the next review after "no new service"
    wait_u: np.ndarray
    record_u: np.ndarray
