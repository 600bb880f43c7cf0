"""LightGBM as every learner uses it: reproducible parameters, client folds, boosters as text."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np


def deterministic_params(**overrides: Any) -> dict[str, Any]:
    """LightGBM parameters that give the same trees on every run, with `overrides` on top."""
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


def truncate_booster(booster: lgb.Booster, rounds: int) -> lgb.Booster:
    """The booster with only its first `rounds` rounds (itself when it has no more)."""
    if booster.current_iteration() <= rounds:
        return booster
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=rounds))


def booster_to_string(booster: lgb.Booster) -> str:
    return booster.model_to_string(num_iteration=None)


def booster_from_string(text: str) -> lgb.Booster:
    return lgb.Booster(model_str=text)
