"""The evaluation figures against hand computations, special cases and simulations.

Every metric is checked on a few rows worked out by hand; the off-policy
estimators also against their known special cases (DR = IPW when mu = 0,
DR = direct method when no logged action matches, DR = mean outcome when
the log is on-policy) and for unbiasedness on a simulated logged bandit
with known propensities and known truth.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.calibration import calibration_curve

from model.evaluation.agreement import agreement_at_k
from model.evaluation.bootstrap import bootstrap_mean_interval
from model.evaluation.calibration import (
    brier_score,
    calibration_table,
    expected_calibration_error,
    interval_coverage,
    roc_auc,
)
from model.evaluation.effects import average_effect, effect_terms
from model.evaluation.policy_value import (
    DRValue,
    PolicyValues,
    direct_method_terms,
    dr_policy_value,
    dr_terms,
    ipw_policy_value,
    ipw_terms,
    policy_values,
)

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
NAN = float("nan")


# -- policy values on the truth ------------------------------------------------

TRUTH = np.array(
    [
        [0.2, 0.5, 0.4],
        [0.6, NAN, 0.3],
        [0.1, 0.9, 0.7],  # 0.9 is ineligible: not the oracle
        [NAN, 0.4, 0.5],  # truth of the taken action missing: row left out
    ]
)
ELIGIBLE = np.array(
    [[True, True, True], [True, False, True], [True, False, True], [True, True, True]]
)


def test_policy_values_by_hand() -> None:
    values = policy_values(
        truth=TRUTH, eligible=ELIGIBLE, taken=[0, 2, 0, 0], recommended=[1, 0, 0, 1]
    )
    # hist 0.2, 0.3, 0.1; rec 0.5, 0.6, 0.1; oracle 0.5, 0.6, 0.7
    assert values.v_hist == pytest.approx(0.6 / 3)
    assert values.v_rec == pytest.approx(1.2 / 3)
    assert values.v_oracle == pytest.approx(1.8 / 3)
    assert values.capture_ratio == pytest.approx((0.4 - 0.2) / (0.6 - 0.2))
    assert (values.n, values.n_excluded) == (3, 1)


def test_capture_ratio_is_nan_when_caseworkers_already_choose_the_best() -> None:
    values = policy_values(
        truth=TRUTH[:3], eligible=ELIGIBLE[:3], taken=[1, 0, 2], recommended=[2, 2, 0]
    )
    assert values.v_hist == pytest.approx(values.v_oracle)
    assert math.isnan(values.capture_ratio)
    assert values.v_rec < values.v_hist


def test_policy_values_with_nothing_usable_are_nan() -> None:
    values = policy_values(truth=TRUTH[3:], eligible=ELIGIBLE[3:], taken=[0], recommended=[1])
    assert values.n == 0 and values.n_excluded == 1
    assert all(math.isnan(v) for v in (values.v_hist, values.v_rec, values.v_oracle))
    empty = policy_values(
        truth=np.empty((0, 3)), eligible=np.empty((0, 3), bool), taken=[], recommended=[]
    )
    assert empty.n == 0 and math.isnan(empty.capture_ratio)


def test_policy_values_refuse_actions_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"0\.\.2"):
        policy_values(truth=TRUTH, eligible=ELIGIBLE, taken=[0, 1, 3, 0], recommended=[0] * 4)
    with pytest.raises(ValueError, match="integer"):
        policy_values(truth=TRUTH, eligible=ELIGIBLE, taken=[0.5] * 4, recommended=[0] * 4)
    with pytest.raises(ValueError, match="shape"):
        policy_values(truth=TRUTH, eligible=ELIGIBLE[:, :2], taken=[0] * 4, recommended=[0] * 4)


@st.composite
def decision_problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Truth in [0, 1], eligibility with at least one action per row, eligible taken actions."""
    n = draw(st.integers(1, 12))
    n_actions = draw(st.integers(1, 5))
    truth = draw(hnp.arrays(float, (n, n_actions), elements=st.floats(0, 1, allow_subnormal=False)))
    eligible = draw(hnp.arrays(bool, (n, n_actions)))
    eligible[np.arange(n), draw(hnp.arrays(int, n, elements=st.integers(0, n_actions - 1)))] = True
    picks = draw(hnp.arrays(float, (2, n), elements=st.floats(0, 1, exclude_max=True)))
    # The k-th eligible action of each row, k drawn uniformly.
    counts = eligible.sum(axis=1)
    order = np.argsort(~eligible, axis=1, kind="stable")
    chosen = order[np.arange(n)[None, :], (picks * counts).astype(int)]
    truth = np.where(eligible, truth, NAN)
    return truth, eligible, chosen[0], chosen[1]


