"""Figures that say whether a recommender works (SPEC section 6).

Pure numpy and pandas: no tracking, no web, no database. The
training pipeline computes these on held-out clients and logs them; the
fairness report reuses :func:`bootstrap_mean_interval` and the per-row terms
of the off-policy estimators on masked subsets.

Conventions shared by every function here:

- an *action* is an integer index ``0..A-1`` into the catalogue's action
  list (which action means "no new service" is the caller's business);
- ``truth``, ``mu``, ``propensity`` and ``eligible`` are ``(n, A)`` arrays,
  one row per decision point; ``taken`` and ``recommended`` are ``(n,)``
  integer arrays of actions;
- ``clusters`` are client ids (any hashable values): a client can have
  several decision points, which are not independent, so intervals resample
  whole clients (the cluster bootstrap; Field & Welsh 2007, "Bootstrapping
  clustered data", JRSS-B 69(3));
- empty inputs give NaN figures rather than exceptions or warnings, and so
  do figures that are undefined for the data (an AUC with one class, a
  capture ratio with no room to improve). Malformed inputs (wrong shapes,
  actions out of range, missing values where a value is needed) raise
  ``ValueError`` with a message that says what is wrong.

Formulas (``1[.]`` is the indicator, ``pi`` the evaluated policy):

- ``V_hist = mean_i truth[i, taken_i]``, ``V_rec = mean_i truth[i, rec_i]``,
  ``V_oracle = mean_i max_{a eligible} truth[i, a]``, capture ratio
  ``(V_rec - V_hist) / (V_oracle - V_hist)``.
- Direct method ``DM = mean_i mu[i, rec_i]``; inverse propensity weighting
  ``IPW = mean_i 1[taken_i = rec_i] y_i / p_i``; doubly robust (AIPW)
  ``DR = mean_i mu[i, rec_i] + 1[taken_i = rec_i] (y_i - mu[i, taken_i]) / p_i``
  with ``p_i = max(propensity[i, rec_i], clip)`` (Horvitz & Thompson 1952;
  Robins, Rotnitzky & Zhao 1994; Dudík, Langford & Li 2011, "Doubly Robust
  Policy Evaluation and Learning", ICML).
- Sensitivity to hidden confounding (:func:`policy_value_sensitivity`): under
  the marginal sensitivity model (Tan 2006) the true propensity odds may be
  a factor ``Lambda`` away from the estimated ones; the self-normalised IPW
  (Hájek) or augmented estimate is then bounded by a linear-fractional
  program solved by sorting, and the percentile bootstrap of its extrema is
  the sensitivity interval (Zhao, Small & Bhattacharya 2019; Kallus & Zhou
  2018). The break-even ``Lambda`` is where that interval's lower end falls
  to the observed value of historical practice.
- ROC AUC (Hanley & McNeil 1982), Brier score (Brier 1950), expected
  calibration error (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "SENSITIVITY_LAMBDAS",
    "AverageEffect",
    "DRValue",
    "MeanInterval",
    "PolicyValues",
    "SensitivityAnalysis",
    "SensitivityBound",
    "agreement_at_k",
    "average_effect",
    "bootstrap_mean_interval",
    "brier_score",
    "calibration_table",
    "direct_method_terms",
    "dr_policy_value",
    "dr_terms",
    "effect_terms",
    "expected_calibration_error",
    "interval_coverage",
    "ipw_policy_value",
    "ipw_terms",
    "msm_weight_bounds",
    "policy_value_sensitivity",
    "policy_values",
    "roc_auc",
]

# |V_oracle - V_hist| at or below this means there is nothing to capture.
CAPTURE_TOLERANCE: Final = 1e-9

# The bootstrap draws cluster indices in blocks of at most this many cells,
# so that memory stays bounded (about 32 MB of int64) for any n and n_boot.
_BOOTSTRAP_BLOCK_CELLS: Final = 4_000_000

# The sensitivity analysis reports these Lambdas. Declared before any
# coverage was looked at (2026-11-22, issue 3) and not to be tuned to a world.
SENSITIVITY_LAMBDAS: Final = (1.0, 1.1, 1.25, 1.5, 2.0, 3.0)
# The break-even Lambda is searched up to this; beyond it, it is reported as None.
SENSITIVITY_MAX_LAMBDA: Final = 100.0
# Bootstrap replicates x sorted rows handled at once by the sensitivity bounds.
_SENSITIVITY_BLOCK_CELLS: Final = 1_000_000

BinStrategy = Literal["uniform", "quantile"]


# -- results ----------------------------------------------------------------


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
class MeanInterval:
    """A mean with a cluster-bootstrap percentile interval.

    ``value`` is the mean over all ``n`` rows (not a bootstrap average);
    ``low`` and ``high`` the ``alpha/2`` and ``1 - alpha/2`` quantiles of the
    bootstrap means, NaN when no replicates were drawn. ``n_clusters`` is
    the number of distinct clusters resampled.
    """

    value: float
    low: float
    high: float
    n: int
    n_clusters: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DRValue(MeanInterval):
    """An off-policy value estimate (doubly robust or IPW) with its interval."""


# -- input checks -----------------------------------------------------------


def _matrix(name: str, values: npt.ArrayLike, *, dtype: Any = float) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-d (rows, actions) array, got shape {array.shape}")
    return array


def _vector(name: str, values: npt.ArrayLike, n: int | None = None) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array, got shape {array.shape}")
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} rows where {n} were expected")
    return array


def _actions(name: str, values: npt.ArrayLike, *, n: int, n_actions: int) -> np.ndarray:
    """Check a vector of action indices: integers in 0..n_actions-1."""
    array = _vector(name, values, n)
    if array.size == 0:
        return array.astype(np.intp)
    whole_floats = np.issubdtype(array.dtype, np.floating) and np.all(array == np.round(array))
    if not (np.issubdtype(array.dtype, np.integer) or whole_floats):
        raise ValueError(f"{name} must hold integer action indices, got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= n_actions:
        raise ValueError(
            f"{name} must hold action indices in 0..{n_actions - 1}, "
            f"found values from {array.min()} to {array.max()}"
        )
    return array.astype(np.intp)


def _same_shape(reference_name: str, reference: np.ndarray, **others: np.ndarray) -> None:
    for name, array in others.items():
        if array.shape != reference.shape:
            raise ValueError(
                f"{name} has shape {array.shape} but {reference_name} has {reference.shape}"
            )


def _labels(y: npt.ArrayLike, n: int | None = None) -> np.ndarray:
    labels = _vector("y", y, n).astype(float)
    if labels.size and not np.all((labels == 0) | (labels == 1)):
        raise ValueError("y must hold 0/1 labels")
    return labels


def _probabilities(name: str, p: npt.ArrayLike, n: int) -> np.ndarray:
    probs = _vector(name, p, n).astype(float)
    if probs.size and not (np.all(np.isfinite(probs)) and probs.min() >= 0 and probs.max() <= 1):
        raise ValueError(f"{name} must hold finite probabilities in [0, 1]")
    return probs


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")


# -- policy value on the truth ----------------------------------------------


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
    truth_ = _matrix("truth", truth)
    eligible_ = _matrix("eligible", eligible, dtype=bool)
    _same_shape("truth", truth_, eligible=eligible_)
    n, n_actions = truth_.shape
    taken_ = _actions("taken", taken, n=n, n_actions=n_actions)
    recommended_ = _actions("recommended", recommended, n=n, n_actions=n_actions)

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


# -- off-policy estimates without truth --------------------------------------


def _logged_inputs(
    *,
    y: npt.ArrayLike,
    taken: npt.ArrayLike,
    propensity: npt.ArrayLike,
    recommended: npt.ArrayLike,
    clip: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Checked (y, taken, recommended, clipped propensity of the recommended action)."""
    propensity_ = _matrix("propensity", propensity)
    n, n_actions = propensity_.shape
    y_ = _labels(y, n)
    taken_ = _actions("taken", taken, n=n, n_actions=n_actions)
    recommended_ = _actions("recommended", recommended, n=n, n_actions=n_actions)
    if not 0 < clip <= 1:
        raise ValueError(f"clip must lie in (0, 1], got {clip}")
    p_rec = propensity_[np.arange(n), recommended_]
    matched = taken_ == recommended_
    if np.any(matched & np.isnan(p_rec)):
        raise ValueError(
            "propensity is missing for a taken action that was also recommended; "
            "the propensity model must give every taken action a probability"
        )
    # Only matched rows use p; elsewhere a missing propensity is harmless.
    p_clipped = np.maximum(np.where(matched, p_rec, 1.0), clip)
    return y_, taken_, recommended_, p_clipped


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
    y_, taken_, recommended_, p = _logged_inputs(
        y=y, taken=taken, propensity=propensity, recommended=recommended, clip=clip
    )
    return np.where(taken_ == recommended_, y_ / p, 0.0)


