"""Population stability of each input feature: the decisions' clients against the training data.

The population stability index of a feature compares the share of the
training rows (`expected`) and of the decisions (`actual`) in each bin:

    PSI = sum over bins of (actual − expected) · ln(actual / expected)

Numeric features are cut at the deciles of the training data; categorical
ones keep their 20 commonest training values, the rest pooled, missing
values a bin of their own. Shares are floored at 0.0001 so an empty bin
does not give an infinite index. The usual reading (Siddiqi 2006, *Credit
Risk Scorecards*; Yurdakul 2018, "Statistical properties of the population
stability index"): below 0.1 stable, 0.1–0.25 a moderate shift worth
watching, above 0.25 a major shift.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from model.json_values import json_number

FLOOR: Final = 1e-4
MODERATE: Final = 0.1
MAJOR: Final = 0.25


def _shares(codes: np.ndarray, n_bins: int) -> np.ndarray:
    counts = np.bincount(codes, minlength=n_bins).astype(float)
    return np.maximum(counts / max(counts.sum(), 1.0), FLOOR)


def psi(expected: pd.Series, actual: pd.Series) -> float:
    """The population stability index of one feature (see the module docstring)."""
    if _numeric(expected):
        numbers_e = pd.to_numeric(expected, errors="coerce").to_numpy(float)
        numbers_a = pd.to_numeric(actual, errors="coerce").to_numpy(float)
        finite = numbers_e[~np.isnan(numbers_e)]
        edges = (
            np.unique(np.quantile(finite, np.linspace(0.1, 0.9, 9)))
            if finite.size
            else np.array([])
        )

        def codes(v: np.ndarray) -> np.ndarray:
            return np.where(np.isnan(v), len(edges) + 1, np.searchsorted(edges, v, side="right"))

        n_bins = len(edges) + 2
        e_codes, a_codes = codes(numbers_e), codes(numbers_a)
    else:
        text_e = expected.astype(object).where(expected.notna(), "\0missing").astype(str)
        text_a = actual.astype(object).where(actual.notna(), "\0missing").astype(str)
        top = pd.Index(text_e.value_counts().index[:20])
        n_bins = len(top) + 1
        e_codes = np.where((i := top.get_indexer(text_e)) < 0, len(top), i)
        a_codes = np.where((j := top.get_indexer(text_a)) < 0, len(top), j)
    e, a = _shares(e_codes, n_bins), _shares(a_codes, n_bins)
    return float(np.sum((a - e) * np.log(a / e)))


def _numeric(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return True
    present = values.dropna()
    return bool(len(present)) and not any(isinstance(v, str) for v in present.iloc[:200])


def level(value: float) -> str:
    """stable, moderate or major (see the module docstring)."""
    if value > MAJOR:
        return "major"
    return "moderate" if value > MODERATE else "stable"


def feature_drift(reference: pd.DataFrame, current: pd.DataFrame) -> list[dict[str, Any]]:
    """PSI of every feature both frames have, largest first."""
    out = []
    for column in sorted(set(reference.columns) & set(current.columns)):
        value = psi(reference[column], current[column])
        out.append({"feature": column, "psi": json_number(value, 6), "level": level(value)})
    return sorted(out, key=lambda d: -(d["psi"] or 0.0))
