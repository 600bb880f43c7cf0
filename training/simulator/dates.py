"""Days as integers since 1970-01-01, and back to dates.

The simulator counts time in whole days so that every step is integer
arithmetic on arrays; dates appear only in the written tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_EPOCH = np.datetime64("1970-01-01", "D")


def day_number(iso: str) -> int:
    """The day number of an ISO date."""
    return int((np.datetime64(iso, "D") - _EPOCH).astype(np.int64))


def year_of(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype="datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def month_of(days: np.ndarray) -> np.ndarray:
    dates = np.asarray(days, dtype="datetime64[D]")
    return (dates.astype("datetime64[M]").astype(np.int64) % 12) + 1


def to_dates(days: np.ndarray, missing: int | None = None) -> pd.Series:
    """Day numbers as datetimes; `missing` marks days to leave empty."""
    values = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]")
    series = pd.Series(values)
    if missing is not None:
        series = series.where(np.asarray(days) != missing)
    return series
