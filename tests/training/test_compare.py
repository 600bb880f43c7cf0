"""Choosing between candidate policies on validation clients from observed outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from model.learners.outcome import TrainingData
from training.pipeline.compare import Referee, choose, fit_referee, paired_difference


def test_the_paired_difference_is_clustered_by_client_as_a_hand_computation() -> None:
    terms = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    default = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    clients = np.array(["a", "a", "b", "c", "c", "d"])
    got = paired_difference(terms, default, clients)
    delta = terms - default  # per client sums: a 1, b 0, c 1, d 0; points 2, 1, 2, 1
    mean = delta.mean()
    residual = np.array([1 - 2 * mean, 0 - mean, 1 - 2 * mean, 0 - mean])
    se = np.sqrt(4 / 3 * (residual**2).sum()) / 6
    assert got.value == pytest.approx(terms.mean())
    assert got.difference == pytest.approx(mean)
    assert got.standard_error == pytest.approx(se)


def _referee(n: int, seed: int = 0) -> Referee:
    rng = np.random.default_rng(seed)
    taken = rng.integers(0, 2, n)
    return Referee(
        y=rng.integers(0, 2, n).astype(float),
        taken=taken,
        mu=np.full((n, 2), 0.5),
        propensity=np.full((n, 2), 0.5),
        clusters=np.arange(n),
    )


def test_the_default_is_kept_unless_another_is_better_by_more_than_one_standard_error() -> None:
    referee = _referee(2000)
    same = referee.taken.copy()
    # a policy that differs from the default on a few points only: noise, not evidence
    nearly = same.copy()
    nearly[:20] = 1 - nearly[:20]
    choice = choose({"default": np.zeros(2000, dtype=int), "other": nearly}, referee)
    standing = choice.standings["other"]
    assert (choice.chosen == "other") == (standing.difference > standing.standard_error)
    # outcomes where action 1 always succeeds and action 0 never does: clearly better
    clear = Referee(
        y=referee.taken.astype(float),
        taken=referee.taken,
        mu=referee.mu,
        propensity=referee.propensity,
        clusters=referee.clusters,
    )
    choice = choose({"zeros": np.zeros(2000, dtype=int), "ones": np.ones(2000, dtype=int)}, clear)
    assert choice.chosen == "ones" and choice.default == "zeros"
    assert choice.standings["zeros"].difference == 0.0


def test_the_referee_never_grades_a_point_with_a_model_fitted_on_its_client() -> None:
    rng = np.random.default_rng(1)
    n = 1200
    X = rng.normal(size=(n, 3))
    clusters = np.repeat(np.arange(n // 3), 3)
    actions = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.3 + 0.2 * actions).astype(float)
    eligible = np.ones((n, 2), dtype=bool)

    def mu_with(labels: np.ndarray) -> np.ndarray:
        data = TrainingData(X, actions, labels, eligible, clusters)
        return fit_referee(
            data, np.full((n, 2), 0.5), n_actions=2, categorical_features=[], seed=0
        ).mu

    base = mu_with(y)
    flipped = y.copy()
    flipped[clusters == 0] = 1 - flipped[clusters == 0]
    changed = mu_with(flipped)
    # the flipped client's own chances do not move; others' (in the other fold) may
    np.testing.assert_array_equal(base[clusters == 0], changed[clusters == 0])
    assert not np.array_equal(base, changed)