def direct_method_terms(*, mu: npt.ArrayLike, recommended: npt.ArrayLike) -> np.ndarray:
    """Per-row direct-method terms ``mu[i, rec_i]`` (the outcome model's prediction)."""
    mu_ = _matrix("mu", mu)
    n, n_actions = mu_.shape
    recommended_ = _actions("recommended", recommended, n=n, n_actions=n_actions)
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
    y_, taken_, recommended_, p = _logged_inputs(
        y=y, taken=taken, propensity=propensity, recommended=recommended, clip=clip
    )
    mu_ = _matrix("mu", mu)
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


@dataclass(frozen=True, slots=True)
class AverageEffect(MeanInterval):
    """A doubly-robust average effect of one action against a reference action.

    Over the ``n`` rows where both actions were eligible; ``n_taken`` and
    ``n_reference`` rows there took the action and the reference. ``value``,
    ``low`` and ``high`` are NaN when either count is below the minimum the
    caller asked for: an average effect resting on a handful of clients is
    neither stable nor safe to publish.
    """

    n_taken: int = 0
    n_reference: int = 0


def effect_terms(
    *,
    y: npt.ArrayLike,
    taken: npt.ArrayLike,
    mu: npt.ArrayLike,
    propensity: npt.ArrayLike,
    action: int,
    reference: int,
    clip: float = 0.01,
) -> np.ndarray:
    """Per-row doubly-robust (AIPW) terms of the effect of ``action`` against ``reference``::

        psi_i = mu[i, a] - mu[i, r]
                + 1[taken_i = a] (y_i - mu[i, a]) / max(propensity[i, a], clip)
                - 1[taken_i = r] (y_i - mu[i, r]) / max(propensity[i, r], clip)

    the difference of two :func:`dr_terms` (Robins, Rotnitzky & Zhao 1994;
    Kennedy 2023, "Towards optimal doubly robust estimation of heterogeneous
    causal effects", EJS, whose DR-learner regresses these same
    pseudo-outcomes). Their mean estimates the average effect over the rows
    given; with randomised assignment, where the propensities are known, it
    is unbiased whatever the outcome model.
    """
    propensity_ = _matrix("propensity", propensity)
    n, n_actions = propensity_.shape
    for name, value in (("action", action), ("reference", reference)):
        if not 0 <= value < n_actions:
            raise ValueError(f"{name} must be an action index in 0..{n_actions - 1}, got {value}")
    return dr_terms(
        y=y, taken=taken, mu=mu, propensity=propensity_,
        recommended=np.full(n, action), clip=clip,
    ) - dr_terms(
        y=y, taken=taken, mu=mu, propensity=propensity_,
        recommended=np.full(n, reference), clip=clip,
    )


