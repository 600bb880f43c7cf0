"""Input columns as numpy arrays: every date a day number, every category a clean string.

- Dates are whole calendar days since 1970-01-01 as float64, NaN where
  missing (a time of day is dropped, a time zone ignored).
- Categorical fields are strings; missing or empty values become `unknown`.
- Yes/no fields are 1.0 / 0.0, NaN when missing.
- Finnish levels are CEFR ranks, A0=0 .. C2=6, NaN when unknown.

Python runs once per distinct value of a categorical column, never per row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Final

import numpy as np
import pandas as pd

from model.errors import DataContractError
from model.vocab import CEFR_RANK, UNKNOWN

EPOCH: Final = np.datetime64("1970-01-01", "D")


def day_numbers(values: pd.Series) -> np.ndarray:
    """Whole days since 1970-01-01 as float64; NaN where missing."""
    if len(values) == 0:
        return np.empty(0, dtype=float)
    converted = pd.to_datetime(values)
    if isinstance(converted.dtype, pd.DatetimeTZDtype):
        converted = converted.dt.tz_localize(None)
    raw = converted.to_numpy()
    missing = np.isnat(raw)
    out = (raw.astype("datetime64[D]") - EPOCH).astype(np.int64).astype(float)
    out[missing] = np.nan
    return out


def day_number(value: date) -> float:
    """One date as a day number."""
    return float((np.datetime64(value, "D") - EPOCH).astype(np.int64))


def datetimes(days: np.ndarray) -> np.ndarray:
    """Day numbers as datetime64[ns] (NaT for NaN)."""
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[ns]")
    known = ~np.isnan(days)
    out[known] = (EPOCH + days[known].astype(np.int64)).astype("datetime64[ns]")
    return out


def string_array(
    vocab: Sequence[object] | np.ndarray, index: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """vocab[index] as a pandas string array; index -1 gives a missing value."""
    return pd.array(np.asarray(vocab, dtype=object), dtype="str").take(index, allow_fill=True)


def map_distinct(
    values: pd.Series | np.ndarray, fn: Callable[[object], object], missing: object, dtype: type
) -> np.ndarray:
    """fn applied to each distinct value (missing ones get `missing`), spread back to rows."""
    codes, uniques = pd.factorize(values)
    table: np.ndarray = np.array(
        [fn(unique) for unique in np.asarray(uniques, dtype=object)] + [missing], dtype=dtype
    )
    return table[codes]  # code -1 (missing) takes the last entry


def _clean_text(value: object) -> str:
    text = str(value).strip()
    return text if text else UNKNOWN


def categories(values: pd.Series | np.ndarray) -> np.ndarray:
    """Strings as an object array; missing or empty -> 'unknown'."""
    return map_distinct(values, _clean_text, UNKNOWN, object)


def numbers(series: pd.Series) -> np.ndarray:
    """A numeric column as float64; NaN where missing or not a number."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


_TRUTH: Final[Mapping[str, float]] = {
    "true": 1.0,
    "false": 0.0,
    "yes": 1.0,
    "no": 0.0,
    "1": 1.0,
    "0": 0.0,
}


def _truth(value: object) -> float:
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.number):
        return float(value != 0)
    if isinstance(value, str):
        return _TRUTH.get(value.strip().lower(), np.nan)
    return np.nan


def booleans(series: pd.Series) -> np.ndarray:
    """A yes/no column as float 1.0 / 0.0, NaN where missing."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return np.where(np.isnan(values), np.nan, (values != 0).astype(float))
    return map_distinct(series, _truth, np.nan, float)


def _cefr_rank(value: object) -> float:
    return float(CEFR_RANK.get(value.strip(), np.nan)) if isinstance(value, str) else np.nan


def cefr_ranks(values: pd.Series) -> np.ndarray:
    """CEFR levels as ranks A0=0 .. C2=6; NaN for unknown or missing."""
    return map_distinct(values, _cefr_rank, np.nan, float)


def _planned_action(value: object) -> object:
    text = str(value).strip()
    return None if text in ("", UNKNOWN) else text


def planned_actions(values: pd.Series) -> np.ndarray:
    """A review's `planned_service` as an object array; None where not recorded."""
    return map_distinct(values, _planned_action, None, object)


def require_columns(frame: pd.DataFrame, columns: Sequence[str], table: str) -> None:
    """`DataContractError` naming the columns of `columns` that `frame` lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataContractError(f"{table}: missing column(s) {', '.join(missing)}")
