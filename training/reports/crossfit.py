"""Outcome and choice models fitted on the report's own data, one fold of clients at a time.

The service report's effects are doubly robust: each needs a model of the
chance of a good outcome under every action and a model of the chance of
each action. A version's own models were fitted on its training window, on
clients other than the report's and often far fewer of them; the doubly
robust estimate then carries their errors into every effect, and with the
narrow intervals of a large report those errors decide whether an interval
holds the true effect. Cross-fitting (Chernozhukov et al. 2018, "Double/
debiased machine learning for treatment and structural parameters",
Econometrics Journal 21(1), C1-C68) fits both models on the report's data
itself: the clients are divided into `FOLDS` folds and each fold's decisions
are scored by models fitted on the other folds, so no decision is scored by
a model that learnt from it and the errors of the two models enter the
effect only as a product.

The models are the version's kind with the version's configuration (its
learner, hyperparameters, excluded features and eligibility rules), fitted
on every labelled decision point of the data folder, not only the report's
window. Where the data hold too few labelled decisions for that, the
version's own models are used and the report says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

import numpy as np

from model.decision_points.points import DecisionPoints
from model.learners.boosting import client_folds
from model.router import Router
from training.pipeline.fit import fit_models
from training.pipeline.rows import TrainingRows
from training.pipeline.split import Split

# Two folds: each model learns from half the clients, and the report is fitted
# twice; more folds give each model more data but cost a fit each.
FOLDS: Final = 2
# Threads of the report's fits, at most (LightGBM gains little beyond).
MAX_THREADS: Final = 8
# Fewer labelled decision points per fold than this and the version's models are used.
MIN_ROWS_PER_FOLD: Final = 2_000


@dataclass(frozen=True)
class CrossFitted:
    """Each requested row's outcome chances (eligible cells) and choice probabilities."""

    mu: np.ndarray
    propensity: np.ndarray


def report_folds(dp: DecisionPoints, seed: int) -> np.ndarray:
    """Fold of each decision point: every point of a client in one fold, seeded."""
    return client_folds(dp.frame["client_id"].astype(str).to_numpy(), FOLDS, seed)


def report_threads(configured: int) -> int:
    """LightGBM threads for the report's fits: every core, up to `MAX_THREADS`.

    A report is a one-off batch job; the run configuration's `num_threads`
    is for training beside a serving API, where one thread per core is
    faster (a larger configured value is kept).
    """
    return max(configured, min(os.cpu_count() or 1, MAX_THREADS))


def can_cross_fit(rows: TrainingRows) -> bool:
    """Whether the data hold enough labelled decision points to fit a model per fold."""
    return int(rows.outcome.sum()) >= FOLDS * MIN_ROWS_PER_FOLD


def cross_fit(
    router: Router,
    dp: DecisionPoints,
    rows: TrainingRows,
    scored: np.ndarray,
    eligible: np.ndarray,
    *,
    seed: int,
) -> CrossFitted:
    """Scores of the decision points `scored` (indices into `dp.frame`, with their
    `eligible` cells) by models fitted on the other folds' clients (`rows` says which
    points may train which model)."""
    config = router.config
    learner_name = str(router.metadata.get("learner") or config.learners[0])
    config = config.model_copy(
        update={"learners": [learner_name], "num_threads": report_threads(config.num_threads)}
    )
    folds = report_folds(dp, seed)
    n = len(dp.frame)
    mu = np.full(eligible.shape, np.nan)
    propensity = np.full(eligible.shape, np.nan)
    for fold in range(FOLDS):
        split = Split(
            train=folds != fold,
            validation=np.zeros(n, dtype=bool),
            test=folds == fold,
            labelled_share={},
        )
        models = fit_models(dp, split, rows, config, seed=seed + fold)
        here = folds[scored] == fold
        X = models.X[scored[here]]
        mu[here] = models.learners[learner_name].predict_cells(X, eligible[here])
        propensity[here] = models.propensity.predict_proba(X, eligible[here])
    return CrossFitted(mu, propensity)
