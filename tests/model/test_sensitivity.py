"""Bounds on the off-policy value under the marginal sensitivity model.

Checked against what the method promises: Lambda = 1 is the ordinary
(self-normalised) estimate, the bounds widen as Lambda grows, the sorted
threshold solution equals brute force over every vertex of the weight box,
and on a logged bandit confounded by a hidden trait with a known Lambda the
sensitivity interval at that Lambda covers the true value where the plain
doubly-robust interval does not.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from model.evaluation.policy_value import dr_policy_value
from model.evaluation.sensitivity import (
    SENSITIVITY_LAMBDAS,
    msm_weight_bounds,
    policy_value_sensitivity,
)


def _bandit(seed: int, n: int = 400, n_actions: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    propensity = rng.dirichlet(np.ones(n_actions) * 2, size=n)
    taken = np.array([rng.choice(n_actions, p=row) for row in propensity])
    recommended = rng.integers(0, n_actions, size=n)
    mu = rng.uniform(0.1, 0.6, size=(n, n_actions))
    y = (rng.random(n) < mu[np.arange(n), taken]).astype(float)
    clusters = rng.integers(0, n // 3, size=n)
    return {
        "y": y,
        "taken": taken,
        "propensity": propensity,
        "recommended": recommended,
        "mu": mu,
        "clusters": clusters,
    }


def test_weight_bounds_follow_the_odds_ratio() -> None:
    a, b = msm_weight_bounds(np.array([0.5, 0.2, 1.0]), 2.0)
    # odds 1 -> 1/e* in [1 + 1/2, 1 + 2]; odds 1/4 -> [1 + 4/2, 1 + 4 * 2]; e = 1 stays 1
    np.testing.assert_allclose(a, [1.5, 3.0, 1.0])
    np.testing.assert_allclose(b, [3.0, 9.0, 1.0])
    a1, b1 = msm_weight_bounds(np.array([0.3]), 1.0)
    assert a1[0] == pytest.approx(1 / 0.3) and b1[0] == pytest.approx(1 / 0.3)


@pytest.mark.parametrize("with_mu", [False, True])
def test_lambda_one_is_the_ordinary_self_normalised_estimate(with_mu: bool) -> None:
    data = _bandit(0)
    mu = data["mu"] if with_mu else None
    analysis = policy_value_sensitivity(
        y=data["y"],
        taken=data["taken"],
        propensity=data["propensity"],
        recommended=data["recommended"],
        clusters=data["clusters"],
        mu=mu,
        n_boot=50,
    )
    n = len(data["y"])
    matched = data["taken"] == data["recommended"]
    w = 1 / data["propensity"][np.arange(n), data["recommended"]][matched]
    if with_mu:
        mu_rec = data["mu"][np.arange(n), data["recommended"]]
        expected = mu_rec.mean() + np.sum(w * (data["y"] - mu_rec)[matched]) / w.sum()
    else:
        expected = np.sum(w * data["y"][matched]) / w.sum()  # Hájek
    assert analysis.form == ("dr" if with_mu else "ipw")
    assert analysis.estimate == pytest.approx(expected)
    first = analysis.bounds[0]
    assert first.lam == 1.0
    assert first.value_low == pytest.approx(expected) and first.value_high == pytest.approx(
        expected
    )
    assert first.low <= expected <= first.high
    assert analysis.reference == pytest.approx(data["y"].mean())


@pytest.mark.parametrize("with_mu", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bounds_nest_as_lambda_grows(with_mu: bool, seed: int) -> None:
    data = _bandit(seed)
    analysis = policy_value_sensitivity(
        y=data["y"],
        taken=data["taken"],
        propensity=data["propensity"],
        recommended=data["recommended"],
        clusters=data["clusters"],
        mu=data["mu"] if with_mu else None,
        lambdas=(3.0, 1.0, 1.5, 1.1, 2.0, 1.25),
        n_boot=80,
    )
    lams = [b.lam for b in analysis.bounds]
    assert (
        lams == sorted(lams) == [1.0, 1.1, 1.25, 1.5, 2.0, 3.0]
    )  # sorted, whatever the order given
    for smaller, larger in itertools.pairwise(analysis.bounds):
        assert larger.value_low <= smaller.value_low + 1e-12
        assert larger.value_high >= smaller.value_high - 1e-12
        # the same replicates at every lam, so the bootstrap ends nest too
        assert larger.low <= smaller.low + 1e-12
        assert larger.high >= smaller.high - 1e-12
    for bound in analysis.bounds:
        assert bound.low <= bound.value_low <= bound.value_high <= bound.high


@pytest.mark.parametrize("seed", range(6))
def test_threshold_solution_equals_brute_force_over_the_box(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 9
    propensity = rng.uniform(0.05, 0.95, size=(n, 2))
    taken = np.zeros(n, dtype=int)
    recommended = np.zeros(n, dtype=int)  # every row matched
    y = rng.integers(0, 2, size=n).astype(float)
    mu = rng.uniform(0.1, 0.9, size=(n, 2))
    lam = 1.7
    for with_mu in (False, True):
        analysis = policy_value_sensitivity(
            y=y,
            taken=taken,
            propensity=propensity,
            recommended=recommended,
            clusters=None,
            mu=mu if with_mu else None,
            lambdas=[lam],
            n_boot=5,
        )
        a, b = msm_weight_bounds(propensity[:, 0], lam)
        r = y - mu[:, 0] if with_mu else y
        constant = mu[:, 0].mean() if with_mu else 0.0
        # a linear-fractional objective is extreme at a vertex of the box: try all 2^n
        values = [
            constant + np.dot(w, r) / w.sum()
            for w in (
                np.where(np.array(v, dtype=bool), b, a) for v in itertools.product([0, 1], repeat=n)
            )
        ]
        bound = analysis.bounds[0]
        assert bound.value_low == pytest.approx(min(values))
        assert bound.value_high == pytest.approx(max(values))


def _confounded_world(seed: int, n: int = 20_000) -> tuple[dict[str, np.ndarray], float, float]:
    """Caseworkers give action 1 more often to clients with a hidden trait that also
    raises the outcome. Returns the logged data (with the propensity given the
    observed feature only), the true value of always recommending action 1, and
    the smallest Lambda for which the marginal sensitivity model holds."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=n)
    u = rng.integers(0, 2, size=n)  # hidden
    base_odds = np.where(x == 1, 0.6, 0.3)
    odds = base_odds * np.where(u == 1, 2.0, 0.5)  # a factor 4 between the two traits
    e_xu = odds / (1 + odds)
    e_x = {k: 0.5 * (e_xu[(x == k) & (u == 0)][0] + e_xu[(x == k) & (u == 1)][0]) for k in (0, 1)}
    e_obs = np.where(x == 1, e_x[1], e_x[0])
    lam_true = max(
        float(np.max((e_xu / (1 - e_xu)) / (e_obs / (1 - e_obs)))),
        float(np.max((e_obs / (1 - e_obs)) / (e_xu / (1 - e_xu)))),
    )
    p1 = 0.2 + 0.1 * x + 0.5 * u  # chance of a good outcome under action 1
    p0 = 0.15 + 0.1 * x + 0.2 * u
    taken = (rng.random(n) < e_xu).astype(int)
    y = (rng.random(n) < np.where(taken == 1, p1, p0)).astype(float)
    true_value = 0.2 + 0.1 * 0.5 + 0.5 * 0.5
    # the outcome model learns E[y | x, taken] from the (confounded) log
    mu = np.zeros((n, 2))
    for k in (0, 1):
        for t in (0, 1):
            rows = (x == k) & (taken == t)
            mu[x == k, t] = y[rows].mean()
    data = {
        "y": y,
        "taken": taken,
        "propensity": np.column_stack([1 - e_obs, e_obs]),
        "recommended": np.ones(n, dtype=int),
        "mu": mu,
        "clusters": np.arange(n),
    }
    return data, true_value, lam_true


