"""The figures computed per group, through Fairlearn's `MetricFrame`.

For every evaluated decision point the report knows the observed outcome, the
model's predicted chance of a good outcome for the action taken, and two
expected outcomes (`EvaluatedRows`):

- ``v_hist``: the chance of a good outcome under what the caseworker did;
- ``v_rec``: the chance under following Polku's first recommendation.

With the simulator's truth these are the true chances of the action taken and
of the recommended one. On real data the truth is unknown: ``v_hist`` is then
the observed outcome and ``v_rec`` the doubly robust estimate of
`model.evaluation.dr_terms`. Their difference is the expected gain.

A group's figures (`FIGURES`) are over its rows: the observed rate
(``base_rate``), the mean prediction (``mean_p_outcome``), calibration error
(``ece``) and ROC AUC (``auc``) of the prediction, and the means of the three
expected-outcome terms. `group_figures` computes them for every group at once,
one row per group. docs/fairness.md lists the figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame

from model.evaluation import dr_terms, expected_calibration_error, roc_auc

# Figures of the model's predictions alone: shown for any group of at least k clients.
MODEL_METRICS: Final = ("mean_p_outcome",)
# Figures that use the outcomes: shown only where the outcome counts allow it.
OUTCOME_METRICS: Final = ("base_rate", "ece", "auc", "v_hist", "v_rec", "expected_gain")
# The report publishes its figures to six decimals (`model.json_values.json_number`).
REPORT_DIGITS: Final = 6


@dataclass(frozen=True)
class EvaluatedRows:
    """The evaluated decision points as the report's figures see them, one entry per row."""

    # Observed outcome: 1 for a good outcome, else 0.
    y: np.ndarray
    # The model's predicted chance of a good outcome for the action taken.
    p_taken: np.ndarray
    # "v_hist", "v_rec" and "expected_gain" per row; NaN where a term is unknown.
    terms: Mapping[str, np.ndarray]
    # The client of each row, as text.
    clients: pd.Series
    # Where v_hist and v_rec come from: "truth" or "doubly_robust".
    method: str


def evaluated_rows(
    rows: pd.DataFrame,
    *,
    taken: np.ndarray,
    recommended: np.ndarray,
    p: np.ndarray,
    propensity: np.ndarray,
    truth: np.ndarray | None,
) -> EvaluatedRows:
    """The per-row figures of `rows` (which have `client_id` and `label`)."""
    y = rows["label"].to_numpy(dtype=float)
    p_taken = p[np.arange(len(y)), taken]
    terms, method = _row_terms(
        y=y, taken=taken, recommended=recommended, p=p, propensity=propensity, truth=truth
    )
    return EvaluatedRows(
        y=y, p_taken=p_taken, terms=terms, clients=rows["client_id"].astype(str), method=method
    )


def _row_terms(
    *,
    y: np.ndarray,
    taken: np.ndarray,
    recommended: np.ndarray,
    p: np.ndarray,
    propensity: np.ndarray,
    truth: np.ndarray | None,
) -> tuple[dict[str, np.ndarray], str]:
    """Per-row v_hist, v_rec and their difference, and where they come from.

    A row where either term is not finite is NaN in all three, so every
    group mean is over the same rows.
    """
    rows = np.arange(len(y))
    if truth is not None:
        v_hist = truth[rows, taken]
        v_rec = truth[rows, recommended]
        method = "truth"
    else:
        v_hist = y.astype(float)
        v_rec = dr_terms(y=y, taken=taken, mu=p, propensity=propensity, recommended=recommended)
        method = "doubly_robust"
    valid = np.isfinite(v_hist) & np.isfinite(v_rec)
    v_hist = np.where(valid, v_hist, np.nan)
    v_rec = np.where(valid, v_rec, np.nan)
    return {"v_hist": v_hist, "v_rec": v_rec, "expected_gain": v_rec - v_hist}, method


# The metric functions take Fairlearn's arguments: y_true, y_pred, then sample parameters.


def _ece(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return expected_calibration_error(np.asarray(y_true, float), np.asarray(y_pred, float))


def _auc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return roc_auc(np.asarray(y_true, float), np.asarray(y_pred, float))


def finite_mean(y_true: np.ndarray, y_pred: np.ndarray, values: np.ndarray) -> float:
    """The mean of the finite `values` (NaN when there are none); the labels are not used."""
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    return float(finite.mean()) if finite.size else float("nan")


# Every figure a group gets, in the report's order.
FIGURES: Final = ("base_rate", "mean_p_outcome", "ece", "auc", "v_hist", "v_rec", "expected_gain")
# The figures that need a function of the group's rows go through Fairlearn; the
# others are plain means of one column per row, which a grouped mean gives.
# Fairlearn hands every metric its columns through `np.stack`, one element at a
# time, which made those means most of a 100 000-client report's time.
FITTED_METRICS: Final[dict[str, Callable[..., float]]] = {"ece": _ece, "auc": _auc}


def metric_frame(
    metrics: Mapping[str, Callable[..., float]],
    *,
    y: np.ndarray,
    p: np.ndarray,
    groups: pd.Series,
    terms: Mapping[str, np.ndarray],
) -> MetricFrame:
    """Fairlearn's `MetricFrame` of `metrics` over the rows, by `groups`.

    A metric named like one of `terms` receives that term's values as its
    sample parameter `values`.
    """
    params = {name: {"values": terms[name]} for name in metrics if name in terms}
    return MetricFrame(
        metrics=dict(metrics),
        y_true=y,
        y_pred=p,
        sensitive_features=pd.Series(groups.to_numpy(dtype=object), name="group"),
        sample_params=params or None,
    )


def group_figures(
    *, y: np.ndarray, p: np.ndarray, groups: pd.Series, terms: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """Every figure of `FIGURES` per group: one row per group, one column per figure.

    `FITTED_METRICS` come from Fairlearn's `MetricFrame`; the rest are the
    group's mean of the outcome, of the prediction and of each expected-outcome
    term, non-finite values left out as `finite_mean` leaves them out.
    """
    fitted = metric_frame(FITTED_METRICS, y=y, p=p, groups=groups, terms=terms).by_group
    columns = {"base_rate": np.asarray(y, float), "mean_p_outcome": np.asarray(p, float)}
    for name, term in terms.items():
        values = np.asarray(term, float)
        columns[name] = np.where(np.isfinite(values), values, np.nan)
    key = pd.Series(groups.to_numpy(dtype=object), name="group")
    means = pd.DataFrame(columns).groupby(key, sort=False).mean()
    return pd.concat([fitted, means.reindex(fitted.index)], axis=1)[list(FIGURES)]
