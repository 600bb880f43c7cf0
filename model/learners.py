"""The learners: a propensity model of the historical policy and outcome learners.

Every outcome learner answers the same questions for a matrix of encoded
decision points `X` (n rows) and the catalogue's A actions:

- `predict(X)`: (n, A) probability of a good outcome under each action;
- `predict_margin(X)`: (n, A) the same on the learner's additive scale;
- `interval(X, level)`: (low, high), each (n, A);
- `contributions(X, actions)`: exact TreeSHAP contributions on the additive
  scale for the given action of each row, one column per encoded feature plus
  a last column for what belongs to the action itself.

They follow scikit-learn's estimator conventions: `__init__` stores
arguments, `fit` returns `self`, fitted state ends in `_`, and using a learner
before `fit` raises `NotFittedError`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import lightgbm as lgb
import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, logit, softmax

from model.errors import NotFittedError
from model.tree_predict import contributions, raw_scores

EPS = 1e-4


def _lgb_params(**overrides: Any) -> dict[str, Any]:
    params = {
        "verbosity": -1,
        "num_threads": 1,
        "deterministic": True,
        "force_row_wise": True,
        "seed": 0,
        "bagging_seed": 0,
        "feature_fraction_seed": 0,
        "data_random_seed": 0,
    }
    params.update(overrides)
    return params


def client_folds(clusters: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold number per row; all rows of a client fall in one fold."""
    unique, inverse = np.unique(clusters, return_inverse=True)
    rng = np.random.default_rng(seed)
    fold_of_client = rng.permutation(len(unique)) % n_folds
    return fold_of_client[inverse]


def _truncate(booster: lgb.Booster, rounds: int) -> lgb.Booster:
    if booster.current_iteration() <= rounds:
        return booster
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=rounds))


def _booster_to_string(booster: lgb.Booster) -> str:
    return booster.model_to_string(num_iteration=None)


def _booster_from_string(text: str) -> lgb.Booster:
    return lgb.Booster(model_str=text)