@pytest.mark.parametrize("with_mu", [False, True])
def test_sensitivity_interval_covers_a_known_confounding_where_the_plain_one_does_not(
    with_mu: bool,
) -> None:
    data, truth, lam_true = _confounded_world(0)
    assert 1.5 < lam_true < 2.5
    plain = dr_policy_value(
        y=data["y"],
        taken=data["taken"],
        mu=data["mu"],
        propensity=data["propensity"],
        recommended=data["recommended"],
        clusters=data["clusters"],
    )
    assert not plain.low <= truth <= plain.high  # the hidden trait biases it
    analysis = policy_value_sensitivity(
        y=data["y"],
        taken=data["taken"],
        propensity=data["propensity"],
        recommended=data["recommended"],
        clusters=data["clusters"],
        mu=data["mu"] if with_mu else None,
        lambdas=[1.0, lam_true],
    )
    at_one, at_true = analysis.bounds
    assert not at_one.low <= truth <= at_one.high
    assert at_true.low <= truth <= at_true.high
    assert analysis.smallest_covering_lambda(truth) == pytest.approx(lam_true)


def test_break_even_lambda_is_where_the_lower_end_reaches_the_reference() -> None:
    data, _, _ = _confounded_world(1, n=5_000)
    common = {
        "y": data["y"],
        "taken": data["taken"],
        "propensity": data["propensity"],
        "recommended": data["recommended"],
        "clusters": data["clusters"],
        "mu": data["mu"],
        "n_boot": 100,
        "seed": 3,
    }
    analysis = policy_value_sensitivity(**common)
    reference = analysis.reference
    assert reference == pytest.approx(data["y"].mean())
    assert analysis.bounds[0].low > reference  # the claimed gain is there at lam = 1
    lam = analysis.break_even_lambda
    assert lam is not None and 1 < lam < SENSITIVITY_LAMBDAS[-1]
    # the same seed draws the same replicates at any lam
    just_below = policy_value_sensitivity(**common, lambdas=[lam / 1.002]).bounds[0]
    at = policy_value_sensitivity(**common, lambdas=[lam]).bounds[0]
    assert just_below.low > reference >= at.low
    # a reference above the estimate is broken even at once; one far below never is
    assert policy_value_sensitivity(**common, reference=0.99).break_even_lambda == 1.0
    never = policy_value_sensitivity(**common, reference=-1.0, max_lambda=5.0)
    assert never.break_even_lambda is None


