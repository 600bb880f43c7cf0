"""Which moments are decisions, and the action taken at each (docs/data.md, 6.1 and 6.2).

Decisions (w = config.review_window_days, all windows inclusive):

- each non-review episode start; the action is its service;
- each review with no non-review episode starting in [r, r + w]. Its action
  is the review's `planned_service` when recorded (non-empty, not
  `unknown`). Otherwise the action is unknown (`action_known` False; not a
  training row for any action's outcome model) when an outcome spell other
  than `unemployed` starts in [r, r + w] (reverse causation: the client found
  work or education while waiting), or when r + w is after the extract date
  (the window is not fully observed); else `no_new_service`.

`action_source` says where each action came from: `service_start`,
`planned_service` (a review's recorded plan), `inferred` (a review read as
`no_new_service` because nothing started within the window) or `unknown`.
Inferred actions are biased towards failure: the reviews whose window an
outcome cut short are unknown, so only successes are lost from them. The
training pipeline uses this column to leave them out where plans are
recorded. Recorded service plans lean the other way: such a review is a
decision only when the service did not start within the window, so for a
short wait it is mostly an early success. They stay, as the only examples
of a service chosen at a review; leaving them out or thinning them ranked
worse on generated worlds (docs/data.md, 6.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from model.decision_points.histories import ClientHistories
from model.vocab import NO_NEW_SERVICE

# Where a decision point's action comes from (the `action_source` column).
SOURCE_SERVICE_START: Final = "service_start"  # the service that started
SOURCE_PLANNED: Final = "planned_service"  # a review's recorded planned_service
SOURCE_INFERRED: Final = "inferred"  # a review read as no_new_service: nothing started
SOURCE_UNKNOWN: Final = "unknown"  # a review whose action cannot be known
ACTION_SOURCES: Final = (SOURCE_SERVICE_START, SOURCE_PLANNED, SOURCE_INFERRED, SOURCE_UNKNOWN)


@dataclass(frozen=True)
class Decisions:
    """The decisions in input order: service starts first, then the reviews that are decisions.

    `kinds` is 0 for a service start and 1 for a review; `actions` holds the
    action (None when unknown) and `sources` the index of its source in
    `ACTION_SOURCES`.
    """

    codes: np.ndarray
    days: np.ndarray
    kinds: np.ndarray
    actions: np.ndarray
    sources: np.ndarray


def find_decisions(histories: ClientHistories, *, window: int, extract_day: float) -> Decisions:
    """Every service start, and every review not followed by one within `window` days."""
    # every service start
    service_rows = ~histories.episode_is_review
    start_codes = histories.episode_code[service_rows]
    start_days = histories.episode_start[service_rows]
    start_actions = histories.episode_service[service_rows]

    # reviews not followed by a service start within the window
    review_rows = histories.episode_is_review
    review_codes = histories.episode_code[review_rows]
    review_days = histories.episode_start[review_rows]
    window_end = review_days + window
    followed = histories.service_starts.count_between(review_codes, review_days, window_end) > 0
    cut_short = (
        histories.non_unemployed_starts.count_between(review_codes, review_days, window_end) > 0
    )
    with np.errstate(invalid="ignore"):
        incomplete = ~(window_end <= extract_day)
    review_actions = np.full(len(review_codes), None, dtype=object)  # None: unknown
    review_sources = np.full(len(review_codes), ACTION_SOURCES.index(SOURCE_UNKNOWN), dtype=np.int8)
    inferred = ~(cut_short | incomplete)
    review_actions[inferred] = NO_NEW_SERVICE
    review_sources[inferred] = ACTION_SOURCES.index(SOURCE_INFERRED)
    planned = histories.episode_planned[review_rows]
    recorded = pd.notna(planned)
    review_actions[recorded] = planned[recorded]
    review_sources[recorded] = ACTION_SOURCES.index(SOURCE_PLANNED)
    keep = ~followed

    n_starts = len(start_codes)
    return Decisions(
        codes=np.concatenate([start_codes, review_codes[keep]]).astype(np.int64),
        days=np.concatenate([start_days, review_days[keep]]),
        kinds=np.concatenate([np.zeros(n_starts, np.int8), np.ones(int(keep.sum()), np.int8)]),
        actions=np.concatenate([start_actions, review_actions[keep]]).astype(object),
        sources=np.concatenate(
            [
                np.full(n_starts, ACTION_SOURCES.index(SOURCE_SERVICE_START), np.int8),
                review_sources[keep],
            ]
        ),
    )
