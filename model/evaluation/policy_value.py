"""The value of following rank 1: on known truth, and estimated off-policy.

With the simulator's truth, :func:`policy_values` gives the values of
historical practice, of the recommendations and of the oracle exactly.
Without it, the value of the recommendations is estimated from the logged
outcomes of what caseworkers actually did (``1[.]`` is the indicator)::

    DM  = mean_i mu[i, rec_i]                                   (direct method)
    IPW = mean_i 1[taken_i = rec_i] y_i / p_i                   (Horvitz & Thompson 1952)
    DR  = mean_i mu[i, rec_i] + 1[taken_i = rec_i] (y_i - mu[i, taken_i]) / p_i

with ``p_i = max(propensity[i, rec_i], clip)``. DR is the augmented IPW
estimator (Robins, Rotnitzky & Zhao 1994; Dudík, Langford & Li 2011,
"Doubly Robust Policy Evaluation and Learning", ICML). The per-row terms
are public so that a subset's estimate (a group in the fairness report) is
the mean of its rows' terms. What the estimates assume, and how far that
may fail, is in docs/evaluation.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from model.evaluation.bootstrap import MeanInterval, bootstrap_mean_interval
from model.evaluation.inputs import as_actions, as_matrix, check_same_shape, logged_inputs

# |V_oracle - V_hist| at or below this means there is nothing to capture.
CAPTURE_TOLERANCE: Final = 1e-9


@dataclass(frozen=True, slots=True)
class PolicyValues:
    """Policy values on the simulator's truth, over the ``n`` rows used.

    ``n_excluded`` rows were left out of all three values because the truth
    of the taken or recommended action, or of every eligible action, was
    missing.
    """

    v_hist: float
    v_rec: float
    v_oracle: float
    capture_ratio: float
    n: int
    n_excluded: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DRValue(MeanInterval):
    """An off-policy value estimate (doubly robust or IPW) with its interval."""


def policy_values(
    *,
    truth: npt.ArrayLike,
    eligible: npt.ArrayLike,
    taken: npt.ArrayLike,
    recommended: npt.ArrayLike,
) -> PolicyValues:
    """Values of the historical, recommended and oracle policies on known truth.

    With ``truth[i, a]`` the true probability of a good outcome for row ``i``
    under action ``a`` (known only in simulation)::

        V_hist   = mean_i truth[i, taken_i]
        V_rec    = mean_i truth[i, recommended_i]
        V_oracle = mean_i max_{a : eligible[i, a]} truth[i, a]
        capture  = (V_rec - V_hist) / (V_oracle - V_hist)

    The capture ratio is the share of the achievable gain over caseworkers
    that following rank 1 realises: 0 is no better than history, 1 is the
    oracle, negative is worse than history. It is NaN when
    ``|V_oracle - V_hist| <= CAPTURE_TOLERANCE`` (no room to improve).

    Rows where ``truth`` of the taken or of the recommended action is NaN,
    or where no eligible action has a finite truth, are left out of all
    three means alike, so the values compare the same clients; ``n`` and
    ``n_excluded`` count them. The oracle maximises over eligible actions
    only, so ``V_rec <= V_oracle`` holds when every recommendation is
    eligible (and ``V_hist <= V_oracle`` when every taken action is).
    """
    truth_ = as_matrix("truth", truth)
    eligible_ = as_matrix("eligible", eligible, dtype=bool)
    check_same_shape("truth", truth_, eligible=eligible_)
    n, n_actions = truth_.shape
    taken_ = as_actions("taken", taken, n=n, n_actions=n_actions)
    recommended_ = as_actions("recommended", recommended, n=n, n_actions=n_actions)

    rows = np.arange(n)
    v_taken = truth_[rows, taken_]
    v_recommended = truth_[rows, recommended_]
    candidates = np.where(eligible_ & np.isfinite(truth_), truth_, -np.inf)
    v_best = candidates.max(axis=1, initial=-np.inf)
    keep = np.isfinite(v_taken) & np.isfinite(v_recommended) & np.isfinite(v_best)
    used = int(keep.sum())
    if used == 0:
        nan = float("nan")
        return PolicyValues(nan, nan, nan, nan, n=0, n_excluded=n)

    v_hist = float(v_taken[keep].mean())
    v_rec = float(v_recommended[keep].mean())
    v_oracle = float(v_best[keep].mean())
    room = v_oracle - v_hist
    capture = float("nan") if abs(room) <= CAPTURE_TOLERANCE else (v_rec - v_hist) / room
    return PolicyValues(
        v_hist=v_hist,
        v_rec=v_rec,
        v_oracle=v_oracle,
        capture_ratio=float(capture),
        n=used,
        n_excluded=n - used,
    )


def ipw_terms(
    *,
    y: npt.ArrayLike,
    taken: npt.ArrayLike,
    propensity: npt.ArrayLike,
    recommended: npt.ArrayLike,
    clip: float = 0.01,
) -> np.ndarray:
    """Per-row inverse-propensity terms ``1[taken_i = rec_i] y_i / max(p_i, clip)``.

    Their mean is the IPW (Horvitz-Thompson) estimate of the value of the
    deterministic policy ``recommended``; :func:`ipw_policy_value` adds an
    interval. Clipping the propensity from below bounds the variance and
    biases the estimate downwards wherever the true propensity is below
    ``clip``.
    """
    y_, taken_, recommended_, p = logged_inputs(
        y=y, taken=taken, propensity=propensity, recommended=recommended, clip=clip
    )
    return np.where(taken_ == recommended_, y_ / p, 0.0)


def direct_method_terms(*, mu: npt.ArrayLike, recommended: npt.ArrayLike) -> np.ndarray:
    """Per-row direct-method terms ``mu[i, rec_i]`` (the outcome model's prediction)."""
    mu_ = as_matrix("mu", mu)
    n, n_actions = mu_.shape
    recommended_ = as_actions("recommended", recommended, n=n, n_actions=n_actions)
    terms = mu_[np.arange(n), recommended_]
    if not np.all(np.isfinite(terms)):
        raise ValueError("mu must be finite for every recommended action")
    return terms


def dr_terms(
    *,
    y: npt.ArrayLike,
    taken: npt.ArrayLike,
    mu: npt.ArrayLike,
    propensity: npt.ArrayLike,
    recommended: npt.ArrayLike,
    clip: float = 0.01,
) -> np.ndarray:
    """Per-row doubly-robust (AIPW) terms for the deterministic policy ``recommended``::

        psi_i = mu[i, rec_i] + 1[taken_i = rec_i] / max(propensity[i, rec_i], clip)
                               * (y_i - mu[i, taken_i])

    (Dudík, Langford & Li 2011, eq. 2; Robins, Rotnitzky & Zhao 1994). The
    mean of ``psi`` is unbiased for the policy value when either the outcome
    model ``mu`` or the propensities are right (and no propensity of a
    recommended action is below ``clip``). The terms of a subset of rows
    give that subset's estimate, which is what per-group reports use.
    """
    y_, taken_, recommended_, p = logged_inputs(
        y=y, taken=taken, propensity=propensity, recommended=recommended, clip=clip
    )
    mu_ = as_matrix("mu", mu)
    if mu_.shape != np.shape(propensity):
        raise ValueError(f"mu has shape {mu_.shape} but propensity has {np.shape(propensity)}")
    rows = np.arange(mu_.shape[0])
    mu_rec = mu_[rows, recommended_]
    mu_taken = mu_[rows, taken_]
    if not (np.all(np.isfinite(mu_rec)) and np.all(np.isfinite(mu_taken))):
        raise ValueError("mu must be finite for every taken and every recommended action")
    correction = np.where(taken_ == recommended_, (y_ - mu_taken) / p, 0.0)
    return mu_rec + correction


def dr_policy_value(
    *,
    y: npt.ArrayLike,
    taken: npt.ArrayLike,
    mu: npt.ArrayLike,
    propensity: npt.ArrayLike,
    recommended: npt.ArrayLike,
    clusters: npt.ArrayLike | None,
    n_boot: int = 200,
    seed: int = 0,
    clip: float = 0.01,
    alpha: float = 0.05,
) -> DRValue:
    """Doubly-robust off-policy value of following rank 1, with a cluster bootstrap interval.

    ``value`` is the mean of :func:`dr_terms`; ``low``/``high`` the
    percentile interval of that mean when whole clients (``clusters``) are
    resampled with replacement ``n_boot`` times. The outcome model and the
    propensity model are held fixed in the bootstrap, so the interval covers
    sampling variation of the evaluation rows only, not refitting.
    """
    terms = dr_terms(
        y=y, taken=taken, mu=mu, propensity=propensity, recommended=recommended, clip=clip
    )
    interval = bootstrap_mean_interval(terms, clusters, n_boot=n_boot, seed=seed, alpha=alpha)
    return DRValue(
        interval.value, interval.low, interval.high, n=interval.n, n_clusters=interval.n_clusters
    )


def ipw_policy_value(
    *,
    y: npt.ArrayLike,
    taken: npt.ArrayLike,
    propensity: npt.ArrayLike,
    recommended: npt.ArrayLike,
    clusters: npt.ArrayLike | None,
    n_boot: int = 200,
    seed: int = 0,
    clip: float = 0.01,
    alpha: float = 0.05,
) -> DRValue:
    """Inverse-propensity (IPW) value of following rank 1, for comparison with DR.

    ``value = mean_i 1[taken_i = rec_i] y_i / max(propensity[i, rec_i], clip)``
    with the same cluster bootstrap interval as :func:`dr_policy_value`.
    Unbiased when the propensities are right (and none is below ``clip``),
    but typically with a much wider interval than DR.
    """
    terms = ipw_terms(y=y, taken=taken, propensity=propensity, recommended=recommended, clip=clip)
    interval = bootstrap_mean_interval(terms, clusters, n_boot=n_boot, seed=seed, alpha=alpha)
    return DRValue(
        interval.value, interval.low, interval.high, n=interval.n, n_clusters=interval.n_clusters
    )