def test_no_matched_rows_give_nan_bounds() -> None:
    analysis = policy_value_sensitivity(
        y=[1.0, 0.0],
        taken=[0, 0],
        propensity=[[0.5, 0.5], [0.5, 0.5]],
        recommended=[1, 1],
        clusters=None,
    )
    assert math.isnan(analysis.estimate)
    assert all(math.isnan(b.low) and math.isnan(b.high) for b in analysis.bounds)
    assert analysis.break_even_lambda is None
    assert analysis.as_dict()["bounds"][0]["lambda"] == 1.0


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"lambdas": [0.5, 1.0]}, "lambdas"),
        ({"lambdas": []}, "lambdas"),
        ({"lambdas": [1.0, float("nan")]}, "lambdas"),
        ({"n_boot": 0}, "n_boot"),
        ({"alpha": 1.5}, "alpha"),
        ({"max_lambda": 1.0}, "max_lambda"),
        ({"reference": float("nan")}, "reference"),
        ({"mu": np.zeros((3, 2))}, "mu"),
        ({"clip": 0.0}, "clip"),
        ({"y": [0.0, 0.5, 1.0, 1.0]}, "y"),
        ({"taken": [0, 1, 2, 0]}, "taken"),
        ({"clusters": [1, 2]}, "clusters"),
    ],
)
def test_bad_inputs_name_the_argument(changes: dict, name: str) -> None:
    arguments = {
        "y": [1.0, 0.0, 1.0, 1.0],
        "taken": [0, 1, 1, 0],
        "propensity": [[0.5, 0.5]] * 4,
        "recommended": [0, 1, 0, 0],
        "clusters": [1, 1, 2, 3],
        "mu": None,
    }
    arguments.update(changes)
    with pytest.raises(ValueError, match=name):
        policy_value_sensitivity(**arguments)


def test_weight_bounds_refuse_a_lambda_below_one_and_bad_propensities() -> None:
    with pytest.raises(ValueError, match="lam"):
        msm_weight_bounds([0.5], 0.9)
    with pytest.raises(ValueError, match="propensity"):
        msm_weight_bounds([0.0], 2.0)