@SETTINGS
@given(decision_problems())
def test_policy_value_invariants(problem: tuple[np.ndarray, ...]) -> None:
    truth, eligible, taken, recommended = problem
    values = policy_values(truth=truth, eligible=eligible, taken=taken, recommended=recommended)
    assert values.n == truth.shape[0]
    assert values.v_hist <= values.v_oracle + 1e-12
    assert values.v_rec <= values.v_oracle + 1e-12

    best = np.nanargmax(truth, axis=1)
    oracle = policy_values(truth=truth, eligible=eligible, taken=taken, recommended=best)
    same = policy_values(truth=truth, eligible=eligible, taken=taken, recommended=taken)
    assert oracle.v_rec == pytest.approx(values.v_oracle)
    if not math.isnan(oracle.capture_ratio):
        assert oracle.capture_ratio == pytest.approx(1.0)
        assert same.capture_ratio == 0.0

    order = np.arange(truth.shape[0])[::-1]
    shuffled = policy_values(
        truth=truth[order],
        eligible=eligible[order],
        taken=taken[order],
        recommended=recommended[order],
    )
    assert shuffled.v_rec == pytest.approx(values.v_rec)
    assert shuffled.v_oracle == pytest.approx(values.v_oracle)


# -- off-policy estimates: hand computation and special cases -------------------

Y = np.array([1, 0, 1])
TAKEN = np.array([0, 1, 1])
RECOMMENDED = np.array([0, 0, 1])
MU = np.array([[0.6, 0.3], [0.5, 0.2], [0.4, 0.7]])
PROPENSITY = np.array([[0.5, 0.5], [0.8, 0.2], [0.25, 0.75]])


def test_dr_by_hand() -> None:
    terms = dr_terms(y=Y, taken=TAKEN, mu=MU, propensity=PROPENSITY, recommended=RECOMMENDED)
    # 0.6 + (1 - 0.6) / 0.5;  no match: mu = 0.5;  0.7 + (1 - 0.7) / 0.75
    np.testing.assert_allclose(terms, [1.4, 0.5, 1.1])
    estimate = dr_policy_value(
        y=Y,
        taken=TAKEN,
        mu=MU,
        propensity=PROPENSITY,
        recommended=RECOMMENDED,
        clusters=["a", "b", "a"],
        n_boot=50,
    )
    assert isinstance(estimate, DRValue)
    assert estimate.value == pytest.approx(1.0)
    assert (estimate.n, estimate.n_clusters) == (3, 2)
    assert estimate.low <= estimate.high


def test_ipw_by_hand() -> None:
    terms = ipw_terms(y=Y, taken=TAKEN, propensity=PROPENSITY, recommended=RECOMMENDED)
    np.testing.assert_allclose(terms, [2.0, 0.0, 4 / 3])
    estimate = ipw_policy_value(
        y=Y, taken=TAKEN, propensity=PROPENSITY, recommended=RECOMMENDED, clusters=None
    )
    assert estimate.value == pytest.approx(10 / 9)


def test_small_propensities_are_clipped() -> None:
    propensity = np.array([[0.005, 0.995], [0.8, 0.2], [0.25, 0.75]])
    terms = dr_terms(
        y=Y, taken=TAKEN, mu=MU, propensity=propensity, recommended=RECOMMENDED, clip=0.01
    )
    assert terms[0] == pytest.approx(0.6 + 0.4 / 0.01)
    unclipped = ipw_terms(
        y=Y, taken=TAKEN, propensity=propensity, recommended=RECOMMENDED, clip=0.001
    )
    assert unclipped[0] == pytest.approx(1 / 0.005)


def test_missing_propensity_of_a_matched_action_is_an_error() -> None:
    propensity = PROPENSITY.copy()
    propensity[1, 0] = NAN  # row 1 took 1, so this one is never used
    dr_terms(y=Y, taken=TAKEN, mu=MU, propensity=propensity, recommended=RECOMMENDED)
    propensity[0, 0] = NAN  # row 0 took and was recommended 0
    with pytest.raises(ValueError, match="propensity"):
        dr_terms(y=Y, taken=TAKEN, mu=MU, propensity=propensity, recommended=RECOMMENDED)


