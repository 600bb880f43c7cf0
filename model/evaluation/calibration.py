"""How well the outcome model's probabilities and intervals match what happened.

For the probability of a good outcome under the action taken: ROC AUC
(Hanley & McNeil 1982), the Brier score (Brier 1950), a calibration table
(reliability diagram) and the expected calibration error (Naeini, Cooper &
Hauskrecht 2015; Guo et al. 2017). For the per-action intervals: their
coverage of the simulator's truth. docs/evaluation.md lists the figures.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from model.evaluation.inputs import as_labels, as_probabilities, as_vector, check_same_shape

BinStrategy = Literal["uniform", "quantile"]


def roc_auc(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Area under the ROC curve: the probability that a random positive is scored
    above a random negative, ties counting half (Hanley & McNeil 1982).

    scikit-learn's ``roc_auc_score``. NaN when ``y`` holds only one class (or
    no rows), where it is undefined; checked here so that no warning is
    raised.
    """
    y_ = as_labels(y)
    p_ = as_vector("p", p, y_.shape[0]).astype(float)
    if not np.all(np.isfinite(p_)):
        raise ValueError("p must be finite")
    n_pos = int(y_.sum())
    if n_pos == 0 or n_pos == y_.shape[0]:
        return float("nan")
    return float(roc_auc_score(y_, p_))


def brier_score(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Brier score ``mean_i (p_i - y_i)^2`` (Brier 1950); lower is better. NaN for no rows.

    scikit-learn's ``brier_score_loss``.
    """
    y_ = as_labels(y)
    p_ = as_probabilities("p", p, y_.shape[0])
    if y_.size == 0:
        return float("nan")
    return float(brier_score_loss(y_, p_))


def _bin_edges(p: np.ndarray, n_bins: int, strategy: BinStrategy) -> np.ndarray:
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        # Percentiles of linspace * 100, exactly as scikit-learn computes them, so
        # that a value equal to an edge falls on the same side (to the last bit).
        inner = np.percentile(p, np.linspace(0.0, 1.0, n_bins + 1) * 100)[1:-1]
        # Repeated quantiles are merged; outer edges are kept even when an inner
        # one equals them, so that p = 0 keeps its own bin as in scikit-learn.
        return np.concatenate([[0.0], np.unique(inner), [1.0]])
    raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")


def calibration_table(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> pd.DataFrame:
    """Rows ``bin, low, high, n, mean_p, mean_y`` of a reliability diagram.

    Binning: ``uniform`` cuts [0, 1] into ``n_bins`` equal intervals
    ``(low, high]``, the first one closed so that ``p = 0`` falls in it;
    ``quantile`` puts the inner edges at the quantiles of ``p`` so bins hold
    about equal counts (ties merge bins, so there may be fewer), with outer
    edges 0 and 1. Rows fall into bins exactly as in scikit-learn's
    ``sklearn.calibration.calibration_curve``, so ``mean_p`` and ``mean_y``
    are its ``prob_pred`` and ``prob_true``. Empty bins are left out;
    ``bin`` is the bin's position among all bins.
    """
    y_ = as_labels(y)
    p_ = as_probabilities("p", p, y_.shape[0])
    columns = ["bin", "low", "high", "n", "mean_p", "mean_y"]
    if y_.size == 0:
        _bin_edges(p_, n_bins, strategy)  # still reject bad arguments
        return pd.DataFrame({name: pd.Series(dtype=float) for name in columns}).astype(
            {"bin": int, "n": int}
        )
    # Binned here, not by sklearn.calibration.calibration_curve: that returns
    # only the two means of the non-empty bins, not their row counts or edges,
    # which the table shows and the expected calibration error weights by.
    # The edges and the searchsorted below are calibration_curve's, so the
    # means are the same (the tests compare them).
    edges = _bin_edges(p_, n_bins, strategy)
    n_actual = edges.shape[0] - 1
    # Inner edges only: bin b holds edges[b] < p <= edges[b+1]; the first bin includes 0.
    bins = np.searchsorted(edges[1:-1], p_, side="left")
    counts = np.bincount(bins, minlength=n_actual)
    sum_p = np.bincount(bins, weights=p_, minlength=n_actual)
    sum_y = np.bincount(bins, weights=y_, minlength=n_actual)
    filled = counts > 0
    return pd.DataFrame(
        {
            "bin": np.flatnonzero(filled),
            "low": edges[:-1][filled],
            "high": edges[1:][filled],
            "n": counts[filled],
            "mean_p": sum_p[filled] / counts[filled],
            "mean_y": sum_y[filled] / counts[filled],
        },
        columns=columns,
    )


def expected_calibration_error(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> float:
    """Expected calibration error ``sum_b (n_b / n) |mean_y_b - mean_p_b|``.

    Over the bins of :func:`calibration_table` (by default 10 equal-width
    bins on [0, 1]; Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017). It
    lies in [0, 1]; 0 when, in every bin, the mean prediction equals the
    observed rate. NaN for no rows.
    """
    table = calibration_table(y, p, n_bins=n_bins, strategy=strategy)
    total = table["n"].sum()
    if total == 0:
        return float("nan")
    gaps = (table["mean_y"] - table["mean_p"]).abs()
    return float((table["n"] * gaps).sum() / total)


def interval_coverage(
    *,
    low: npt.ArrayLike,
    high: npt.ArrayLike,
    truth: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
) -> float:
    """Share of cells with ``low <= truth <= high`` among the cells in ``mask``.

    Works on arrays of any (equal) shape, typically ``(n, A)`` per-action
    intervals against the simulator's truth. ``mask`` defaults to the cells
    where all three are finite; an explicit ``mask`` must select only finite
    cells (a missing value there is an error, not a silent miss). NaN when
    no cell is selected.
    """
    low_ = np.asarray(low, dtype=float)
    high_ = np.asarray(high, dtype=float)
    truth_ = np.asarray(truth, dtype=float)
    check_same_shape("truth", truth_, low=low_, high=high_)
    finite = np.isfinite(low_) & np.isfinite(high_) & np.isfinite(truth_)
    if mask is None:
        selected = finite
    else:
        selected = np.asarray(mask, dtype=bool)
        check_same_shape("truth", truth_, mask=selected)
        if np.any(selected & ~finite):
            raise ValueError("mask selects cells where low, high or truth is missing")
    if not selected.any():
        return float("nan")
    covered = (low_ <= truth_) & (truth_ <= high_)
    return float(covered[selected].mean())
