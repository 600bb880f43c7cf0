"""Calibrating outcome learners: the affine map of their margins."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit


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
