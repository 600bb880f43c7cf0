"""The label of each decision and its censoring (docs/data.md, 6.3 and 6.4).

Label: 1.0 if a spell whose status is in `config.target_statuses` starts
0..horizon_days days after the decision date (both ends inclusive), else
0.0. Censored, with label NaN, when decision_date + horizon_days is after the
extract date (`config.extract_date`, by default the latest date in the three
tables).
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
) -> tuple[np.ndarray, np.ndarray]:
    """(label, censored) of the decisions (client code, day); label NaN where censored."""
    horizon = config.horizon_days
    targets = histories.target_starts(config.target_statuses)
    label = (targets.count_between(codes, days, days + horizon) > 0).astype(float)
    with np.errstate(invalid="ignore"):
        censored = ~(days + horizon <= extract_day)
    label[censored] = np.nan
    return label, censored