def random_log(seed: int, n: int = 40, n_actions: int = 4) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    propensity = rng.dirichlet(np.ones(n_actions), size=n)
    return {
        "y": rng.integers(0, 2, n),
        "taken": rng.integers(0, n_actions, n),
        "recommended": rng.integers(0, n_actions, n),
        "mu": rng.uniform(size=(n, n_actions)),
        "propensity": propensity,
    }


@pytest.mark.parametrize("seed", range(5))
def test_dr_with_zero_outcome_model_is_ipw(seed: int) -> None:
    log = random_log(seed)
    log["mu"] = np.zeros_like(log["mu"])
    np.testing.assert_allclose(
        dr_terms(**log), ipw_terms(**{k: v for k, v in log.items() if k != "mu"})
    )


@pytest.mark.parametrize("seed", range(5))
def test_dr_without_matches_is_the_direct_method(seed: int) -> None:
    log = random_log(seed)
    log["recommended"] = (log["taken"] + 1) % log["mu"].shape[1]
    np.testing.assert_allclose(
        dr_terms(**log), direct_method_terms(mu=log["mu"], recommended=log["recommended"])
    )


@pytest.mark.parametrize("seed", range(5))
def test_dr_on_an_on_policy_log_is_the_mean_outcome(seed: int) -> None:
    """Propensity 1 for the taken action and rec = taken: DR = y whatever mu is."""
    log = random_log(seed)
    n_actions = log["mu"].shape[1]
    log["recommended"] = log["taken"]
    log["propensity"] = np.eye(n_actions)[log["taken"]]
    np.testing.assert_allclose(dr_terms(**log), log["y"])
    value = dr_policy_value(**log, clusters=None, n_boot=0)
    assert value.value == pytest.approx(log["y"].mean())
    assert math.isnan(value.low) and math.isnan(value.high)


def test_dr_refuses_mismatched_shapes_and_missing_mu() -> None:
    with pytest.raises(ValueError, match="shape"):
        dr_terms(y=Y, taken=TAKEN, mu=MU[:, :1], propensity=PROPENSITY, recommended=RECOMMENDED)
    mu = MU.copy()
    mu[2, 1] = NAN
    with pytest.raises(ValueError, match="mu must be finite"):
        dr_terms(y=Y, taken=TAKEN, mu=mu, propensity=PROPENSITY, recommended=RECOMMENDED)
    with pytest.raises(ValueError, match="0/1"):
        dr_terms(y=[2, 0, 1], taken=TAKEN, mu=MU, propensity=PROPENSITY, recommended=RECOMMENDED)


