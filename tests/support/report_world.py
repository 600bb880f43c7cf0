"""A tiny real world and a router fitted on it, for the report tests.

Built once per process (`functools.lru_cache`): nothing mutates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from model.catalogue import load_catalogue
from model.config import RunConfig
from model.decision_points import DecisionPoints, build_decision_points
from model.encoding import FeatureEncoder
from model.fairness.settings import FairnessSettings
from model.learners import PropensityModel, SLearner, TrainingData
from model.router import Router
from training.reports.build import fairness_report_for
from training.simulator import WorldParams, simulate


@dataclass
class World:
    router: Router
    dp: DecisionPoints
    truth: pd.DataFrame
    holdout: np.ndarray
    config: RunConfig


@lru_cache(maxsize=1)
def build_world(n_clients: int = 1500) -> World:
    """Simulate clients, build decision points, fit a small router on the older 70 %.

    Cached, so that the test modules that need it (tests/training/test_reports.py and
    test_report_browser.py) build it once per session; nothing mutates it.
    """
    params = WorldParams(n_clients=n_clients, truth_replicates=1)
    catalogue = load_catalogue()
    history = simulate(params, catalogue)
    config = RunConfig(extract_date=date.fromisoformat(params.extract_date))
    dp = build_decision_points(
        history.clients, history.episodes, history.outcomes, catalogue=catalogue, config=config
    )
    frame = dp.frame
    clients = sorted(frame["client_id"].astype(str).unique())
    holdout_clients = set(clients[int(len(clients) * 0.7) :])
    holdout = frame["client_id"].astype(str).isin(holdout_clients).to_numpy()
    train = ~holdout
    encoder = FeatureEncoder(dp.features, exclude=config.protected_attributes).fit(frame.loc[train])
    X = encoder.transform(frame)
    position = {a: i for i, a in enumerate(dp.actions)}
    taken = np.array([position.get(a, -1) if isinstance(a, str) else -1 for a in frame["action"]])
    known = frame["action_known"].to_numpy(dtype=bool) & (taken >= 0)
    labelled = known & ~frame["censored"].to_numpy(dtype=bool)
    eligible = dp.eligibility().copy()
    eligible[np.flatnonzero(known), taken[known]] = True
    groups = pd.factorize(frame["client_id"])[0]
    common: dict[str, Any] = {
        "n_actions": len(dp.actions),
        "categorical_features": encoder.categorical_indices,
    }
    rows = known & train
    propensity = PropensityModel(n_estimators=30, **common).fit(
        X[rows], taken[rows], eligible[rows], groups[rows]
    )
    rows = labelled & train
    learner = SLearner(n_estimators=30, n_bags=2, **common).fit(
        TrainingData(
            X[rows], taken[rows], frame["label"].to_numpy(float)[rows], eligible[rows], groups[rows]
        )
    )
    router = Router(
        catalogue=catalogue,
        config=config,
        encoder=encoder,
        learner=learner,
        propensity=propensity,
        metadata={
            "learner": "s_learner",
            "training_window": {"from": "2018-01-01", "to": "2023-12-31"},
        },
    )
    return World(router, dp, history.truth, holdout, config)


SETTINGS = FairnessSettings(min_cell_size=5, n_boot=50)
MODEL = {"name": "polku", "version": "7"}


@lru_cache(maxsize=1)
def held_out_report() -> dict[str, Any]:
    """The fairness report of the cached world's held-out clients (callers must not mutate it)."""
    world = build_world()
    return fairness_report_for(
        world.router, world.dp, world.holdout, world.truth, settings=SETTINGS, model=MODEL
    )
