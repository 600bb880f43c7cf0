"""The DR-learner: a doubly-robust regression of each action's outcome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import lightgbm as lgb
import numpy as np

from model.learners.boosting import (
    booster_from_string,
    booster_to_string,
    client_folds,
    deterministic_params,
)
from model.learners.calibration import stored_calibration
from model.learners.outcome import OutcomeLearner, TrainingData
from model.learners.propensity import PropensityModel
from model.learners.s_learner import SLearner


class DRLearner(OutcomeLearner):
    """Doubly-robust learner of each action's outcome probability.

    Kennedy (2023), "Towards optimal doubly robust estimation of heterogeneous
    causal effects", Electronic Journal of Statistics. Outcome and propensity
    models are cross-fitted over client folds; for every action a the
    pseudo-outcome

        phi_a = mu_a(x) + 1[A = a] / pi_a(x) * (Y - mu_a(x))

    (with pi clipped from below) is regressed on x with gradient boosting, on
    the decision points where a was eligible. Its conditional mean is
    E[Y(a) | x] when either nuisance model is right. Predictions are on the
    probability scale, so TreeSHAP contributions are in probability points.
    Actions too rare to learn from fall back to the cross-fitted outcome model.
    """

    name = "dr_learner"
    scale = "probability"

    def __init__(
        self,
        *,
        n_actions: int,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 200,
        n_folds: int = 2,
        propensity_clip: float = 0.05,
        min_action_rows: int = 200,
        nuisance_estimators: int = 150,
        nuisance_learning_rate: float = 0.1,
        n_bags: int = 2,
        early_stopping_rounds: int = 20,
        categorical_features: Sequence[int] = (),
        seed: int = 0,
        num_threads: int = 1,
    ) -> None:
        super().__init__(n_actions=n_actions, seed=seed, num_threads=num_threads)
        self.nuisance_estimators = nuisance_estimators
        self.nuisance_learning_rate = nuisance_learning_rate
        self.n_bags = n_bags
        self.early_stopping_rounds = early_stopping_rounds
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.n_folds = n_folds
        self.propensity_clip = propensity_clip
        self.min_action_rows = min_action_rows
        self.categorical_features = categorical_features

    def fit(self, data: TrainingData) -> Self:
        n, a_count = len(data.y), self.n_actions
        fold = client_folds(data.clusters, self.n_folds, self.seed)
        mu = np.zeros((n, a_count))
        pi = np.zeros((n, a_count))
        for fold_number in range(self.n_folds):
            train, test = fold != fold_number, fold == fold_number
            fold_data = data.subset(train)
            outcome = SLearner(
                n_actions=a_count,
                n_bags=0,
                categorical_features=self.categorical_features,
                n_estimators=self.nuisance_estimators,
                learning_rate=self.nuisance_learning_rate,
                seed=self.seed + fold_number,
                num_threads=self.num_threads,
            ).fit(fold_data)
            mu[test] = outcome.predict(data.X[test])
            propensity = PropensityModel(
                n_actions=a_count,
                categorical_features=self.categorical_features,
                n_estimators=self.nuisance_estimators,
                seed=self.seed + fold_number,
                num_threads=self.num_threads,
            ).fit(fold_data.X, fold_data.actions, fold_data.eligible, fold_data.clusters)
            pi[test] = propensity.predict_proba(data.X[test], data.eligible[test])
        # The fallback for rare actions and the spread for intervals.
        self.outcome_ = SLearner(
            n_actions=a_count,
            categorical_features=self.categorical_features,
            n_estimators=2 * self.nuisance_estimators,
            learning_rate=self.nuisance_learning_rate,
            n_bags=self.n_bags,
            seed=self.seed,
            num_threads=self.num_threads,
        ).fit(data)
        rows = np.arange(n)
        residual = data.y - mu[rows, data.actions]
        self.models_: list[lgb.Booster | None] = []
        params = deterministic_params(
            objective="regression",
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            feature_fraction=0.9,
            bagging_fraction=0.8,
            bagging_freq=1,
            lambda_l2=5.0,
            seed=self.seed,
            num_threads=self.num_threads,
        )
        # Each pseudo-outcome regression stops early on a fold of clients it
        # does not train on (the last of five client folds).
        stop_fold = (
            client_folds(data.clusters, 5, self.seed + 7) == 4
            if self.early_stopping_rounds
            else None
        )
        self.params_ = params
        for a in range(a_count):
            took = data.actions == a
            if took.sum() < self.min_action_rows:
                self.models_.append(None)
                continue
            rows_a = data.eligible[:, a]
            weight = took[rows_a] / np.maximum(pi[rows_a, a], self.propensity_clip)
            phi = mu[rows_a, a] + weight * residual[rows_a]
            self.models_.append(
                self._regress(data.X[rows_a], phi, None if stop_fold is None else stop_fold[rows_a])
            )
        self.fitted_ = True
        return self

    def _regress(self, X: np.ndarray, phi: np.ndarray, stop: np.ndarray | None) -> lgb.Booster:
        categorical = list(self.categorical_features)
        if stop is None or not stop.any() or stop.all():
            return lgb.train(
                self.params_,
                lgb.Dataset(X, phi, categorical_feature=categorical),
                num_boost_round=self.n_estimators,
            )
        dtrain = lgb.Dataset(X[~stop], phi[~stop], categorical_feature=categorical)
        dvalid = lgb.Dataset(X[stop], phi[stop], categorical_feature=categorical, reference=dtrain)
        return lgb.train(
            self.params_,
            dtrain,
            num_boost_round=self.n_estimators,
            valid_sets=[dvalid],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )

    def predict_margin(self, X: np.ndarray) -> np.ndarray:
        self._check()
        out = np.empty((len(X), self.n_actions))
        fallback: np.ndarray | None = None
        for a, booster in enumerate(self.models_):
            if booster is None:
                if fallback is None:
                    fallback = self.outcome_.predict(X)
                out[:, a] = fallback[:, a]
            else:
                out[:, a] = booster.predict(X, num_threads=self.num_threads)
        return self._calibrated(out)

    def spread(self, X: np.ndarray) -> np.ndarray:
        return self.outcome_.spread(X)

    def spread_cells(self, X: np.ndarray, cells: np.ndarray) -> np.ndarray:
        return self.outcome_.spread_cells(X, cells)

    def contributions(self, X: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """TreeSHAP in probability points for each row's action.

        Columns: one per encoded feature, then the action's own column (zero
        here: each action has its own model), then the bias (expected value of
        that action's model). Rows add up to the unclipped prediction.
        """
        self._check()
        m = X.shape[1]
        out = np.zeros((len(X), m + 2))
        for a in np.unique(actions):
            rows = actions == a
            booster = self.models_[a]
            if booster is None:
                # The fallback is on the logit scale; express it linearly so
                # that the row still adds up to its probability.
                contrib = self.outcome_.contributions(X[rows], np.full(rows.sum(), a))
                p = self.outcome_.predict(X[rows])[:, a]
                total = contrib.sum(axis=1)
                scale = np.where(
                    np.abs(total) > 1e-9, p / np.where(np.abs(total) > 1e-9, total, 1.0), 0.0
                )
                out[rows] = contrib * scale[:, None]
            else:
                contrib = np.asarray(
                    booster.predict(X[rows], pred_contrib=True, num_threads=self.num_threads)
                )
                out[rows, :m] = contrib[:, :m]
                out[rows, m + 1] = contrib[:, m]
        return self._calibrated_contributions(out)

    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {
            "kind": self.name,
            "n_actions": self.n_actions,
            "models": [
                None if booster is None else booster_to_string(booster) for booster in self.models_
            ],
            "outcome": self.outcome_.to_dict(),
            "heterogeneity": self.heterogeneity_,
            "calibration": list(self.calibration_),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        learner = cls(n_actions=int(data["n_actions"]))
        learner.models_ = [
            None if text is None else booster_from_string(text) for text in data["models"]
        ]
        learner.outcome_ = SLearner.from_dict(data["outcome"])
        learner.heterogeneity_ = float(data["heterogeneity"])
        learner.calibration_ = stored_calibration(data)
        learner.fitted_ = True
        return learner