def average_effect(
    *,
    y: npt.ArrayLike,
    taken: npt.ArrayLike,
    mu: npt.ArrayLike,
    propensity: npt.ArrayLike,
    action: int,
    reference: int,
    clusters: npt.ArrayLike | None,
    min_count: int = 1,
    n_boot: int = 200,
    seed: int = 0,
    clip: float = 0.01,
    alpha: float = 0.05,
) -> AverageEffect:
    """Doubly-robust average effect of ``action`` against ``reference``, with a
    cluster-bootstrap interval (see :func:`effect_terms`).

    The caller passes only the rows where both actions were eligible. NaN
    figures when fewer than ``min_count`` rows took either action. Like
    :func:`dr_policy_value`, the interval holds the fitted models fixed, and
    it assumes no hidden confounding: with observational data it is a
    statement about the adjusted contrast, not proof of a causal effect.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    taken_ = np.asarray(taken)
    n_taken = int(np.sum(taken_ == action))
    n_reference = int(np.sum(taken_ == reference))
    if min(n_taken, n_reference) < min_count:
        nan = float("nan")
        n = int(taken_.shape[0]) if taken_.ndim else 0
        n_clusters = 0 if clusters is None else len(pd.unique(np.asarray(clusters, dtype=object)))
        return AverageEffect(nan, nan, nan, n, n_clusters, n_taken, n_reference)
    terms = effect_terms(
        y=y, taken=taken_, mu=mu, propensity=propensity, action=action, reference=reference,
        clip=clip,
    )
    interval = bootstrap_mean_interval(terms, clusters, n_boot=n_boot, seed=seed, alpha=alpha)
    return AverageEffect(
        interval.value, interval.low, interval.high, interval.n, interval.n_clusters,
        n_taken, n_reference,
    )


def bootstrap_mean_interval(
    values: npt.ArrayLike,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
) -> MeanInterval:
    """Mean of ``values`` with a cluster-bootstrap percentile interval.

    Each replicate draws ``C`` clusters with replacement from the ``C``
    distinct values of ``clusters`` and takes the mean over every row of the
    drawn clusters (a cluster drawn twice counts twice)::

        mean_b = sum_c w_bc S_c / sum_c w_bc N_c,   w_b ~ Multinomial(C, 1/C)

    with ``S_c`` and ``N_c`` the sum and row count of cluster ``c``. Working
    on per-cluster sums makes each replicate O(C), so 200 replicates over
    half a million rows take well under a second. ``clusters=None`` treats
    every row as its own cluster (the ordinary bootstrap). The interval is
    the ``(alpha/2, 1 - alpha/2)`` percentile interval (Efron & Tibshirani
    1993, ch. 13); with few clusters it is too narrow to trust.
    """
    _check_alpha(alpha)
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    values_ = _vector("values", values).astype(float)
    if not np.all(np.isfinite(values_)):
        raise ValueError("values must be finite; drop or impute missing values first")
    n = values_.shape[0]
    nan = float("nan")
    if n == 0:
        return MeanInterval(nan, nan, nan, n=0, n_clusters=0)

    if clusters is None:
        sums, counts = values_, np.ones(n)
    else:
        codes, uniques = pd.factorize(_vector("clusters", clusters, n))
        if np.any(codes < 0):
            raise ValueError("clusters must not contain missing values")
        sums = np.bincount(codes, weights=values_, minlength=len(uniques))
        counts = np.bincount(codes, minlength=len(uniques)).astype(float)
    n_clusters = sums.shape[0]
    value = float(values_.mean())
    if n_boot == 0:
        return MeanInterval(value, nan, nan, n=n, n_clusters=n_clusters)

    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    block = max(1, _BOOTSTRAP_BLOCK_CELLS // n_clusters)
    equal_sizes = bool(np.all(counts == counts[0]))  # e.g. one row per cluster
    for start in range(0, n_boot, block):
        stop = min(start + block, n_boot)
        drawn = rng.integers(0, n_clusters, size=(stop - start, n_clusters))
        totals = sums[drawn].sum(axis=1)
        rows = n if equal_sizes else counts[drawn].sum(axis=1)
        means[start:stop] = totals / rows
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return MeanInterval(value, float(low), float(high), n=n, n_clusters=n_clusters)


# -- sensitivity to hidden confounding ----------------------------------------------


@dataclass(frozen=True, slots=True)
class SensitivityBound:
    """The policy value's range when the true propensity odds may differ from the
    estimated ones by a factor in ``[1/lam, lam]``.

    ``value_low``/``value_high`` are the extrema of the weighted estimate on
    the sample itself (the estimated range); ``low``/``high`` the sensitivity
    interval: the ``alpha/2`` quantile of the bootstrap minima and the
    ``1 - alpha/2`` quantile of the bootstrap maxima (Zhao, Small &
    Bhattacharya 2019).
    """

    lam: float
    value_low: float
    value_high: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {
            "lambda": self.lam,
            "low": self.low,
            "high": self.high,
            "value_low": self.value_low,
            "value_high": self.value_high,
        }

    def covers(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)


@dataclass(frozen=True, slots=True)
class SensitivityAnalysis:
    """Bounds on a policy value under the marginal sensitivity model, per Lambda.

    ``form`` is ``"dr"`` (self-normalised augmented estimate) or ``"ipw"``
    (Hájek); ``estimate`` is that estimate under no hidden confounding
    (Lambda = 1). ``break_even_lambda`` is the smallest Lambda at which the
    sensitivity interval's lower end falls to ``reference`` (by default the
    mean observed outcome: the value of historical practice, which needs no
    assumption about confounding); 1.0 when it is there already, None when it
    stays above up to ``max_lambda`` or nothing could be estimated.
    """

    form: str
    estimate: float
    bounds: tuple[SensitivityBound, ...]
    reference: float
    break_even_lambda: float | None
    n: int
    n_matched: int
    n_clusters: int
    n_boot: int
    alpha: float
    max_lambda: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "estimate": self.estimate,
            "bounds": [b.as_dict() for b in self.bounds],
            "reference": self.reference,
            "break_even_lambda": self.break_even_lambda,
            "n": self.n,
            "n_matched": self.n_matched,
            "n_clusters": self.n_clusters,
            "n_boot": self.n_boot,
            "alpha": self.alpha,
            "max_lambda": self.max_lambda,
        }

    def smallest_covering_lambda(self, value: float) -> float | None:
        """The smallest Lambda of the grid whose sensitivity interval holds ``value``."""
        for bound in self.bounds:
            if bound.covers(value):
                return bound.lam
        return None


def msm_weight_bounds(propensity: npt.ArrayLike, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Range of the inverse propensity ``1/e*`` under the marginal sensitivity model.

    When the true propensity ``e*`` (given the observed features and any hidden
    ones) has odds within a factor ``lam`` of the estimated ``e``'s odds (Tan
    2006)::

        1/lam <= [e*/(1-e*)] / [e/(1-e)] <= lam
        <=>  1 + (1/e - 1)/lam  <=  1/e*  <=  1 + lam (1/e - 1)

    Returns the lower and upper ends ``(a, b)``; ``lam = 1`` gives ``a = b = 1/e``.
    """
    if not (math.isfinite(lam) and lam >= 1):
        raise ValueError(f"lam must be a finite number >= 1, got {lam}")
    p = np.asarray(propensity, dtype=float)
    if p.size and not (np.all(np.isfinite(p)) and p.min() > 0 and p.max() <= 1):
        raise ValueError("propensity must hold finite probabilities in (0, 1]")
    odds_inverse = 1.0 / p - 1.0
    return 1.0 + odds_inverse / lam, 1.0 + lam * odds_inverse


