"""What Polku's recommendations are held against in the quality benchmarks.

- `econml_recommendations`: EconML's `DRLearner` with LightGBM nuisance
  models, used as its documentation shows: fit on (Y, T, X) and recommend the
  action with the largest estimated effect against `no_new_service`.
- `observable_ceiling`: a LightGBM regression of each action's *true* chance
  on the features Polku sees, fitted on the training clients' truth. Its
  recommendations are the most any method can reach from the recorded
  columns (what no column records stays out of reach); it exists only where
  a simulator gives the truth, and only to say how far from that ceiling
  Polku is.

Both recommend among the eligible actions with the same ranking rule as
Polku (`model.ranking.rank_actions`), without Polku's overlap guard.
"""

from __future__ import annotations

import warnings

import numpy as np

from model.ranking import rank_actions
from model.vocab import NO_NEW_SERVICE

LIGHTGBM = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 50,
    "verbose": -1,
    "n_jobs": 1,
}


def _first_eligible_best(score: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    score = np.where(eligible, score, -np.inf)
    return rank_actions(score, eligible, np.ones_like(score), min_support=0.0)[:, 0]


def econml_recommendations(
    X_train: np.ndarray,
    t_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    eligible_test: np.ndarray,
    actions: list[str],
    *,
    seed: int,
) -> np.ndarray:
    """Fit EconML's DRLearner (LightGBM nuisances) and return rank-1 action indices."""
    from econml.dr import DRLearner
    from lightgbm import LGBMClassifier, LGBMRegressor

    nns = actions.index(NO_NEW_SERVICE)
    present = sorted({int(a) for a in t_train})
    # EconML takes the first category as the baseline; text labels may be unsorted.
    categories = [nns, *[a for a in present if a != nns]]
    names = np.asarray(actions, dtype=object)
    lgb = {**LIGHTGBM, "random_state": seed}
    est = DRLearner(
        model_propensity=LGBMClassifier(**lgb),
        model_regression=LGBMRegressor(**lgb),
        model_final=LGBMRegressor(**lgb),
        categories=[actions[a] for a in categories],
        min_propensity=0.01,
        cv=2,
        random_state=seed,
        allow_missing=True,  # LightGBM handles missing values itself
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(y_train, names[t_train], X=X_train)
        effects = est.const_marginal_effect(X_test)  # (n, len(categories) - 1)
    score = np.full((len(X_test), len(actions)), -np.inf)
    score[:, nns] = 0.0
    for j, a in enumerate(categories[1:]):
        score[:, a] = effects[:, j]
    return _first_eligible_best(score, eligible_test)


def observable_ceiling(
    X_train: np.ndarray,
    truth_train: np.ndarray,
    eligible_train: np.ndarray,
    X_test: np.ndarray,
    eligible_test: np.ndarray,
    *,
    seed: int,
) -> np.ndarray:
    """Rank-1 action indices of per-action LightGBM regressions of the truth on the features."""
    from lightgbm import LGBMRegressor

    score = np.full(eligible_test.shape, -np.inf)
    for a in range(truth_train.shape[1]):
        rows = eligible_train[:, a] & np.isfinite(truth_train[:, a])
        if rows.sum() < 50:
            continue
        model = LGBMRegressor(**{**LIGHTGBM, "random_state": seed})
        model.fit(X_train[rows], truth_train[rows, a])
        score[:, a] = model.predict(X_test)
    return _first_eligible_best(score, eligible_test)
