"""LightGBM predictions on a few rows, without the Python wrapper's per-call set-up.

`lightgbm.Booster.predict` builds a fresh predictor object on every call
(asking the library for the number of classes, formatting a parameter
string, checking the input's type), which for the few candidate rows of one
request costs about as much as walking the trees, and a request makes several such
calls (bench/RESULTS.md has the timings). `raw_scores` and `contributions`
call the library's documented C function `LGBM_BoosterPredictForMat`
directly with what was worked out once per booster.

Nothing is trusted blindly: the first call for a booster compares this path
with `Booster.predict` on the rows it was given (at most `CHECKED_ROWS` of
them, spread over the batch: a row's answer does not depend on the others,
and a batch of every decision point would otherwise be predicted twice),
and a booster whose answers differ in any bit (or a LightGBM without the
expected internals) keeps using `Booster.predict`.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from collections.abc import Callable
from typing import Final

import lightgbm as lgb
import numpy as np

_RAW: Final = 1  # C_API_PREDICT_RAW_SCORE
_CONTRIB: Final = 3  # C_API_PREDICT_CONTRIB
_FLOAT64: Final = 1  # C_API_DTYPE_FLOAT64
CHECKED_ROWS: Final = 256

# The library handle and its error check; None in an unexpected LightGBM.
_LIB: ctypes.CDLL | None
_safe_call: Callable[[int], None] | None
try:
    from lightgbm.basic import _LIB, _safe_call
except ImportError:  # pragma: no cover - depends on the installed LightGBM
    _LIB = None
    _safe_call = None


class _Plan:
    __slots__ = ("checked", "n_features", "n_outputs", "parameter", "usable")

    def __init__(self, booster: lgb.Booster, num_threads: int) -> None:
        self.n_outputs = int(booster.num_model_per_iteration())
        self.n_features = int(booster.num_feature())
        self.parameter = f"num_threads={int(num_threads)}".encode()
        self.checked: set[int] = set()
        self.usable = _LIB is not None and getattr(booster, "_handle", None) is not None


_plans: weakref.WeakKeyDictionary[lgb.Booster, dict[int, _Plan]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _plan(booster: lgb.Booster, num_threads: int) -> _Plan:
    by_threads = _plans.get(booster)
    if by_threads is None or num_threads not in by_threads:
        with _lock:
            by_threads = _plans.setdefault(booster, {})
            by_threads.setdefault(num_threads, _Plan(booster, num_threads))
    return by_threads[num_threads]


def _call(booster: lgb.Booster, plan: _Plan, X: np.ndarray, kind: int) -> np.ndarray:
    n, m = X.shape
    width = plan.n_outputs * (m + 1) if kind == _CONTRIB else plan.n_outputs
    out = np.empty(n * width, dtype=np.float64)
    written = ctypes.c_int64(0)
    _safe_call(  # type: ignore[misc]
        _LIB.LGBM_BoosterPredictForMat(  # type: ignore[union-attr]
            booster._handle,
            X.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            ctypes.c_int(_FLOAT64),
            ctypes.c_int32(n),
            ctypes.c_int32(m),
            ctypes.c_int(1),  # row major
            ctypes.c_int(kind),
            ctypes.c_int(0),  # from the first iteration
            ctypes.c_int(-1),  # through the last
            ctypes.c_char_p(plan.parameter),
            ctypes.byref(written),
            out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        )
    )
    if written.value != out.size:
        raise RuntimeError(f"LightGBM wrote {written.value} values, expected {out.size}")
    return out if width == 1 else out.reshape(n, width)


def _predict(booster: lgb.Booster, X: np.ndarray, kind: int, num_threads: int) -> np.ndarray:
    def wrapped(rows: np.ndarray) -> np.ndarray:
        if kind == _CONTRIB:
            return np.asarray(booster.predict(rows, pred_contrib=True, num_threads=num_threads))
        return np.asarray(booster.predict(rows, raw_score=True, num_threads=num_threads))

    plan = _plan(booster, num_threads)
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not plan.usable or X.ndim != 2 or X.shape[1] != plan.n_features or len(X) == 0:
        return wrapped(X)
    fast = _call(booster, plan, X, kind)
    if kind not in plan.checked:
        checked = _checked_rows(len(X))
        expected = wrapped(X[checked])
        if expected.shape != fast[checked].shape or not np.array_equal(
            expected, fast[checked], equal_nan=True
        ):
            plan.usable = False
            return wrapped(X)
        plan.checked.add(kind)
    return fast


def _checked_rows(n: int) -> np.ndarray:
    """Every row of a small batch; `CHECKED_ROWS` evenly spread rows of a larger one."""
    if n <= CHECKED_ROWS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, CHECKED_ROWS).astype(np.intp))


def raw_scores(booster: lgb.Booster, X: np.ndarray, *, num_threads: int = 1) -> np.ndarray:
    """`booster.predict(X, raw_score=True)`: (n,) or (n, classes)."""
    return _predict(booster, X, _RAW, num_threads)


def contributions(booster: lgb.Booster, X: np.ndarray, *, num_threads: int = 1) -> np.ndarray:
    """`booster.predict(X, pred_contrib=True)`: TreeSHAP values, bias last."""
    return _predict(booster, X, _CONTRIB, num_threads)