# -- off-policy estimates: unbiasedness on a simulated logged bandit -------------


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def simulated_bandit(seed: int, n: int = 50_000, n_actions: int = 4) -> dict[str, Any]:
    """Contexts, true outcome probabilities, a known logging policy and its log.

    The logging policy mixes a context-dependent softmax with 10% uniform
    exploration, so every propensity is at least 0.025 (above the clip).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    truth = sigmoid(
        np.array([-0.5, 0.0, 0.3, -1.0])
        + x @ np.array([[1.0, -0.5, 0.2, 0.0], [0.3, 0.8, -1.0, 0.5]])
    )
    scores = x @ np.array([[2.0, 0.0, -1.0, 0.5], [0.0, 1.5, 0.5, -2.0]])
    softmax = np.exp(scores - scores.max(axis=1, keepdims=True))
    propensity = 0.9 * softmax / softmax.sum(axis=1, keepdims=True) + 0.1 / n_actions
    taken = (propensity.cumsum(axis=1) < rng.uniform(size=(n, 1))).sum(axis=1)
    taken = np.minimum(taken, n_actions - 1)  # guard against rounding in the cumulative sum
    y = rng.binomial(1, truth[np.arange(n), taken])
    recommended = np.where(x[:, 0] > 0, 1, 2)  # a deterministic policy unlike the logging one
    return {
        "truth": truth,
        "propensity": propensity,
        "taken": taken,
        "y": y,
        "recommended": recommended,
        "clusters": np.arange(n) // 3,  # three decision points per client
    }


def within(terms: np.ndarray, target: float, k: float = 3.0) -> bool:
    se = terms.std(ddof=1) / math.sqrt(terms.shape[0])
    return abs(terms.mean() - target) <= k * se


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dr_and_ipw_are_unbiased_with_known_propensities(seed: int) -> None:
    world = simulated_bandit(seed)
    rows = np.arange(world["y"].shape[0])
    true_value = world["truth"][rows, world["recommended"]].mean()
    log: dict[str, Any] = {k: world[k] for k in ("y", "taken", "propensity", "recommended")}

    wrong_mu = np.clip(world["truth"] + 0.15, 0, 1)  # a badly biased outcome model
    dm = direct_method_terms(mu=wrong_mu, recommended=log["recommended"])
    assert not within(dm, true_value, k=10)  # the simulation can tell a biased estimate
    assert within(dr_terms(**log, mu=wrong_mu), true_value)
    assert within(ipw_terms(**log), true_value)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dr_is_unbiased_with_the_true_outcome_model_and_wrong_propensities(seed: int) -> None:
    world = simulated_bandit(seed)
    uniform = np.full_like(world["propensity"], 0.25)
    log: dict[str, Any] = {k: world[k] for k in ("y", "taken", "recommended")}
    true_value = direct_method_terms(mu=world["truth"], recommended=log["recommended"]).mean()
    dr = dr_terms(**log, mu=world["truth"], propensity=uniform)
    assert within(dr, true_value)
    assert not within(ipw_terms(**log, propensity=uniform), true_value, k=10)


def test_dr_interval_on_the_simulation_covers_the_true_value() -> None:
    world = simulated_bandit(4)
    rows = np.arange(world["y"].shape[0])
    true_value = world["truth"][rows, world["recommended"]].mean()
    estimate = dr_policy_value(
        y=world["y"],
        taken=world["taken"],
        mu=np.full_like(world["truth"], 0.5),
        propensity=world["propensity"],
        recommended=world["recommended"],
        clusters=world["clusters"],
        n_boot=200,
        seed=7,
    )
    assert estimate.low < true_value < estimate.high
    assert estimate.n_clusters == math.ceil(rows.shape[0] / 3)
    assert estimate.high - estimate.low < 0.05


# -- average effects of one action against another ------------------------------------


def test_effect_terms_by_hand() -> None:
    # Two actions; row 0 took action 1, row 1 took the reference 0, row 2 neither.
    mu = np.array([[0.2, 0.5, 0.1], [0.4, 0.4, 0.1], [0.3, 0.6, 0.2]])
    propensity = np.array([[0.5, 0.25, 0.25], [0.8, 0.1, 0.1], [0.2, 0.2, 0.6]])
    y = np.array([1, 0, 1])
    taken = np.array([1, 0, 2])
    terms = effect_terms(y=y, taken=taken, mu=mu, propensity=propensity, action=1, reference=0)
    expected = [
        0.5 - 0.2 + (1 - 0.5) / 0.25,
        0.4 - 0.4 - (0 - 0.4) / 0.8,
        0.6 - 0.3,
    ]
    np.testing.assert_allclose(terms, expected)
    with pytest.raises(ValueError, match="reference"):
        effect_terms(y=y, taken=taken, mu=mu, propensity=propensity, action=1, reference=3)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_average_effect_is_unbiased_with_known_propensities_and_a_wrong_model(seed: int) -> None:
    world = simulated_bandit(seed)
    true_effect = (world["truth"][:, 1] - world["truth"][:, 0]).mean()
    wrong_mu = np.clip(world["truth"] + np.array([0.15, -0.1, 0.0, 0.05]), 0, 1)
    log: dict[str, Any] = {k: world[k] for k in ("y", "taken", "propensity")}
    naive = wrong_mu[:, 1] - wrong_mu[:, 0]
    assert not within(naive, true_effect, k=10)  # the model alone is far off
    assert within(effect_terms(**log, mu=wrong_mu, action=1, reference=0), true_effect)


def test_average_effect_interval_covers_the_true_effect() -> None:
    world = simulated_bandit(5)
    true_effect = (world["truth"][:, 2] - world["truth"][:, 0]).mean()
    effect = average_effect(
        y=world["y"],
        taken=world["taken"],
        mu=np.full_like(world["truth"], 0.4),
        propensity=world["propensity"],
        action=2,
        reference=0,
        clusters=world["clusters"],
        n_boot=200,
        seed=3,
    )
    assert effect.low < true_effect < effect.high
    assert effect.high - effect.low < 0.1
    assert effect.n_taken == int((world["taken"] == 2).sum())
    assert effect.n_reference == int((world["taken"] == 0).sum())
    assert effect.n_clusters == math.ceil(world["y"].shape[0] / 3)


def test_average_effect_on_too_few_takers_is_withheld() -> None:
    taken = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    args: dict[str, Any] = dict(
        y=np.ones(10),
        taken=taken,
        mu=np.full((10, 2), 0.5),
        propensity=np.full((10, 2), 0.5),
        action=1,
        reference=0,
        clusters=np.arange(10),
        n_boot=20,
    )
    withheld = average_effect(**args, min_count=5)
    assert math.isnan(withheld.value) and math.isnan(withheld.low)
    assert (withheld.n_taken, withheld.n_reference, withheld.n) == (6, 4, 10)
    shown = average_effect(**args, min_count=4)
    assert shown.value == pytest.approx((6 * 1.0 - 4 * 1.0) / 10)  # (y - mu) / p = +-1
    with pytest.raises(ValueError, match="min_count"):
        average_effect(**args, min_count=0)


# -- cluster bootstrap --------------------------------------------------------------


def test_bootstrap_of_a_constant_is_degenerate() -> None:
    interval = bootstrap_mean_interval(np.full(30, 0.25), np.arange(30) % 4, n_boot=20)
    assert interval.value == interval.low == interval.high == pytest.approx(0.25)
    assert (interval.n, interval.n_clusters) == (30, 4)


def test_bootstrap_is_reproducible_for_a_seed() -> None:
    rng = np.random.default_rng(0)
    values, clusters = rng.normal(size=500), rng.integers(0, 100, 500)
    first = bootstrap_mean_interval(values, clusters, n_boot=100, seed=3)
    assert first == bootstrap_mean_interval(values, clusters, n_boot=100, seed=3)
    assert first != bootstrap_mean_interval(values, clusters, n_boot=100, seed=4)
    assert first.low < first.value < first.high


def test_duplicating_rows_within_clients_changes_nothing() -> None:
    """Resampling clients: five copies of each client's row are one observation."""
    rng = np.random.default_rng(1)
    values = rng.normal(size=200)
    once = bootstrap_mean_interval(values, None, n_boot=300, seed=5)
    copies = bootstrap_mean_interval(
        np.repeat(values, 5), np.repeat([f"k{i}" for i in range(200)], 5), n_boot=300, seed=5
    )
    assert (copies.value, copies.low, copies.high) == pytest.approx(
        (once.value, once.low, once.high)
    )
    naive = bootstrap_mean_interval(np.repeat(values, 5), None, n_boot=300, seed=5)
    assert naive.high - naive.low < 0.6 * (copies.high - copies.low)


