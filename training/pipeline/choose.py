"""Choices made on the validation clients: the learner, the S-learner's rounds, interval width.

Every choice is made from what a municipality's own data shows: the
validation clients' observed outcomes, through the doubly-robust estimate of
the policy value. A simulator's truth is never used here (it is for the
evaluation alone), and the held-out clients are never used for any choice.
"""

from __future__ import annotations

import logging
from typing import Final

import numpy as np

from model.learners.outcome import OutcomeLearner
from model.learners.s_learner import SLearner

logger = logging.getLogger(__name__)


# Learners and rounds are chosen by their doubly-robust value on the validation
# clients as graded by one cross-fitted referee (`training.pipeline.compare`).
SELECTION_METRIC: Final = "referee_value"
ROUND_FRACTIONS: Final = (1.0, 0.75, 0.5, 0.25)


def round_candidates(learner: OutcomeLearner) -> dict[int, OutcomeLearner]:
    """The S-learner cut to 100, 75, 50 and 25 % of its fitted rounds, the full one first.

    Early stopping (or a fixed `n_estimators`) picks rounds by how well the
    outcome is predicted; what a recommendation needs is the ranking of
    actions for one client, which more rounds can make worse (the main
    effects fit on and the small differences between actions are fitted to
    noise). Boosting is sequential, so a cut costs no new fit. Learners
    without rounds to cut are their only candidate.
    """
    if not isinstance(learner, SLearner):
        return {0: learner}
    out: dict[int, OutcomeLearner] = {}
    for fraction in ROUND_FRACTIONS:
        rounds = max(1, round(learner.n_rounds_ * fraction))
        if rounds not in out:
            out[rounds] = learner if rounds == learner.n_rounds_ else learner.truncated(rounds)
    return out


def interval_width_from_outcomes(
    learner: OutcomeLearner,
    X: np.ndarray,
    actions: np.ndarray,
    y: np.ndarray,
    *,
    min_per_bin: int = 200,
) -> float | None:
    """Set the learner's interval width from how far its chances miss observed rates.

    The validation points (action taken, outcome observed) are put in bins of
    similar predicted chance, each of at least `min_per_bin` points. In a bin
    the observed rate differs from the mean predicted chance by the model's
    error plus sampling noise; the method of moments takes the noise out
    (the squared difference less p(1 - p) / n), on the logit scale. The width
    (the learner's `heterogeneity_`) is the root of the mean of what remains,
    so each interval carries the model's own spread between client-bootstrap
    refits and the calibration error seen on clients it was not fitted on.

    What one binary outcome per decision cannot show is how much clients who
    look the same in the data differ in what it never records; the interval
    does not claim to cover that, and the evaluation reports how often a
    simulator's individual chances fall inside it.
    """
    n = len(y)
    if n < 2 * min_per_bin:
        return None
    p = np.clip(learner.predict(X)[np.arange(n), actions], 1e-4, 1 - 1e-4)
    order = np.argsort(p, kind="stable")
    n_bins = n // min_per_bin
    excess = []
    for rows in np.array_split(order, n_bins):
        mean_p = float(p[rows].mean())
        rate = float(np.clip(y[rows].mean(), 1e-4, 1 - 1e-4))
        slope = mean_p * (1.0 - mean_p)
        # Difference and its sampling variance, both on the logit scale near mean_p.
        difference = (rate - mean_p) / slope
        noise = 1.0 / (len(rows) * slope)
        excess.append(difference**2 - noise)
    width = float(np.sqrt(max(float(np.mean(excess)), 0.0)))
    learner.heterogeneity_ = width
    return width
