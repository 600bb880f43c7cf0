"""Calibrating outcome learners: the affine map of their margins and the width of their intervals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import expit

if TYPE_CHECKING:
    from model.learners.outcome import OutcomeLearner


def fit_affine_calibration(raw: np.ndarray, y: np.ndarray, scale: str) -> tuple[float, float]:
    """(slope, intercept) mapping `raw` (logit or probability scale) to calibrated values."""
    raw = np.asarray(raw, dtype=float)
    y = np.asarray(y, dtype=float)
    if scale == "probability":
        design = np.column_stack([raw, np.ones_like(raw)])
        slope, intercept = np.linalg.lstsq(design, y, rcond=None)[0]
        return float(slope), float(intercept)
    from scipy.optimize import minimize

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] * raw + theta[1]
        p = expit(z)
        # log(1 + e^z) - y z, and its gradient
        loss = np.logaddexp(0.0, z) - y * z
        residual = p - y
        return float(loss.mean()), np.array([(residual * raw).mean(), residual.mean()])

    result = minimize(
        nll, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B", bounds=[(0.25, 4.0), (-3.0, 3.0)]
    )
    return float(result.x[0]), float(result.x[1])


def stored_calibration(data: dict[str, Any]) -> tuple[float, float]:
    """The (slope, intercept) saved with a learner; identity for one saved without."""
    slope, intercept = data.get("calibration", (1.0, 0.0))
    return float(slope), float(intercept)


def calibrate_interval(
    learner: OutcomeLearner,
    X: np.ndarray,
    truth: np.ndarray,
    mask: np.ndarray,
    level: float = 0.9,
) -> float:
    """Choose the heterogeneity width so that intervals cover the truth at `level`.

    Only possible where a simulator's truth is at hand (on a validation split,
    never the held-out clients); the outcome alone cannot show how much the
    true probability varies between clients who look the same.
    """
    p = learner.predict(X)
    narrow, wide = 0.0, 4.0
    for _ in range(30):
        mid = (narrow + wide) / 2
        learner.heterogeneity_ = mid
        low, high = learner.interval(X, level, p=p)
        cover = ((truth >= low) & (truth <= high))[mask].mean()
        if cover < level:
            narrow = mid
        else:
            wide = mid
    learner.heterogeneity_ = wide
    return wide
