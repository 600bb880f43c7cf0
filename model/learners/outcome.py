"""What every outcome learner shares: its training data, its interface and its intervals.

An outcome learner answers the same questions for a matrix of encoded
decision points `X` (n rows) and the catalogue's A actions:

- `predict(X)`: (n, A) probability of a good outcome under each action;
- `predict_margin(X)`: (n, A) the same on the learner's additive scale;
- `interval(X, level)`: (low, high), each (n, A);
- `contributions(X, actions)`: exact TreeSHAP contributions on the additive
  scale for the given action of each row, one column per encoded feature plus
  a last column for what belongs to the action itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from scipy.special import expit, logit

from model.errors import NotFittedError
from model.learners.calibration import fit_affine_calibration

EPS = 1e-4


@dataclass(frozen=True)
class TrainingData:
    """Labelled decision points with a known action, encoded."""

    X: np.ndarray
    actions: np.ndarray  # int index into the catalogue's actions
    y: np.ndarray  # 0/1
    eligible: np.ndarray  # (n, A) bool
    clusters: np.ndarray  # client ids, for grouped folds

    def subset(self, rows: np.ndarray) -> TrainingData:
        """The same data on `rows` (a boolean mask or indices)."""
        return TrainingData(
            self.X[rows], self.actions[rows], self.y[rows], self.eligible[rows], self.clusters[rows]
        )


class OutcomeLearner:
    """Shared machinery: interval scale and the (n, A) prediction layout."""

    name = "outcome"
    # Additive scale of `predict_margin` and `contributions`: "logit" or "probability".
    scale = "logit"

    def __init__(self, *, n_actions: int, seed: int = 0, num_threads: int = 1) -> None:
        self.n_actions = n_actions
        self.seed = seed
        self.num_threads = num_threads

    # Width of the interval beyond the learner's own (epistemic) spread, on
    # the logit scale: set from the validation clients' observed outcomes
    # (`training.pipeline.choose.interval_width_from_outcomes`), zero until then.
    heterogeneity_: float = 0.0
    # Affine recalibration (slope, intercept) on the learner's additive scale,
    # fitted on held-apart rows by `recalibrate`; identity until then. Being
    # affine, it keeps TreeSHAP contributions exact: each is multiplied by the
    # slope and the intercept joins the bias column.
    calibration_: tuple[float, float] = (1.0, 0.0)

    def recalibrate(self, X: np.ndarray, actions: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Fit the affine recalibration of `p_outcome` for the actions taken.

        On the logit scale this is Platt scaling (Platt 1999): a logistic
        regression of the outcome on the learner's margin. On the probability
        scale, a least-squares line. Fit it on rows the learner was not
        trained on (validation clients); it replaces any earlier map.
        """
        self._check()
        self.calibration_ = (1.0, 0.0)
        if len(y) < 50 or y.min() == y.max():
            return self.calibration_
        raw = self.predict_margin(X)[np.arange(len(X)), actions]
        self.calibration_ = fit_affine_calibration(raw, y, self.scale)
        return self.calibration_

    def _calibrated(self, raw: np.ndarray) -> np.ndarray:
        slope, intercept = self.calibration_
        return raw * slope + intercept

    def _calibrated_contributions(self, contrib: np.ndarray) -> np.ndarray:
        """Contributions (features..., action, bias) of the recalibrated margin."""
        slope, intercept = self.calibration_
        out = contrib * slope
        out[:, -1] += intercept
        return out

    def _check(self) -> None:
        if not hasattr(self, "fitted_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() first")

    def fit(self, data: TrainingData) -> Self:
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.chance(self.predict_margin(X))

    def chance(self, margin: np.ndarray) -> np.ndarray:
        """A margin on the learner's scale as a chance."""
        return expit(margin) if self.scale == "logit" else np.clip(margin, EPS, 1 - EPS)

    def predict_cells(self, X: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """(n, A) chances where `cells` (an (n, A) mask) is True, NaN elsewhere: for
        callers that need only some actions per row (learners may predict less)."""
        p = self.predict(X)
        return np.where(cells, p, np.nan)

    def predict_margin(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def spread(self, X: np.ndarray) -> np.ndarray:
        """(n, A) epistemic standard deviation on the logit scale."""
        raise NotImplementedError

    def spread_cells(self, X: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """`spread` where `cells` (an (n, A) mask) is True, NaN elsewhere (learners may
        compute less)."""
        return np.where(cells, self.spread(X), np.nan)

    def interval(
        self,
        X: np.ndarray,
        level: float = 0.9,
        p: np.ndarray | None = None,
        cells: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) of each chance at `level`; with `cells` (an (n, A) mask), only
        there, NaN elsewhere."""
        self._check()
        p = self.predict(X) if p is None else p
        z = _normal_quantile(0.5 + level / 2)
        spread = self.spread(X) if cells is None else self.spread_cells(X, cells)
        width = z * np.sqrt(spread**2 + self.heterogeneity_**2)
        centre = logit(np.clip(p, EPS, 1 - EPS))
        return expit(centre - width), expit(centre + width)

    def contributions(self, X: np.ndarray, actions: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The fitted learner as JSON-ready values, with its `kind` (see `learner_from_dict`)."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """The fitted learner that `to_dict` gave `data`."""
        raise NotImplementedError


@functools.lru_cache(maxsize=16)
def _normal_quantile(q: float) -> float:
    # scipy.stats.norm.ppf has a fixed cost per call that a request should not pay
    # every time; the few levels asked for are cached.
    from scipy.stats import norm

    return float(norm.ppf(q))
