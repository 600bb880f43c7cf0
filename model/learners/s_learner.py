"""The S-learner: one gradient-boosted classifier with the action as a feature."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Self

import lightgbm as lgb
import numpy as np

from model.learners.boosting import (
    booster_from_string,
    booster_to_string,
    client_folds,
    deterministic_params,
    truncate_booster,
)
from model.learners.calibration import stored_calibration
from model.learners.outcome import OutcomeLearner, TrainingData
from model.tree_predict import contributions, raw_scores


class SLearner(OutcomeLearner):
    """One gradient-boosted classifier with the action as a categorical feature.

    The "S-learner" of Künzel, Sekhon, Bickel & Yu (2019), "Metalearners for
    estimating heterogeneous treatment effects using machine learning", PNAS.
    Interactions between the action and the client's features are learnt by
    the trees. The epistemic spread comes from a small bag of models fitted on
    client bootstrap samples (Efron & Tibshirani 1993).
    """

    name = "s_learner"
    scale = "logit"

    def __init__(
        self,
        *,
        n_actions: int,
        # Small trees rank the actions as well as larger, longer-trained ones
        # (with calibration and interval coverage no worse) at a quarter of the
        # cost of training, scoring and TreeSHAP; bench/RESULTS.md has the
        # comparison of model size against quality.
        n_estimators: int = 100,
        learning_rate: float = 0.15,
        num_leaves: int = 7,
        min_child_samples: int = 100,
        n_bags: int = 4,
        early_stopping_rounds: int = 0,
        categorical_features: Sequence[int] = (),
        seed: int = 0,
        num_threads: int = 1,
        lgb_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(n_actions=n_actions, seed=seed, num_threads=num_threads)
        self.early_stopping_rounds = early_stopping_rounds
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.n_bags = n_bags
        self.categorical_features = categorical_features
        self.lgb_params = lgb_params

    def _params(self, seed: int) -> dict[str, Any]:
        return deterministic_params(
            objective="binary",
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            feature_fraction=0.9,
            bagging_fraction=0.8,
            bagging_freq=1,
            lambda_l2=1.0,
            cat_smooth=10.0,
            seed=seed,
            num_threads=self.num_threads,
        ) | dict(self.lgb_params or {})

    def _train(
        self, X: np.ndarray, actions: np.ndarray, y: np.ndarray, seed: int, rounds: int
    ) -> lgb.Booster:
        X_with_action = _with_action(X, actions)
        categorical = [*self.categorical_features, X_with_action.shape[1] - 1]
        return lgb.train(
            self._params(seed),
            lgb.Dataset(X_with_action, y, categorical_feature=categorical),
            num_boost_round=rounds,
        )

    def _rounds(self, data: TrainingData) -> int:
        """`n_estimators`, or with early stopping the best round on a fold of clients."""
        if not self.early_stopping_rounds:
            return self.n_estimators
        stop = client_folds(data.clusters, 5, self.seed + 7) == 4
        if not stop.any() or stop.all():
            return self.n_estimators
        categorical = [*self.categorical_features, data.X.shape[1]]
        dtrain = lgb.Dataset(
            _with_action(data.X[~stop], data.actions[~stop]),
            data.y[~stop],
            categorical_feature=categorical,
        )
        dvalid = lgb.Dataset(
            _with_action(data.X[stop], data.actions[stop]),
            data.y[stop],
            categorical_feature=categorical,
            reference=dtrain,
        )
        probe = lgb.train(
            self._params(self.seed),
            dtrain,
            num_boost_round=self.n_estimators,
            valid_sets=[dvalid],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        # All rows train the final model: a quarter more data, a quarter more rounds.
        return max(1, min(self.n_estimators, round(probe.best_iteration * 1.25)))

    def fit(self, data: TrainingData) -> Self:
        self.n_rounds_ = self._rounds(data)
        self.booster_ = self._train(data.X, data.actions, data.y, self.seed, self.n_rounds_)
        rng = np.random.default_rng(self.seed + 1)
        unique, inverse = np.unique(data.clusters, return_inverse=True)
        self.bags_: list[lgb.Booster] = []
        for bag in range(self.n_bags):
            counts = rng.poisson(1.0, len(unique))
            weight_rows = counts[inverse]
            keep = np.repeat(np.arange(len(data.y)), weight_rows)
            self.bags_.append(
                self._train(
                    data.X[keep],
                    data.actions[keep],
                    data.y[keep],
                    self.seed + 100 + bag,
                    max(1, self.n_rounds_ // 2),
                )
            )
        self.fitted_ = True
        return self

    def truncated(self, rounds: int) -> SLearner:
        """This model with its first `rounds` rounds (its bags with half as many).

        Boosting is sequential and seeded, so the first rounds of a longer fit
        are exactly the fit with fewer rounds: candidates for the number of
        rounds cost no new fits (see `training.pipeline.choose_rounds`).
        """
        self._check()
        rounds = max(1, min(int(rounds), self.booster_.current_iteration()))
        out = copy.copy(self)
        out.n_rounds_ = rounds
        out.n_estimators = rounds
        out.early_stopping_rounds = 0
        out.booster_ = truncate_booster(self.booster_, rounds)
        out.bags_ = [truncate_booster(bag, max(1, rounds // 2)) for bag in self.bags_]
        return out

    def predict_margin(self, X: np.ndarray) -> np.ndarray:
        self._check()
        rows = _rows_for_all_actions(X, self.n_actions)
        raw = raw_scores(self.booster_, rows, num_threads=self.num_threads)
        return self._calibrated(raw.reshape(self.n_actions, len(X)).T)

    def predict_cells(self, X: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Only the cells asked for are predicted: one row per (row, action) pair."""
        self._check()
        row, action = np.nonzero(cells)
        raw = raw_scores(self.booster_, _with_action(X[row], action), num_threads=self.num_threads)
        out = np.full(cells.shape, np.nan)
        out[row, action] = self.chance(self._calibrated(raw))
        return out

    def spread(self, X: np.ndarray) -> np.ndarray:
        self._check()
        if not self.bags_:
            return np.zeros((len(X), self.n_actions))
        rows = _rows_for_all_actions(X, self.n_actions)
        margins = np.stack(
            [
                raw_scores(bag, rows, num_threads=self.num_threads)
                .reshape(self.n_actions, len(X))
                .T
                for bag in self.bags_
            ]
        )
        if len(self.bags_) < 2:
            return np.zeros((len(X), self.n_actions))
        return margins.std(axis=0, ddof=1) * abs(self.calibration_[0])

    def spread_cells(self, X: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Only the cells asked for go through the bags: one row per (row, action) pair."""
        self._check()
        out = np.full(cells.shape, np.nan)
        row, action = np.nonzero(cells)
        if len(self.bags_) < 2:
            out[row, action] = 0.0
            return out
        rows = _with_action(X[row], action)
        margins = np.stack(
            [raw_scores(bag, rows, num_threads=self.num_threads) for bag in self.bags_]
        )
        out[row, action] = margins.std(axis=0, ddof=1) * abs(self.calibration_[0])
        return out

    def contributions(self, X: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """TreeSHAP on the logit scale; last column is the action's own share.

        Columns: one per encoded feature, then the action column, then the
        bias (expected margin). Rows add up to the margin exactly.
        """
        self._check()
        rows = _with_action(X, actions)
        contrib = contributions(self.booster_, rows, num_threads=self.num_threads)
        return self._calibrated_contributions(contrib)

    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {
            "kind": self.name,
            "n_actions": self.n_actions,
            "booster": booster_to_string(self.booster_),
            "bags": [booster_to_string(bag) for bag in self.bags_],
            "heterogeneity": self.heterogeneity_,
            "calibration": list(self.calibration_),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        learner = cls(n_actions=int(data["n_actions"]))
        learner.booster_ = booster_from_string(data["booster"])
        learner.bags_ = [booster_from_string(text) for text in data["bags"]]
        learner.heterogeneity_ = float(data["heterogeneity"])
        learner.calibration_ = stored_calibration(data)
        learner.fitted_ = True
        return learner


def _rows_for_all_actions(X: np.ndarray, n_actions: int) -> np.ndarray:
    """Stack X once per action with the action code as the last column."""
    n = len(X)
    out = np.empty((n * n_actions, X.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = np.tile(X, (n_actions, 1))
    out[:, -1] = np.repeat(np.arange(n_actions, dtype=np.float32), n)
    return out


def _with_action(X: np.ndarray, actions: np.ndarray) -> np.ndarray:
    out = np.empty((len(X), X.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = X
    out[:, -1] = actions
    return out
