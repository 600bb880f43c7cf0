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
    col = np.asarray(column)
    if col.ndim != 1:
        col = col.reshape(-1)
    try:
        if kind == "categorical":
            return _categories(col)
        values = _floats(col, cefr=name in CEFR_FEATURES)
    except (TypeError, ValueError):
        raise DataContractError(
            f"service {service!r}: feature {name!r} should be {kind} but has values such as "
            f"{_sample(col)}"
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


def _floats(col: np.ndarray, *, cefr: bool) -> np.ndarray:
    if col.dtype.kind in "fiub":
        return np.asarray(col, dtype=np.float64)  # no copy when already float64
    if col.dtype.kind in "OUS":
        out = np.empty(col.shape, dtype=np.float64)
        missing = pd.isna(col)
        for i, v in enumerate(col):
            out[i] = np.nan if missing[i] else _float(v, cefr=cefr)
        return out
    raise TypeError(col.dtype)


def _float(v: object, *, cefr: bool) -> float:
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str):
        word = v.strip()
        if not word or word == UNKNOWN:
            return np.nan
        if cefr:
            return float(CEFR_RANK.get(word.upper(), np.nan))  # `unknown` is missing
        lowered = word.lower()
        if lowered in ("true", "false"):
            return float(lowered == "true")
        return float(word)
    return float(v)  # type: ignore[arg-type]


def _categories(col: np.ndarray) -> PreparedColumn:
    if col.dtype.kind == "U":
        # Fixed-width text has no None or NaN; strip only when needed.
        if len(col) and (np.char.startswith(col, " ").any() or np.char.endswith(col, " ").any()):
            col = np.char.strip(col)
        return col, (col != "") & (col != UNKNOWN)
    missing = np.asarray(pd.isna(col), dtype=bool)
    texts = np.char.strip(np.where(missing, "", col).astype(str))
    return texts, (texts != "") & (texts != UNKNOWN)


def _sample(col: np.ndarray) -> str:
    return ", ".join(repr(v) for v in col[:3].tolist())


def row_count(
    prepared: Mapping[str, PreparedColumn], columns: Columns, n_rows: int | None, service: str
) -> int:
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
