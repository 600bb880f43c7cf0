"""Fitting the encoder, the propensity model and the outcome learners on the training clients."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from model.config import RunConfig
from model.decision_points.points import DecisionPoints
from model.encoding import FeatureEncoder
from model.errors import ConfigError
from model.features import ACTION_PROXY_FEATURES, DECISION_TIMING_FEATURES
from model.learners.hyperparameters import hyperparameters
from model.learners.kinds import LEARNERS
from model.learners.outcome import OutcomeLearner, TrainingData
from model.learners.propensity import PropensityModel
from model.learners.s_learner import SLearner
from model.router import Router
from training.pipeline.inputs import PROPENSITY, Inputs
from training.pipeline.rows import TrainingRows
from training.pipeline.split import Split
from training.router_figures import action_indices

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]


def no_progress(_: str) -> None:
    return None


@dataclass
class FittedModels:
    encoder: FeatureEncoder
    propensity: PropensityModel
    learners: dict[str, OutcomeLearner]
    X: np.ndarray  # every decision point encoded
    outcome_rows: np.ndarray  # the rows the outcome learners were fitted on
    propensity_rows: np.ndarray  # the rows the propensity model was fitted on
    seconds: dict[str, float] = field(default_factory=dict)


def outcome_data(dp: DecisionPoints, X: np.ndarray, mask: np.ndarray) -> TrainingData:
    """The labelled rows of `mask` as an outcome learner's training data."""
    taken = action_indices(dp.frame, dp.actions)
    # A taken action counts as eligible for fitting, even where today's rules say no.
    eligible = dp.eligibility().copy()
    known = taken >= 0
    eligible[np.flatnonzero(known), taken[known]] = True
    clusters = pd.factorize(dp.frame["client_id"].astype(str))[0]
    return TrainingData(
        X=X[mask],
        actions=taken[mask],
        y=dp.frame["label"].to_numpy(dtype=float)[mask],
        eligible=eligible[mask],
        clusters=clusters[mask],
    )


def learner_kwargs(config: RunConfig, name: str) -> dict[str, Any]:
    return dict(config.learner_params.get(name, {}))


def configured_hyperparameters(config: RunConfig, name: str, *, seed: int) -> dict[str, Any]:
    """Learner `name`'s hyperparameters as `fit_models` sets them, defaults included.

    Read from a learner built the way `fit_models` builds it (before any
    choice of rounds cuts it), so what the configuration leaves out shows its
    default value.
    """
    cls = PropensityModel if name == PROPENSITY else LEARNERS[name]
    base = {"n_actions": 1, "seed": seed, "num_threads": config.num_threads}
    return hyperparameters(_construct(cls, name, base, config))


def _construct(cls: type, name: str, base: Mapping[str, Any], config: RunConfig) -> Any:
    kwargs = {**base, **learner_kwargs(config, name)}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"learner_params.{name}: {exc}") from None


def fit_models(
    dp: DecisionPoints,
    split: Split,
    rows: TrainingRows,
    config: RunConfig,
    *,
    seed: int,
    progress: Progress = no_progress,
) -> FittedModels:
    """Fit the encoder, the propensity model and every configured outcome learner on train rows."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    frame = dp.frame
    # Protected attributes are for the fairness audit only; action proxies
    # would take the action's effect (model.features.ACTION_PROXY_FEATURES);
    # assignment units only move clients between services, so the outcome
    # models must not learn from them (training.pipeline.units uses them).
    encoder = FeatureEncoder(
        dp.features,
        exclude=(*config.protected_attributes, *config.assignment_units, *ACTION_PROXY_FEATURES),
    ).fit(frame.loc[split.train])
    X = encoder.transform(frame)
    seconds["encode"] = time.perf_counter() - started
    n_actions = len(dp.actions)
    taken = action_indices(dp.frame, dp.actions)
    eligible = dp.eligibility()
    # A taken action counts as eligible for fitting, even where today's rules say no.
    fit_eligible = eligible.copy()
    known = taken >= 0
    fit_eligible[np.flatnonzero(known), taken[known]] = True
    clusters = pd.factorize(frame["client_id"].astype(str))[0]
    categorical = encoder.categorical_indices
    common = {
        "n_actions": n_actions,
        "categorical_features": categorical,
        "seed": seed,
        "num_threads": config.num_threads,
    }

    progress("fitting the propensity model")
    started = time.perf_counter()
    p_rows = split.train & rows.propensity
    # The support estimate leaves out the features that betray the action at a
    # service start (model.features.DECISION_TIMING_FEATURES).
    support_columns = [
        j for j, name in enumerate(encoder.columns_) if name not in DECISION_TIMING_FEATURES
    ]
    propensity = _construct(
        PropensityModel, PROPENSITY, {**common, "feature_indices": support_columns}, config
    ).fit(X[p_rows], taken[p_rows], fit_eligible[p_rows], clusters[p_rows])
    seconds["fit_propensity"] = time.perf_counter() - started

    o_rows = split.train & rows.outcome
    data = outcome_data(dp, X, o_rows)
    learners: dict[str, OutcomeLearner] = {}
    for name in config.learners:
        progress(f"fitting {name}")
        started = time.perf_counter()
        learners[name] = _construct(LEARNERS[name], name, common, config).fit(data)
        seconds[f"fit_{name}"] = time.perf_counter() - started
        logger.info("fitted %s on %d rows in %.1f s", name, len(data.y), seconds[f"fit_{name}"])
    return FittedModels(encoder, propensity, learners, X, o_rows, p_rows, seconds)


def refit_learner(
    models: FittedModels,
    dp: DecisionPoints,
    split: Split,
    rows: TrainingRows,
    config: RunConfig,
    name: str,
    *,
    seed: int,
) -> OutcomeLearner:
    """Fit learner `name` again on the training and validation clients.

    The recalibration and interval width found on validation are kept: the
    refitted model has the same hyperparameters and more data, so its scale is
    at least as well determined. The held-out clients are never touched.
    """
    fitted = models.learners[name]
    common = {
        "n_actions": len(dp.actions),
        "categorical_features": models.encoder.categorical_indices,
        "seed": seed,
        "num_threads": config.num_threads,
    }
    learner = _construct(LEARNERS[name], name, common, config)
    if config.choose_rounds and isinstance(fitted, SLearner) and isinstance(learner, SLearner):
        # The rounds chosen on validation (choose_rounds), not early stopping's again.
        learner.n_estimators = fitted.n_rounds_
        learner.early_stopping_rounds = 0
    learner.fit(outcome_data(dp, models.X, (split.train | split.validation) & rows.outcome))
    learner.calibration_ = fitted.calibration_
    learner.heterogeneity_ = fitted.heterogeneity_
    return learner


def make_router(
    inputs: Inputs,
    models: FittedModels,
    name: str,
    metadata: Mapping[str, Any] | None = None,
    *,
    learner: OutcomeLearner | None = None,
) -> Router:
    """A router serving learner `name` (or `learner` in its place, e.g. a cut of it)."""
    return Router(
        catalogue=inputs.catalogue,
        config=inputs.config,
        encoder=models.encoder,
        learner=models.learners[name] if learner is None else learner,
        propensity=models.propensity,
        metadata={"learner": name, **(metadata or {})},
    )