def _fractional_extrema(
    r: np.ndarray, a: np.ndarray, b: np.ndarray, mult: np.ndarray, *, want_max: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Min and max over ``w_i in [a_i, b_i]`` of ``sum_i m_i w_i r_i / sum_i m_i w_i``.

    ``r`` is sorted ascending; ``mult`` is ``(B, k)`` (one row of
    multiplicities per bootstrap replicate). The maximum of this linear-
    fractional program puts the lower weight on every row below a threshold
    of ``r`` and the upper weight on every row above it, the minimum the
    reverse (Zhao, Small & Bhattacharya 2019, Prop. 2; Kallus & Zhou 2018),
    so trying all ``k + 1`` thresholds finds both in O(k) per replicate after
    one sort. With ``D_j`` and ``E_j`` the sums of ``m (b - a)`` and
    ``m (b - a) r`` over the first ``j`` rows, the threshold ``j`` gives::

        max: (sum m b r - E_j) / (sum m b - D_j)
        min: (sum m a r + E_j) / (sum m a + D_j)

    Replicates without weight are NaN.
    """
    d = mult * (b - a)
    cum_d = np.zeros((mult.shape[0], mult.shape[1] + 1))
    cum_e = np.zeros_like(cum_d)
    np.cumsum(d, axis=1, out=cum_d[:, 1:])
    np.cumsum(d * r, axis=1, out=cum_e[:, 1:])
    with np.errstate(invalid="ignore", divide="ignore"):
        den = (mult @ a)[:, None] + cum_d
        lows = np.where(den > 0, ((mult @ (a * r))[:, None] + cum_e) / den, np.inf).min(axis=1)
        if want_max:
            den = (mult @ b)[:, None] - cum_d
            num = (mult @ (b * r))[:, None] - cum_e
            highs = np.where(den > 0, num / den, -np.inf).max(axis=1)
        else:
            highs = np.full(mult.shape[0], np.nan)
    lows[~np.isfinite(lows)] = np.nan
    highs[~np.isfinite(highs)] = np.nan
    return lows, highs


def policy_value_sensitivity(
    *,
    y: npt.ArrayLike,
    taken: npt.ArrayLike,
    propensity: npt.ArrayLike,
    recommended: npt.ArrayLike,
    clusters: npt.ArrayLike | None,
    mu: npt.ArrayLike | None = None,
    lambdas: npt.ArrayLike = SENSITIVITY_LAMBDAS,
    reference: float | None = None,
    n_boot: int = 200,
    seed: int = 0,
    clip: float = 0.01,
    alpha: float = 0.05,
    max_lambda: float = SENSITIVITY_MAX_LAMBDA,
) -> SensitivityAnalysis:
    """How much hidden confounding the off-policy value of ``recommended`` survives.

    The doubly-robust and IPW estimates assume that, given the features, the
    propensity model knows why caseworkers chose what they chose. The
    marginal sensitivity model (Tan 2006) lets the true propensity of each
    logged action, given the features and anything unobserved, have odds up
    to a factor ``lam`` away from the estimated ones; the inverse propensity
    of row ``i`` then lies in ``[a_i, b_i]`` (:func:`msm_weight_bounds`). For
    each ``lam`` this returns the smallest and largest value of the
    self-normalised estimate over those weights, and the sensitivity
    interval: the percentile bootstrap of the extrema (the ``alpha/2``
    quantile of the minima, the ``1 - alpha/2`` quantile of the maxima),
    which covers the true value with probability at least ``1 - alpha``
    asymptotically whenever the truth lies in the model (Zhao, Small &
    Bhattacharya 2019, "Sensitivity analysis for inverse probability
    weighting estimators via the percentile bootstrap", JRSS-B 81(4),
    Thm. 1 and its generalised minimax inequality). Kallus & Zhou (2018,
    "Confounding-robust policy improvement", NeurIPS) use the same bounds for
    a policy's value.

    Two forms, over the rows ``M`` whose taken action is the recommended one,
    with ``w_i = 1/max(propensity[i, rec_i], clip)`` at ``lam = 1``:

    - ``mu=None``, Hájek (normalised IPW)::

          V(w) = sum_M w_i y_i / sum_M w_i

    - ``mu`` given, the augmented (doubly-robust) form, self-normalised::

          V(w) = mean_i mu[i, rec_i] + sum_M w_i (y_i - mu[i, rec_i]) / sum_M w_i

      For any outcome model ``mu`` of the features alone,
      ``E[mu(X) + 1[T = rec] w*(y - mu(X))] = E[Y(rec)]`` with the true
      inverse propensity ``w*`` (the AIPW identity; Robins, Rotnitzky &
      Zhao 1994), and ``w*`` lies in the box, so the extrema bracket the true
      value in large samples, and the estimate at ``w*`` is a smooth function
      of cluster means, which is all the percentile-bootstrap argument
      needs. The outcome model only shrinks what the weights act on (the
      residuals), so a good ``mu`` gives narrower bounds; it does not need to
      be unconfounded. Dorn & Guo (2022, "Sharp sensitivity analysis for
      inverse propensity weighting via quantile balancing", JASA) show that
      the box bounds are valid but not sharp: they may be wider than the
      model implies.

    ``lam = 1`` gives the self-normalised estimate itself, with its ordinary
    percentile interval (close to, but not the same as, the unnormalised
    :func:`dr_policy_value`). ``reference`` (default: the mean of ``y``, the
    observed value of historical practice) defines ``break_even_lambda``,
    found by bisection on ``log lam`` to 0.1 % on the same bootstrap
    replicates (the lower end falls monotonically as ``lam`` grows).
    """
    _check_alpha(alpha)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not (math.isfinite(max_lambda) and max_lambda > 1):
        raise ValueError(f"max_lambda must be a finite number > 1, got {max_lambda}")
    grid = np.asarray(lambdas, dtype=float)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)) or grid.min() < 1:
        raise ValueError(f"lambdas must be a non-empty list of finite numbers >= 1, got {lambdas!r}")
    grid = np.unique(grid)
    y_, taken_, recommended_, p = _logged_inputs(
        y=y, taken=taken, propensity=propensity, recommended=recommended, clip=clip
    )
    n = y_.shape[0]
    if mu is None:
        form, base = "ipw", np.zeros(n)
    else:
        form = "dr"
        mu_ = _matrix("mu", mu)
        if mu_.shape != np.shape(propensity):
            raise ValueError(f"mu has shape {mu_.shape} but propensity has {np.shape(propensity)}")
        base = direct_method_terms(mu=mu_, recommended=recommended_)
    if reference is not None and not math.isfinite(reference):
        raise ValueError(f"reference must be a finite number, got {reference}")
    nan = float("nan")
    ref = float(y_.mean()) if reference is None and n else (nan if reference is None else float(reference))
    matched = taken_ == recommended_
    if n == 0 or not matched.any():
        empty = tuple(SensitivityBound(float(lam), nan, nan, nan, nan) for lam in grid)
        return SensitivityAnalysis(form, nan, empty, ref, None, n, 0, 0, n_boot, alpha, max_lambda)

    if clusters is None:
        codes = np.arange(n)
        n_clusters = n
    else:
        codes, uniques = pd.factorize(_vector("clusters", clusters, n))
        if np.any(codes < 0):
            raise ValueError("clusters must not contain missing values")
        n_clusters = len(uniques)
    sums = np.bincount(codes, weights=base, minlength=n_clusters)
    sizes = np.bincount(codes, minlength=n_clusters).astype(float)

    # Matched rows sorted by what the weights multiply: y (IPW) or the residual (DR).
    r = (y_ - base)[matched]
    order = np.argsort(r, kind="stable")
    r, p_m, codes_m = r[order], p[matched][order], codes[matched][order]
    k = r.shape[0]
    constant = float(base.mean())

    # Bootstrap replicates: cluster multiplicities, drawn once and reused for every
    # lam (n_boot x matched rows floats are kept: about 35 MB at 50 000 clients).
    rng = np.random.default_rng(seed)
    block = max(1, _SENSITIVITY_BLOCK_CELLS // max(k, n_clusters))
    blocks: list[tuple[np.ndarray, np.ndarray]] = []  # (row multiplicities, constants)
    for start in range(0, n_boot, block):
        size = min(block, n_boot - start)
        drawn = rng.integers(0, n_clusters, size=(size, n_clusters))
        offsets = (np.arange(size)[:, None] * n_clusters + drawn).ravel()
        counts = np.bincount(offsets, minlength=size * n_clusters).reshape(size, n_clusters)
        counts = counts.astype(float)
        blocks.append((counts[:, codes_m], counts @ sums / (counts @ sizes)))
    ones = np.ones((1, k))

    def extrema(lam: float, *, want_max: bool = True) -> tuple[float, float, np.ndarray, np.ndarray]:
        a, b = msm_weight_bounds(p_m, lam)
        low0, high0 = _fractional_extrema(r, a, b, ones, want_max=want_max)
        lows, highs = [], []
        for mult, constants in blocks:
            lo, hi = _fractional_extrema(r, a, b, mult, want_max=want_max)
            lows.append(constants + lo)
            highs.append(constants + hi)
        return constant + low0[0], constant + high0[0], np.concatenate(lows), np.concatenate(highs)

    def lower_end(lows: np.ndarray) -> float:
        finite = lows[np.isfinite(lows)]
        return float(np.quantile(finite, alpha / 2)) if finite.size else nan

    bounds = []
    for lam in grid:
        value_low, value_high, lows, highs = extrema(float(lam))
        finite_highs = highs[np.isfinite(highs)]
        high = float(np.quantile(finite_highs, 1 - alpha / 2)) if finite_highs.size else nan
        bounds.append(SensitivityBound(float(lam), float(value_low), float(value_high), lower_end(lows), high))
    w = 1.0 / p_m  # lam = 1: the self-normalised estimate itself
    estimate = constant + float(w @ r / w.sum())

    break_even: float | None = None
    if math.isfinite(ref):

        def low_at(lam: float) -> float:
            return lower_end(extrema(lam, want_max=False)[2])

        # The lower end falls monotonically in lam (the boxes nest, so does each
        # replicate's minimum): bracket with the grid's lower ends, then bisect.
        grid_lows = {bound.lam: bound.low for bound in bounds}
        low_at_one = grid_lows[1.0] if 1.0 in grid_lows else low_at(1.0)
        if low_at_one <= ref:
            break_even = 1.0
        else:
            below = [lam for lam, low in grid_lows.items() if low <= ref]
            hi: float | None = min(below) if below else None
            if hi is None and low_at(max_lambda) <= ref:
                hi = max_lambda
            if hi is not None:
                lo = max([1.0, *[lam for lam, low in grid_lows.items() if low > ref and lam < hi]])
                while hi / lo > 1.001:
                    mid = math.sqrt(lo * hi)
                    if low_at(mid) <= ref:
                        hi = mid
                    else:
                        lo = mid
                break_even = float(hi)
    return SensitivityAnalysis(
        form=form,
        estimate=float(estimate),
        bounds=tuple(bounds),
        reference=ref,
        break_even_lambda=break_even,
        n=n,
        n_matched=k,
        n_clusters=n_clusters,
        n_boot=n_boot,
        alpha=alpha,
        max_lambda=max_lambda,
    )


# -- agreement with caseworkers ------------------------------------------------


def agreement_at_k(*, ranked: npt.ArrayLike, taken: npt.ArrayLike, k: int) -> float:
    """Share of rows whose taken action is among the first ``k`` of ``ranked``.

    ``ranked`` is an ``(n, K)`` integer array of action indices in rank
    order; rows with fewer than ``K`` ranked actions are padded with ``-1``,
    which never matches. ``k`` larger than ``K`` counts all ``K``. NaN for
    no rows.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    ranked_ = np.asarray(ranked)
    if ranked_.ndim != 2:
        raise ValueError(f"ranked must be a 2-d (rows, ranks) array, got shape {ranked_.shape}")
    if ranked_.size and not np.issubdtype(ranked_.dtype, np.integer):
        raise ValueError(f"ranked must hold integer action indices, got dtype {ranked_.dtype}")
    taken_ = _vector("taken", taken, ranked_.shape[0])
    if taken_.size and (not np.issubdtype(taken_.dtype, np.integer) or taken_.min() < 0):
        raise ValueError("taken must hold non-negative integer action indices")
    if ranked_.shape[0] == 0:
        return float("nan")
    hits = (ranked_[:, :k] == taken_[:, None]).any(axis=1)
    return float(hits.mean())


# -- the outcome model ----------------------------------------------------------


def roc_auc(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Area under the ROC curve: the probability that a random positive is scored
    above a random negative, ties counting half (Hanley & McNeil 1982).

    Computed as the Mann-Whitney statistic from mid-ranks, in O(n log n) and
    without importing scikit-learn's metrics (slow to import where this
    module is used at serving time); equal to ``roc_auc_score``.

    NaN when ``y`` holds only one class (or no rows), where it is undefined.
    """
    y_ = _labels(y)
    p_ = _vector("p", p, y_.shape[0]).astype(float)
    if not np.all(np.isfinite(p_)):
        raise ValueError("p must be finite")
    n_pos = int(y_.sum())
    n_neg = y_.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # Mann-Whitney U from mid-ranks (ties share the average of their ranks).
    _, inverse, counts = np.unique(p_, return_inverse=True, return_counts=True)
    mid_ranks = np.cumsum(counts) - (counts - 1) / 2.0
    rank_sum = mid_ranks[inverse][y_ == 1].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def brier_score(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Brier score ``mean_i (p_i - y_i)^2`` (Brier 1950); lower is better. NaN for no rows."""
    y_ = _labels(y)
    p_ = _probabilities("p", p, y_.shape[0])
    if y_.size == 0:
        return float("nan")
    return float(np.mean((p_ - y_) ** 2))


def _bin_edges(p: np.ndarray, n_bins: int, strategy: BinStrategy) -> np.ndarray:
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        # Percentiles of linspace * 100, exactly as scikit-learn computes them, so
        # that a value equal to an edge falls on the same side (to the last bit).
        inner = np.percentile(p, np.linspace(0.0, 1.0, n_bins + 1) * 100)[1:-1]
        # Repeated quantiles are merged; outer edges are kept even when an inner
        # one equals them, so that p = 0 keeps its own bin as in scikit-learn.
        return np.concatenate([[0.0], np.unique(inner), [1.0]])
    raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")


def calibration_table(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> pd.DataFrame:
    """Rows ``bin, low, high, n, mean_p, mean_y`` of a reliability diagram.

    Binning: ``uniform`` cuts [0, 1] into ``n_bins`` equal intervals
    ``(low, high]``, the first one closed so that ``p = 0`` falls in it;
    ``quantile`` puts the inner edges at the quantiles of ``p`` so bins hold
    about equal counts (ties merge bins, so there may be fewer), with outer
    edges 0 and 1. Rows fall into bins exactly as in scikit-learn's
    ``sklearn.calibration.calibration_curve``, so ``mean_p`` and ``mean_y``
    are its ``prob_pred`` and ``prob_true``. Empty bins are left out;
    ``bin`` is the bin's position among all bins.
    """
    y_ = _labels(y)
    p_ = _probabilities("p", p, y_.shape[0])
    columns = ["bin", "low", "high", "n", "mean_p", "mean_y"]
    if y_.size == 0:
        _bin_edges(p_, n_bins, strategy)  # still reject bad arguments
        return pd.DataFrame({name: pd.Series(dtype=float) for name in columns}).astype(
            {"bin": int, "n": int}
        )
    edges = _bin_edges(p_, n_bins, strategy)
    n_actual = edges.shape[0] - 1
    # Inner edges only: bin b holds edges[b] < p <= edges[b+1]; the first bin includes 0.
    bins = np.searchsorted(edges[1:-1], p_, side="left")
    counts = np.bincount(bins, minlength=n_actual)
    sum_p = np.bincount(bins, weights=p_, minlength=n_actual)
    sum_y = np.bincount(bins, weights=y_, minlength=n_actual)
    filled = counts > 0
    return pd.DataFrame(
        {
            "bin": np.flatnonzero(filled),
            "low": edges[:-1][filled],
            "high": edges[1:][filled],
            "n": counts[filled],
            "mean_p": sum_p[filled] / counts[filled],
            "mean_y": sum_y[filled] / counts[filled],
        },
        columns=columns,
    )


def expected_calibration_error(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> float:
    """Expected calibration error ``sum_b (n_b / n) |mean_y_b - mean_p_b|``.

    Over the bins of :func:`calibration_table` (by default 10 equal-width
    bins on [0, 1]; Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017). It
    lies in [0, 1]; 0 when, in every bin, the mean prediction equals the
    observed rate. NaN for no rows.
    """
    table = calibration_table(y, p, n_bins=n_bins, strategy=strategy)
    total = table["n"].sum()
    if total == 0:
        return float("nan")
    gaps = (table["mean_y"] - table["mean_p"]).abs()
    return float((table["n"] * gaps).sum() / total)


# -- intervals ----------------------------------------------------------------


def interval_coverage(
    *,
    low: npt.ArrayLike,
    high: npt.ArrayLike,
    truth: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
) -> float:
    """Share of cells with ``low <= truth <= high`` among the cells in ``mask``.

    Works on arrays of any (equal) shape, typically ``(n, A)`` per-action
    intervals against the simulator's truth. ``mask`` defaults to the cells
    where all three are finite; an explicit ``mask`` must select only finite
    cells (a missing value there is an error, not a silent miss). NaN when
    no cell is selected.
    """
    low_ = np.asarray(low, dtype=float)
    high_ = np.asarray(high, dtype=float)
    truth_ = np.asarray(truth, dtype=float)
    _same_shape("truth", truth_, low=low_, high=high_)
    finite = np.isfinite(low_) & np.isfinite(high_) & np.isfinite(truth_)
    if mask is None:
        selected = finite
    else:
        selected = np.asarray(mask, dtype=bool)
        _same_shape("truth", truth_, mask=selected)
        if np.any(selected & ~finite):
            raise ValueError("mask selects cells where low, high or truth is missing")
    if not selected.any():
        return float("nan")
    covered = (low_ <= truth_) & (truth_ <= high_)
    return float(covered[selected].mean())