# --------------------------------------------------------------------------
# Propensity: the historical caseworkers' policy
# --------------------------------------------------------------------------


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

    def fit(self, X: np.ndarray, actions: np.ndarray, eligible: np.ndarray, clusters: np.ndarray) -> Self:
        X = self._columns(X)
        params = _lgb_params(
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
            cat = list(self.categorical_features)
        else:
            cat = [self.feature_indices.index(j) for j in self.categorical_features if j in self.feature_indices]
        dtrain = lgb.Dataset(X[train], actions[train], categorical_feature=cat, free_raw_data=True)
        dvalid = lgb.Dataset(X[valid], actions[valid], categorical_feature=cat, reference=dtrain)
        # Stopped on the held-out fold; that fold then calibrates the temperature.
        self.booster_ = lgb.train(
            params,
            dtrain,
            num_boost_round=self.n_estimators,
            valid_sets=[dvalid],
            callbacks=[lgb.early_stopping(10, verbose=False)],
        )
        raw_valid = self.booster_.predict(X[valid], raw_score=True, num_threads=self.num_threads)
        self.temperature_ = _fit_temperature(raw_valid, actions[valid], eligible[valid])
        return self

    def predict_proba(self, X: np.ndarray, eligible: np.ndarray) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise NotFittedError("PropensityModel is not fitted; call fit() first")
        raw = raw_scores(self.booster_, self._columns(X), num_threads=self.num_threads)
        return _masked_softmax(raw / self.temperature_, eligible)

    def to_dict(self) -> dict[str, Any]:
        return {
            "booster": _booster_to_string(self.booster_),
            "temperature": self.temperature_,
            "n_actions": self.n_actions,
            "feature_indices": self.feature_indices,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PropensityModel:
        model = cls(n_actions=int(data["n_actions"]), feature_indices=data.get("feature_indices"))
        model.booster_ = _booster_from_string(data["booster"])
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


# --------------------------------------------------------------------------
# Outcome learners
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingData:
    """Labelled decision points with a known action, encoded."""

    X: np.ndarray
    actions: np.ndarray  # int index into the catalogue's actions
    y: np.ndarray  # 0/1
    eligible: np.ndarray  # (n, A) bool
    clusters: np.ndarray  # client ids, for grouped folds


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
    # the logit scale: set from the simulator's truth when a data folder has
    # one (see `calibrate_interval`), zero otherwise.
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
        margin = self.predict_margin(X)
        return expit(margin) if self.scale == "logit" else np.clip(margin, EPS, 1 - EPS)

    def predict_margin(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def spread(self, X: np.ndarray) -> np.ndarray:
        """(n, A) epistemic standard deviation on the logit scale."""
        raise NotImplementedError

    def interval(self, X: np.ndarray, level: float = 0.9, p: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        self._check()
        p = self.predict(X) if p is None else p
        z = _normal_quantile(0.5 + level / 2)
        width = z * np.sqrt(self.spread(X) ** 2 + self.heterogeneity_**2)
        centre = logit(np.clip(p, EPS, 1 - EPS))
        return expit(centre - width), expit(centre + width)

    def contributions(self, X: np.ndarray, actions: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@functools.lru_cache(maxsize=16)
def _normal_quantile(q: float) -> float:
    # scipy.stats.norm.ppf costs ~0.1 ms of its own per call: too much per request.
    from scipy.stats import norm

    return float(norm.ppf(q))


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
        g = p - y
        return float(loss.mean()), np.array([(g * raw).mean(), g.mean()])

    result = minimize(nll, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B",
                      bounds=[(0.25, 4.0), (-3.0, 3.0)])
    return float(result.x[0]), float(result.x[1])


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
        # Small trees (100 rounds of 7 leaves) matched or beat 400 rounds of
        # 15 leaves on every world measured (50 000 clients: capture 0.7998 vs
        # 0.790 seed 1, 0.815 vs 0.792 seed 2, 0.735 vs 0.738 with twice the
        # confounding; ECE and coverage no worse) at a quarter of the cost
        # of training, scoring and TreeSHAP (bench/RESULTS.md).
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
        return _lgb_params(
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

    def _train(self, X: np.ndarray, actions: np.ndarray, y: np.ndarray, seed: int, rounds: int) -> lgb.Booster:
        Xa = _with_action(X, actions)
        cat = [*self.categorical_features, Xa.shape[1] - 1]
        return lgb.train(self._params(seed), lgb.Dataset(Xa, y, categorical_feature=cat), num_boost_round=rounds)

    def _rounds(self, data: TrainingData) -> int:
        """`n_estimators`, or with early stopping the best round on a fold of clients."""
        if not self.early_stopping_rounds:
            return self.n_estimators
        stop = client_folds(data.clusters, 5, self.seed + 7) == 4
        if not stop.any() or stop.all():
            return self.n_estimators
        cat = [*self.categorical_features, data.X.shape[1]]
        dtrain = lgb.Dataset(_with_action(data.X[~stop], data.actions[~stop]), data.y[~stop], categorical_feature=cat)
        dvalid = lgb.Dataset(
            _with_action(data.X[stop], data.actions[stop]), data.y[stop], categorical_feature=cat, reference=dtrain
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
        for b in range(self.n_bags):
            counts = rng.poisson(1.0, len(unique))
            weight_rows = counts[inverse]
            keep = np.repeat(np.arange(len(data.y)), weight_rows)
            self.bags_.append(
                self._train(data.X[keep], data.actions[keep], data.y[keep], self.seed + 100 + b, max(1, self.n_rounds_ // 2))
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
        out.booster_ = _truncate(self.booster_, rounds)
        out.bags_ = [_truncate(b, max(1, rounds // 2)) for b in self.bags_]
        return out

    def predict_margin(self, X: np.ndarray) -> np.ndarray:
        self._check()
        rows = _rows_for_all_actions(X, self.n_actions)
        raw = raw_scores(self.booster_, rows, num_threads=self.num_threads)
        return self._calibrated(raw.reshape(self.n_actions, len(X)).T)

    def spread(self, X: np.ndarray) -> np.ndarray:
        self._check()
        if not self.bags_:
            return np.zeros((len(X), self.n_actions))
        rows = _rows_for_all_actions(X, self.n_actions)
        margins = np.stack(
            [raw_scores(b, rows, num_threads=self.num_threads).reshape(self.n_actions, len(X)).T for b in self.bags_]
        )
        if len(self.bags_) < 2:
            return np.zeros((len(X), self.n_actions))
        return margins.std(axis=0, ddof=1) * abs(self.calibration_[0])

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
            "booster": _booster_to_string(self.booster_),
            "bags": [_booster_to_string(b) for b in self.bags_],
            "heterogeneity": self.heterogeneity_,
            "calibration": list(self.calibration_),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SLearner:
        learner = cls(n_actions=int(data["n_actions"]))
        learner.booster_ = _booster_from_string(data["booster"])
        learner.bags_ = [_booster_from_string(b) for b in data["bags"]]
        learner.heterogeneity_ = float(data["heterogeneity"])
        learner.calibration_ = _calibration_from(data)
        learner.fitted_ = True
        return learner


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
        for k in range(self.n_folds):
            train, test = fold != k, fold == k
            sub = TrainingData(data.X[train], data.actions[train], data.y[train], data.eligible[train], data.clusters[train])
            outcome = SLearner(
                n_actions=a_count, n_bags=0, categorical_features=self.categorical_features,
                n_estimators=self.nuisance_estimators, learning_rate=self.nuisance_learning_rate,
                seed=self.seed + k, num_threads=self.num_threads,
            ).fit(sub)
            mu[test] = outcome.predict(data.X[test])
            propensity = PropensityModel(
                n_actions=a_count, categorical_features=self.categorical_features,
                n_estimators=self.nuisance_estimators, seed=self.seed + k, num_threads=self.num_threads,
            ).fit(sub.X, sub.actions, sub.eligible, sub.clusters)
            pi[test] = propensity.predict_proba(data.X[test], data.eligible[test])
        # The fallback for rare actions and the spread for intervals.
        self.outcome_ = SLearner(
            n_actions=a_count, categorical_features=self.categorical_features,
            n_estimators=2 * self.nuisance_estimators, learning_rate=self.nuisance_learning_rate,
            n_bags=self.n_bags, seed=self.seed, num_threads=self.num_threads,
        ).fit(data)
        rows = np.arange(n)
        residual = data.y - mu[rows, data.actions]
        self.models_: list[lgb.Booster | None] = []
        params = _lgb_params(
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
        stop_fold = client_folds(data.clusters, 5, self.seed + 7) == 4 if self.early_stopping_rounds else None
        self.params_ = params
        for a in range(a_count):
            took = data.actions == a
            if took.sum() < self.min_action_rows:
                self.models_.append(None)
                continue
            rows_a = data.eligible[:, a]
            weight = took[rows_a] / np.maximum(pi[rows_a, a], self.propensity_clip)
            phi = mu[rows_a, a] + weight * residual[rows_a]
            self.models_.append(self._regress(data.X[rows_a], phi, None if stop_fold is None else stop_fold[rows_a]))
        self.fitted_ = True
        return self

    def _regress(self, X: np.ndarray, phi: np.ndarray, stop: np.ndarray | None) -> lgb.Booster:
        cat = list(self.categorical_features)
        if stop is None or not stop.any() or stop.all():
            return lgb.train(self.params_, lgb.Dataset(X, phi, categorical_feature=cat), num_boost_round=self.n_estimators)
        dtrain = lgb.Dataset(X[~stop], phi[~stop], categorical_feature=cat)
        dvalid = lgb.Dataset(X[stop], phi[stop], categorical_feature=cat, reference=dtrain)
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
                scale = np.where(np.abs(total) > 1e-9, p / np.where(np.abs(total) > 1e-9, total, 1.0), 0.0)
                out[rows] = contrib * scale[:, None]
            else:
                contrib = np.asarray(booster.predict(X[rows], pred_contrib=True, num_threads=self.num_threads))
                out[rows, :m] = contrib[:, :m]
                out[rows, m + 1] = contrib[:, m]
        return self._calibrated_contributions(out)

    def to_dict(self) -> dict[str, Any]:
        self._check()
        return {
            "kind": self.name,
            "n_actions": self.n_actions,
            "models": [None if b is None else _booster_to_string(b) for b in self.models_],
            "outcome": self.outcome_.to_dict(),
            "heterogeneity": self.heterogeneity_,
            "calibration": list(self.calibration_),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DRLearner:
        learner = cls(n_actions=int(data["n_actions"]))
        learner.models_ = [None if b is None else _booster_from_string(b) for b in data["models"]]
        learner.outcome_ = SLearner.from_dict(data["outcome"])
        learner.heterogeneity_ = float(data["heterogeneity"])
        learner.calibration_ = _calibration_from(data)
        learner.fitted_ = True
        return learner


def _calibration_from(data: dict[str, Any]) -> tuple[float, float]:
    slope, intercept = data.get("calibration", (1.0, 0.0))
    return float(slope), float(intercept)


LEARNERS: dict[str, type[OutcomeLearner]] = {"s_learner": SLearner, "dr_learner": DRLearner}


def learner_from_dict(data: dict[str, Any]) -> OutcomeLearner:
    kind = data["kind"]
    if kind == "s_learner":
        return SLearner.from_dict(data)
    if kind == "dr_learner":
        return DRLearner.from_dict(data)
    raise ValueError(f"unknown learner kind {kind!r}")


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
    lo_w, hi_w = 0.0, 4.0
    for _ in range(30):
        mid = (lo_w + hi_w) / 2
        learner.heterogeneity_ = mid
        lo, hi = learner.interval(X, level, p=p)
        cover = ((truth >= lo) & (truth <= hi))[mask].mean()
        if cover < level:
            lo_w = mid
        else:
            hi_w = mid
    learner.heterogeneity_ = hi_w
    return hi_w
