"""Columns of decision-point features in the form a rule compares: values and presence.

Missing values (NaN, None, pandas NA, empty text and the contract's
``unknown``) are marked absent, so that a comparison on them is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from model.errors import DataContractError
from model.features import FeatureKind
from model.vocab import CEFR_RANK, UNKNOWN

# Features whose values are CEFR ranks: bare CEFR levels in a rule compare against
# them, and levels written as text in the data are read as their ranks.
CEFR_FEATURES: Final = frozenset({"finnish_level", "finnish_level_intake"})

# Feature columns by name, as the caller has them: arrays, Series or lists.
Columns = Mapping[str, Any]
# A prepared column: its values and which rows have a value.
PreparedColumn = tuple[np.ndarray, np.ndarray]


def prepare_column(name: str, kind: FeatureKind, column: object, service: str) -> PreparedColumn:
    """Values and presence of one feature column, in the form its comparisons use.

    Numeric, CEFR and yes/no features become floats with NaN for missing
    (yes/no as 1.0 / 0.0; CEFR levels written as text become their ranks).
    Categories become text, with missing values (None, NaN, NA, empty text)
    marked absent.
    """
    array = np.asarray(column)
    if array.ndim != 1:
        array = array.reshape(-1)
    try:
        if kind == "categorical":
            return _categories(array)
        values = _floats(array, cefr=name in CEFR_FEATURES)
    except (TypeError, ValueError):
        raise DataContractError(
            f"service {service!r}: feature {name!r} should be {kind} but has values such as "
            f"{_sample(array)}"
        ) from None
    if kind == "boolean":
        present = ~np.isnan(values)
        if not np.isin(values[present], (0.0, 1.0)).all():
            raise DataContractError(
                f"service {service!r}: feature {name!r} should be yes/no but has values such as "
                f"{_sample(values[present & ~np.isin(values, (0.0, 1.0))])}"
            )
        return values, present
    return values, ~np.isnan(values)


def _floats(array: np.ndarray, *, cefr: bool) -> np.ndarray:
    if array.dtype.kind in "fiub":
        return np.asarray(array, dtype=np.float64)  # no copy when already float64
    if array.dtype.kind in "OUS":
        out = np.empty(array.shape, dtype=np.float64)
        missing = pd.isna(array)
        for row, value in enumerate(array):
            out[row] = np.nan if missing[row] else _float(value, cefr=cefr)
        return out
    raise TypeError(array.dtype)


def _float(value: object, *, cefr: bool) -> float:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        word = value.strip()
        if not word or word == UNKNOWN:
            return np.nan
        if cefr:
            return float(CEFR_RANK.get(word.upper(), np.nan))  # `unknown` is missing
        lowered = word.lower()
        if lowered in ("true", "false"):
            return float(lowered == "true")
        return float(word)
    return float(value)  # type: ignore[arg-type]


def _categories(array: np.ndarray) -> PreparedColumn:
    if array.dtype.kind == "U":
        # Fixed-width text has no None or NaN; strip only when needed.
        if len(array) and (
            np.char.startswith(array, " ").any() or np.char.endswith(array, " ").any()
        ):
            array = np.char.strip(array)
        return array, (array != "") & (array != UNKNOWN)
    missing = np.asarray(pd.isna(array), dtype=bool)
    texts = np.char.strip(np.where(missing, "", array).astype(str))
    return texts, (texts != "") & (texts != UNKNOWN)


def _sample(array: np.ndarray) -> str:
    return ", ".join(repr(value) for value in array[:3].tolist())


def row_count(
    prepared: Mapping[str, PreparedColumn], columns: Columns, n_rows: int | None, service: str
) -> int:
    """How many rows the columns have: `n_rows` when given; every column read must agree."""
    lengths = {name: len(values) for name, (values, _) in prepared.items()}
    if n_rows is None:
        if lengths:
            n_rows = next(iter(lengths.values()))
        elif columns:
            n_rows = len(next(iter(columns.values())))
        else:
            n_rows = 1
    wrong = sorted(name for name, length in lengths.items() if length != n_rows)
    if wrong:
        raise DataContractError(
            f"service {service!r}: feature column(s) {wrong} do not have {n_rows} rows"
        )
    return n_rows
