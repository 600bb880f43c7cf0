"""Choices made on the validation clients: the learner, the S-learner's rounds, interval width.

The held-out clients are never used for any of them.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

from model.learners.calibration import calibrate_interval
from model.learners.outcome import OutcomeLearner
from model.learners.s_learner import SLearner

logger = logging.getLogger(__name__)


def selection_metric(has_truth: bool) -> str:
    """What the learner is chosen by: true V_rec with truth, the DR estimate without."""
    return "v_rec" if has_truth else "dr_value"


def select_learner(validation: Mapping[str, Mapping[str, Any]], *, metric: str) -> str:
    """The learner with the best validation `metric`; ties and missing values go to
    the earlier learner in the configuration's order. Never sees test figures."""
    best_name: str | None = None
    best_value = -np.inf
    for name, figures in validation.items():
        value = figures.get(metric)
        if value is not None and np.isfinite(value) and value > best_value:
            best_name, best_value = name, float(value)
    if best_name is None:
        best_name = next(iter(validation))
        logger.warning("no learner has a validation %s; serving %s", metric, best_name)
    return best_name


ROUND_FRACTIONS: Final = (1.0, 0.75, 0.5, 0.25)


def choose_rounds(
    learner: OutcomeLearner,
    value_of: Callable[[OutcomeLearner], float | None],
) -> tuple[OutcomeLearner, dict[int, float | None]]:
    """The S-learner cut to the number of rounds with the best validation policy value.

    Early stopping (or a fixed `n_estimators`) picks rounds by how well the
    outcome is predicted; what a recommendation needs is the ranking of
    actions for one client, which more rounds can make worse (the main
    effects fit on and the small differences between actions are fitted
    to noise). `value_of` scores a candidate on the validation clients;
    candidates are the first 100, 75, 50 and 25 % of the fitted rounds, and
    a shorter one must be strictly better to be chosen. Learners without
    rounds to cut are returned as they are.
    """
    if not isinstance(learner, SLearner):
        return learner, {}
    values: dict[int, float | None] = {}
    best, best_value = learner, -np.inf
    for fraction in ROUND_FRACTIONS:
        rounds = max(1, round(learner.n_rounds_ * fraction))
        if rounds in values:
            continue
        candidate = learner if rounds == learner.n_rounds_ else learner.truncated(rounds)
        value = value_of(candidate)
        values[rounds] = value
        if value is not None and np.isfinite(value) and value > best_value:
            best, best_value = candidate, float(value)
    return best, values


def calibrate_intervals(
    learner: OutcomeLearner,
    X: np.ndarray,
    truth: np.ndarray,
    eligible: np.ndarray,
    *,
    level: float,
) -> float | None:
    """Set the learner's interval width so its intervals cover `truth` at `level`.

    Uses `model.learners.calibration.calibrate_interval` on a shallow copy whose epistemic
    spread is computed once (the bisection asks for it 30 times), then gives
    the width to the learner itself.
    """
    mask = eligible & np.isfinite(truth)
    if not mask.any():
        return None
    spread = learner.spread(X)
    probe = copy.copy(learner)
    probe.spread = lambda _X: spread  # type: ignore[method-assign,assignment]
    width = float(calibrate_interval(probe, X, np.nan_to_num(truth), mask, level=level))
    learner.heterogeneity_ = width
    return width