def test_cluster_bootstrap_covers_where_the_row_bootstrap_does_not() -> None:
    """Strongly correlated rows within clients: only the cluster interval keeps ~95%."""
    rng = np.random.default_rng(2)
    hits_cluster = hits_rows = 0
    trials = 200
    clusters = np.repeat(np.arange(40), 5)
    for trial in range(trials):
        values = np.repeat(rng.normal(size=40), 5) + 0.3 * rng.normal(size=200)
        cluster = bootstrap_mean_interval(values, clusters, n_boot=200, seed=trial)
        rows = bootstrap_mean_interval(values, None, n_boot=200, seed=trial)
        hits_cluster += cluster.low <= 0 <= cluster.high
        hits_rows += rows.low <= 0 <= rows.high
    assert 0.88 <= hits_cluster / trials <= 0.99
    assert hits_rows / trials < 0.75


def test_bootstrap_edge_cases() -> None:
    empty = bootstrap_mean_interval([], [], n_boot=10)
    assert empty.n == 0 and math.isnan(empty.value)
    with pytest.raises(ValueError, match="finite"):
        bootstrap_mean_interval([1.0, NAN], [1, 2])
    with pytest.raises(ValueError, match="missing"):
        bootstrap_mean_interval([1.0, 2.0], np.array(["a", None], dtype=object))
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_mean_interval([1.0, 2.0], None, alpha=1.5)
    with pytest.raises(ValueError, match="rows"):
        bootstrap_mean_interval([1.0, 2.0], [1, 2, 3])


# -- agreement with caseworkers --------------------------------------------------


RANKED = np.array([[2, 0, 1], [1, -1, -1], [0, 2, -1], [1, 2, 0]])


