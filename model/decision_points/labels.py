"""The label of each decision and its censoring (docs/data.md, 6.3 and 6.4).

Label: 1.0 if a spell whose status is in `config.target_statuses` starts
0..horizon_days days after the decision's time zero (both ends inclusive),
else 0.0. Censored, with label NaN, when time zero + horizon_days is after
the extract date (`config.extract_date`, by default the latest date in the
three tables).

Time zero is the decision date, except for a review read as
`no_new_service` because nothing started within its window (an inferred
action): its time zero is the window's end. Only then is the action known,
and only clients with no outcome in the window are read that way, so
counting from the review would give that action a window shortened by
`review_window_days` while each service's window starts at its start, when
its client, too, is known to be still looking. Counting from the window's
end is the grace period of a target-trial emulation (Hernán & Robins 2016,
"Using big data to emulate a target trial when a randomized trial is not
available", Am J Epidemiol 183:758; Hernán et al. 2016, "Specifying a
target trial prevents immortal time bias and other self-inflicted injuries
in observational analyses", J Clin Epidemiol 79:70): both arms are compared
from the day their action is fixed, among clients without an outcome by
then.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from model.config import RunConfig
from model.decision_points.histories import ClientHistories


def extract_date(histories: ClientHistories, config: RunConfig) -> date | None:
    """The last day the data covers: the configured one, else the latest date in the tables."""
    return config.extract_date if config.extract_date is not None else histories.latest_date()


def labels(
    histories: ClientHistories,
    codes: np.ndarray,
    days: np.ndarray,
    *,
    config: RunConfig,
    extract_day: float,
    inferred: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(label, censored) of the decisions (client code, day); label NaN where censored.

    `inferred` marks the reviews read as `no_new_service`, counted from the
    end of their window (see the module docstring).
    """
    horizon = config.horizon_days
    zero = days if inferred is None else days + np.where(inferred, config.review_window_days, 0)
    targets = histories.target_starts(config.target_statuses)
    label = (targets.count_between(codes, zero, zero + horizon) > 0).astype(float)
    with np.errstate(invalid="ignore"):
        censored = ~(zero + horizon <= extract_day)
    label[censored] = np.nan
    return label, censored
