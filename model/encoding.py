"""Turning decision-point features into the numeric matrix the learners use.

The encoder is fitted once on training data and then stays fixed: category
values get integer codes (an unseen value becomes missing), booleans 0/1,
numbers pass through. Everything it learned is plain JSON, so a served model
can rebuild it without pickles, and encoding one client is a few dictionary
look-ups rather than pandas work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from model.errors import NotFittedError
from model.features import Feature

MISSING_CODE = np.nan


@dataclass
class FeatureEncoder:
    """Encode decision-point features into a float32 matrix for LightGBM."""

    features: Sequence[Feature]
    exclude: Sequence[str] = ()
    columns_: list[str] = field(default_factory=list, init=False)
    kinds_: dict[str, str] = field(default_factory=dict, init=False)
    sources_: dict[str, str] = field(default_factory=dict, init=False)
    vocabularies_: dict[str, list[str]] = field(default_factory=dict, init=False)
    _lookup: dict[str, dict[str, float]] = field(default_factory=dict, init=False, repr=False)

    def fit(self, frame: pd.DataFrame) -> FeatureEncoder:
        excluded = set(self.exclude)
        self.columns_ = []
        self.kinds_ = {}
        self.sources_ = {}
        self.vocabularies_ = {}
        for feature in self.features:
            if feature.name in excluded:
                continue
            self.columns_.append(feature.name)
            self.kinds_[feature.name] = feature.kind
            self.sources_[feature.name] = feature.source or feature.name
            if feature.kind == "categorical":
                values = frame[feature.name] if feature.name in frame else pd.Series(dtype=object)
                seen = sorted({str(v) for v in values.dropna().unique()})
                self.vocabularies_[feature.name] = seen
        self._build_lookup()
        return self

    def _build_lookup(self) -> None:
        self._lookup = {
            name: {value: float(code) for code, value in enumerate(vocab)}
            for name, vocab in self.vocabularies_.items()
        }

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, name in enumerate(self.columns_) if self.kinds_[name] == "categorical"]

    def _check(self) -> None:
        if not self.columns_:
            raise NotFittedError("FeatureEncoder is not fitted; call fit() first")

    def transform(self, frame: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """Encode rows (a DataFrame or a mapping of column name to array-like)."""
        self._check()
        n = len(frame) if isinstance(frame, pd.DataFrame) else len(next(iter(frame.values())))
        out = np.full((n, len(self.columns_)), np.nan, dtype=np.float32)
        for j, name in enumerate(self.columns_):
            if name not in frame:
                continue
            column = frame[name]
            kind = self.kinds_[name]
            if kind == "categorical":
                lookup = self._lookup[name]
                values = column.to_numpy(dtype=object) if isinstance(column, pd.Series) else column
                out[:, j] = [
                    lookup.get(str(v), MISSING_CODE) if v is not None else MISSING_CODE
                    for v in values
                ]
            else:
                out[:, j] = _as_float(column)
        return out

    def encode_row(self, row: Mapping[str, Any]) -> np.ndarray:
        """Encode one decision point given as a mapping (the API's fast path)."""
        self._check()
        out = np.empty(len(self.columns_), dtype=np.float32)
        for j, name in enumerate(self.columns_):
            value = row.get(name)
            if self.kinds_[name] == "categorical":
                out[j] = (
                    self._lookup[name].get(str(value), MISSING_CODE)
                    if value is not None
                    else MISSING_CODE
                )
            else:
                out[j] = _scalar_float(value)
        return out

    def decode_value(self, name: str, value: float) -> Any:
        """A column's encoded value back in the client's own terms, for explanations."""
        if value != value:  # NaN
            return None
        if self.kinds_.get(name) == "categorical":
            vocab = self.vocabularies_[name]
            code = int(value)
            return vocab[code] if 0 <= code < len(vocab) else None
        if self.kinds_.get(name) == "boolean":
            return bool(value >= 0.5)
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {
            "columns": self.columns_,
            "kinds": self.kinds_,
            "sources": self.sources_,
            "vocabularies": self.vocabularies_,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureEncoder:
        encoder = cls(features=())
        encoder.columns_ = list(data["columns"])
        encoder.kinds_ = dict(data["kinds"])
        encoder.sources_ = dict(data["sources"])
        encoder.vocabularies_ = {k: list(v) for k, v in data["vocabularies"].items()}
        encoder._build_lookup()
        return encoder


def _as_float(column: Any) -> np.ndarray:
    if isinstance(column, pd.Series):
        if column.dtype == bool or str(column.dtype) == "boolean":
            return column.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    array = np.asarray(column)
    if array.dtype.kind in "fiub":
        return array.astype(np.float64)
    return np.asarray([_scalar_float(v) for v in array], dtype=np.float64)


def _scalar_float(value: Any) -> float:
    if value is None:
        return np.nan
    if isinstance(value, bool | np.bool_):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan
