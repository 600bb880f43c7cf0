"""Comparing candidate policies on the validation clients, from observed outcomes only.

Every choice a training run makes (the learner, the S-learner's rounds, how
robust the ranking is) picks one of several candidate policies: "follow the
first suggestion of this model". They are compared by the doubly-robust
(AIPW) estimate of their value on the same validation decision points
(Dudík, Langford & Li 2011), with two safeguards against choosing on noise:

- **One referee.** Every candidate is graded with the same outcome model, fitted
  on the validation clients themselves by cross-fitting over client folds
  (Chernozhukov et al. 2018), and the same propensities. A candidate is never
  graded by its own outcome model, which would reward a model's own optimism.
- **Paired differences, one standard error.** On the same points the DR terms
  of two policies are equal wherever they recommend the same action, so their
  difference is far less noisy than either value. The default candidate (the
  first in the configuration's order) is kept unless another beats it by more
  than one standard error of the paired difference, clustered by client (the
  "one-standard-error rule" of Breiman et al. 1984, applied to policy value).

The simulator's truth plays no part: a municipality's data has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from model.evaluation.policy_value import dr_terms
from model.learners.boosting import client_folds
from model.learners.outcome import TrainingData
from model.learners.s_learner import SLearner

# Propensities below this are clipped in the DR terms, as in the evaluation.
DR_CLIP: Final = 0.01
EVALUATION_FOLDS: Final = 2
# The referee: small trees, fitted on the validation clients' observed outcomes.
REFEREE_PARAMS: Final[dict[str, Any]] = {
    "n_estimators": 100,
    "learning_rate": 0.1,
    "num_leaves": 7,
    "min_child_samples": 50,
    "n_bags": 0,
}


@dataclass(frozen=True)
class Referee:
    """What every candidate is graded with: the validation points' outcomes and nuisances."""

    y: np.ndarray
    taken: np.ndarray
    mu: np.ndarray  # (n, A) cross-fitted chance of success under each action
    propensity: np.ndarray  # (n, A) the historical policy, restricted to eligible actions
    clusters: np.ndarray  # client of each point

    def terms(self, recommended: np.ndarray) -> np.ndarray:
        """Per-point DR terms of the policy that follows `recommended`."""
        return dr_terms(
            y=self.y,
            taken=self.taken,
            mu=self.mu,
            propensity=self.propensity,
            recommended=recommended,
            clip=DR_CLIP,
        )


def fit_referee(
    data: TrainingData,
    propensity: np.ndarray,
    *,
    n_actions: int,
    categorical_features: list[int],
    seed: int,
    num_threads: int = 1,
) -> Referee:
    """Cross-fit the referee's outcome model over client folds of the validation points."""
    folds = client_folds(data.clusters, EVALUATION_FOLDS, seed + 31)
    mu = np.zeros((len(data.y), n_actions))
    for fold in range(EVALUATION_FOLDS):
        fit_rows, predict_rows = folds != fold, folds == fold
        if not predict_rows.any():
            continue
        model = SLearner(
            n_actions=n_actions,
            categorical_features=categorical_features,
            seed=seed + fold,
            num_threads=num_threads,
            **REFEREE_PARAMS,
        ).fit(data.subset(fit_rows))
        mu[predict_rows] = model.predict(data.X[predict_rows])
    return Referee(
        y=data.y,
        taken=data.actions,
        mu=mu,
        propensity=propensity,
        clusters=np.asarray(data.clusters),
    )


@dataclass(frozen=True)
class PairedDifference:
    """A candidate's DR value against the default's on the same points."""

    value: float
    difference: float
    standard_error: float

    def as_dict(self) -> dict[str, float]:
        return {
            "value": self.value,
            "difference": self.difference,
            "standard_error": self.standard_error,
        }


def paired_difference(
    terms: np.ndarray, default_terms: np.ndarray, clusters: np.ndarray
) -> PairedDifference:
    """Mean of `terms` and its difference from `default_terms`, with a client-clustered SE."""
    delta = np.asarray(terms, dtype=float) - np.asarray(default_terms, dtype=float)
    n = len(delta)
    if n == 0:
        return PairedDifference(float("nan"), 0.0, float("inf"))
    codes = pd.factorize(np.asarray(clusters))[0]
    per_client = np.bincount(codes, weights=delta)
    points = np.bincount(codes)
    m = len(per_client)
    mean = float(delta.mean())
    # The mean is a ratio of sums over clients; its linearised variance is what a
    # cluster bootstrap estimates.
    residual = per_client - mean * points
    se = float(np.sqrt(m / max(m - 1, 1) * (residual**2).sum()) / n) if m > 1 else float("inf")
    return PairedDifference(float(np.mean(terms)), mean, se)


@dataclass(frozen=True)
class Choice:
    """The candidate chosen, and every candidate's standing against the default."""

    chosen: str
    default: str
    standings: dict[str, PairedDifference]

    def as_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "default": self.default,
            "rule": "doubly-robust value on the validation clients with a cross-fitted referee; "
            "the default is kept unless another candidate is better by more than one standard "
            "error of the paired difference",
            "candidates": {name: s.as_dict() for name, s in self.standings.items()},
        }


def choose(
    recommended: Mapping[str, np.ndarray], referee: Referee, *, default: str | None = None
) -> Choice:
    """The candidate to use: the default unless another is better by more than one SE."""
    names = list(recommended)
    default = default or names[0]
    default_terms = referee.terms(recommended[default])
    standings = {
        name: paired_difference(referee.terms(rec), default_terms, referee.clusters)
        for name, rec in recommended.items()
    }
    chosen, best = default, 0.0
    for name in names:
        standing = standings[name]
        if standing.difference > standing.standard_error and standing.difference > best:
            chosen, best = name, standing.difference
    return Choice(chosen=chosen, default=default, standings=standings)
