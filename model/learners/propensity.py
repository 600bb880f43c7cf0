"""The propensity model: how likely the historical caseworkers were to choose each action."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import lightgbm as lgb
import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import softmax

from model.errors import NotFittedError
from model.learners.boosting import (
    booster_from_string,
    booster_to_string,
    client_folds,
    deterministic_params,
)
from model.tree_predict import raw_scores


class PropensityModel:
    """P(action | features) under the historical policy.

    Multiclass LightGBM, stopped early on a client-grouped validation fold and
    calibrated there by temperature scaling (Guo et al. 2017, "On calibration
    of modern neural networks"); probabilities are restricted to the actions
    eligible at each decision point and renormalised.
    """

    def __init__(
        self,
        *,
        n_actions: int,
        n_estimators: int = 150,
        learning_rate: float = 0.15,
        num_leaves: int = 15,
        min_child_samples: int = 100,
        seed: int = 0,
        num_threads: int = 1,
        categorical_features: Sequence[int] = (),
        feature_indices: Sequence[int] | None = None,
    ) -> None:
        self.n_actions = n_actions
        self.feature_indices = None if feature_indices is None else list(feature_indices)
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.seed = seed
        self.num_threads = num_threads
        self.categorical_features = categorical_features

    def _columns(self, X: np.ndarray) -> np.ndarray:
        return X if self.feature_indices is None else X[:, self.feature_indices]

    def fit(
        self, X: np.ndarray, actions: np.ndarray, eligible: np.ndarray, clusters: np.ndarray
    ) -> Self:
        X = self._columns(X)
        params = deterministic_params(
            objective="multiclass",
            num_class=self.n_actions,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            max_bin=63,
            lambda_l2=1.0,
            seed=self.seed,
            num_threads=self.num_threads,
        )
        fold = client_folds(clusters, 5, self.seed)
        train, valid = fold != 0, fold == 0
        if self.feature_indices is None:
            categorical = list(self.categorical_features)
        else:
            categorical = [
                self.feature_indices.index(column)
                for column in self.categorical_features
                if column in self.feature_indices
            ]
        dtrain = lgb.Dataset(
            X[train], actions[train], categorical_feature=categorical, free_raw_data=True
        )
        dvalid = lgb.Dataset(
            X[valid], actions[valid], categorical_feature=categorical, reference=dtrain
        )
        # Stopped on the held-out fold; that fold then calibrates the temperature.
        self.booster_ = lgb.train(
            params,
            dtrain,
            num_boost_round=self.n_estimators,
            valid_sets=[dvalid],
            callbacks=[lgb.early_stopping(10, verbose=False)],
        )
        # A dense input gives a dense array; `predict` is typed for sparse input too.
        raw_valid = np.asarray(
            self.booster_.predict(X[valid], raw_score=True, num_threads=self.num_threads)
        )
        self.temperature_ = _fit_temperature(raw_valid, actions[valid], eligible[valid])
        return self

    def predict_proba(self, X: np.ndarray, eligible: np.ndarray) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise NotFittedError("PropensityModel is not fitted; call fit() first")
        raw = raw_scores(self.booster_, self._columns(X), num_threads=self.num_threads)
        return _masked_softmax(raw / self.temperature_, eligible)

    def to_dict(self) -> dict[str, Any]:
        return {
            "booster": booster_to_string(self.booster_),
            "temperature": self.temperature_,
            "n_actions": self.n_actions,
            "feature_indices": self.feature_indices,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PropensityModel:
        model = cls(n_actions=int(data["n_actions"]), feature_indices=data.get("feature_indices"))
        model.booster_ = booster_from_string(data["booster"])
        model.temperature_ = float(data["temperature"])
        return model


def _masked_softmax(raw: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    masked = np.where(eligible, raw, -np.inf)
    none = ~eligible.any(axis=1)
    masked[none] = 0.0
    return softmax(masked, axis=1)


def _fit_temperature(raw: np.ndarray, actions: np.ndarray, eligible: np.ndarray) -> float:
    if len(actions) == 0:
        return 1.0
    rows = np.arange(len(actions))

    def nll(log_t: float) -> float:
        p = _masked_softmax(raw / np.exp(log_t), eligible)
        return float(-np.log(np.clip(p[rows, actions], 1e-12, 1.0)).mean())

    result = minimize_scalar(nll, bounds=(-2.0, 2.0), method="bounded")
    return float(np.exp(result.x))