@pytest.mark.parametrize(("k", "expected"), [(1, 0.25), (2, 0.75), (3, 0.75), (5, 0.75)])
def test_agreement_at_k_by_hand(k: int, expected: float) -> None:
    assert agreement_at_k(ranked=RANKED, taken=[0, 2, 2, 1], k=k) == pytest.approx(expected)


def test_agreement_edge_cases() -> None:
    assert math.isnan(agreement_at_k(ranked=np.empty((0, 3), int), taken=[], k=1))
    with pytest.raises(ValueError, match="k must be"):
        agreement_at_k(ranked=RANKED, taken=[0, 2, 2, 1], k=0)
    with pytest.raises(ValueError, match="rows"):
        agreement_at_k(ranked=RANKED, taken=[0, 2], k=1)


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_agreement_grows_with_k_and_full_rankings_always_agree(
    n_actions: int, n: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    ranked = rng.permuted(np.tile(np.arange(n_actions), (n, 1)), axis=1)
    taken = rng.integers(0, n_actions, n)
    shares = [agreement_at_k(ranked=ranked, taken=taken, k=k) for k in range(1, n_actions + 1)]
    assert shares == sorted(shares)
    assert shares[-1] == 1.0


# -- the outcome model --------------------------------------------------------------


def test_auc_by_hand() -> None:
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)


def test_auc_with_one_class_is_nan() -> None:
    assert math.isnan(roc_auc([1, 1, 1], [0.2, 0.5, 0.9]))
    assert math.isnan(roc_auc([], []))


@SETTINGS
@given(
    hnp.arrays(
        float,
        st.integers(2, 15),
        elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 1.0]),  # ties on purpose
    ),
    st.integers(0, 2**32 - 1),
)
def test_auc_is_the_share_of_ordered_pairs(p: np.ndarray, seed: int) -> None:
    y = np.random.default_rng(seed).integers(0, 2, p.shape[0])
    positives, negatives = p[y == 1], p[y == 0]
    if positives.size == 0 or negatives.size == 0:
        assert math.isnan(roc_auc(y, p))
        return
    diff = positives[:, None] - negatives[None, :]
    expected = ((diff > 0) + 0.5 * (diff == 0)).mean()
    assert roc_auc(y, p) == pytest.approx(expected)


def test_brier_by_hand() -> None:
    assert brier_score([1, 0, 1], [0.8, 0.3, 0.5]) == pytest.approx((0.04 + 0.09 + 0.25) / 3)
    assert math.isnan(brier_score([], []))
    with pytest.raises(ValueError, match="probabilities"):
        brier_score([1, 0], [0.5, 1.5])


def test_calibration_table_and_ece_by_hand_uniform() -> None:
    y = [0, 1, 1, 0, 1, 0]
    p = [0.1, 0.3, 0.5, 0.6, 0.7, 1.0]
    table = calibration_table(y, p, n_bins=2)
    # (0, 0.5] holds 0.1, 0.3 and 0.5 (edges go to the lower bin); (0.5, 1] the rest
    expected = pd.DataFrame(
        {
            "bin": [0, 1],
            "low": [0.0, 0.5],
            "high": [0.5, 1.0],
            "n": [3, 3],
            "mean_p": [0.3, 2.3 / 3],
            "mean_y": [2 / 3, 1 / 3],
        }
    )
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    ece = expected_calibration_error(y, p, n_bins=2)
    assert ece == pytest.approx((3 * abs(2 / 3 - 0.3) + 3 * abs(1 / 3 - 2.3 / 3)) / 6)


def test_ece_by_hand_quantile() -> None:
    y = [0, 0, 1, 1]
    p = [0.1, 0.2, 0.3, 0.4]
    # inner edge at the median 0.25: bins {0.1, 0.2} and {0.3, 0.4}
    ece = expected_calibration_error(y, p, n_bins=2, strategy="quantile")
    assert ece == pytest.approx((2 * 0.15 + 2 * 0.65) / 4)
    table = calibration_table(y, p, n_bins=2, strategy="quantile")
    assert table["n"].tolist() == [2, 2]
    assert table["low"].tolist() == [0.0, 0.25] and table["high"].tolist() == [0.25, 1.0]


def test_calibration_table_empty_bins_are_left_out_and_arguments_checked() -> None:
    table = calibration_table([1, 0], [0.95, 0.91], n_bins=10)
    assert table["bin"].tolist() == [9]
    assert list(calibration_table([], []).columns) == [
        "bin",
        "low",
        "high",
        "n",
        "mean_p",
        "mean_y",
    ]
    assert math.isnan(expected_calibration_error([], []))
    with pytest.raises(ValueError, match="strategy"):
        calibration_table([1], [0.5], strategy="kmeans")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error([1], [0.5], n_bins=0)


def reference_calibration(
    y: np.ndarray, p: np.ndarray, n_bins: int, strategy: str
) -> list[tuple[float, float]]:
    """(mean_p, mean_y) per non-empty bin, by the definition: a row's bin is the
    number of inner edges strictly below its p (scikit-learn's calibration_curve)."""
    if strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)
    else:
        edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
    inner = edges[1:-1]
    bins = [sum(edge < value for edge in inner) for value in p]
    out = []
    for b in sorted(set(bins)):
        members = [i for i, bin_ in enumerate(bins) if bin_ == b]
        out.append((float(np.mean(p[members])), float(np.mean(y[members]))))
    return out


@SETTINGS
@given(
    hnp.arrays(
        float,
        st.integers(1, 40),
        elements=st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.5, 0.7, 1.0]) | st.floats(0, 1),
    ),
    st.integers(0, 2**32 - 1),
    st.integers(1, 12),
    st.sampled_from(["uniform", "quantile"]),
)
def test_calibration_follows_its_definition_and_ece_is_bounded(
    p: np.ndarray, seed: int, n_bins: int, strategy: str
) -> None:
    y = np.random.default_rng(seed).integers(0, 2, size=len(p))
    table = calibration_table(y, p, n_bins=n_bins, strategy=strategy)  # type: ignore[arg-type]
    assert table["n"].sum() == p.shape[0]
    tolerance = 1e-12  # a mean of equal values can differ from them in the last bit
    assert (table["low"] - tolerance <= table["mean_p"]).all()
    assert (table["mean_p"] <= table["high"] + tolerance).all()
    expected = reference_calibration(y, p, n_bins, strategy)
    np.testing.assert_allclose(table[["mean_p", "mean_y"]].to_numpy(), np.array(expected))
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    np.testing.assert_allclose(table["mean_p"], prob_pred, rtol=0, atol=1e-12)
    np.testing.assert_allclose(table["mean_y"], prob_true, rtol=0, atol=1e-12)
    ece = expected_calibration_error(y, p, n_bins=n_bins, strategy=strategy)  # type: ignore[arg-type]
    assert 0 <= ece <= np.abs(y - p).mean() + 1e-12  # binning can only hide miscalibration


def test_ece_of_a_perfectly_calibrated_constant_is_zero() -> None:
    assert expected_calibration_error([1, 0, 0, 1], [0.5] * 4) == pytest.approx(0.0)
    assert expected_calibration_error([1, 1, 1, 1], [0.5] * 4) == pytest.approx(0.5)


# -- interval coverage ---------------------------------------------------------------


def test_interval_coverage_by_hand() -> None:
    low = np.array([[0.1, 0.2], [0.3, NAN]])
    high = np.array([[0.3, 0.4], [0.5, 0.9]])
    truth = np.array([[0.3, 0.5], [0.29, 0.5]])
    # finite cells: (0,0) covered (edge counts), (0,1) above, (1,0) below
    assert interval_coverage(low=low, high=high, truth=truth) == pytest.approx(1 / 3)
    mask = np.array([[True, False], [False, False]])
    assert interval_coverage(low=low, high=high, truth=truth, mask=mask) == 1.0
    assert math.isnan(
        interval_coverage(low=low, high=high, truth=truth, mask=~np.ones((2, 2), bool))
    )
    with pytest.raises(ValueError, match="missing"):
        interval_coverage(low=low, high=high, truth=truth, mask=np.ones((2, 2), bool))


def test_results_serialise_to_plain_dicts() -> None:
    values = PolicyValues(0.1, 0.2, 0.3, 0.5, n=10)
    assert values.as_dict() == {
        "v_hist": 0.1,
        "v_rec": 0.2,
        "v_oracle": 0.3,
        "capture_ratio": 0.5,
        "n": 10,
        "n_excluded": 0,
    }
    assert set(DRValue(0.5, 0.4, 0.6, n=3, n_clusters=2).as_dict()) == {
        "value",
        "low",
        "high",
        "n",
        "n_clusters",
    }
