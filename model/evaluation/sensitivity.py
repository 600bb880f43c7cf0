"""Sensitivity of an off-policy value to hidden confounding.

The doubly-robust and IPW estimates assume that nothing which swayed both
the caseworkers' choice and the outcome is missing from the data. The
marginal sensitivity model (Tan 2006, "A distributional approach for causal
inference using propensity scores", JASA) lets the true propensity odds be
up to a factor ``Lambda`` away from the estimated ones; the self-normalised
IPW (Hájek) or augmented estimate is then bounded by a linear-fractional
program solved by sorting, and the percentile bootstrap of its extrema is
the sensitivity interval (Zhao, Small & Bhattacharya 2019; Kallus & Zhou
2018). The break-even ``Lambda`` is where that interval's lower end falls
to the observed value of historical practice. docs/evaluation.md explains
how to read the figures.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from model.evaluation.inputs import as_matrix, as_vector, check_alpha, logged_inputs
from model.evaluation.policy_value import direct_method_terms

# The Lambdas the sensitivity analysis reports: fixed in advance, not tuned
# to a world (docs/evaluation.md).
SENSITIVITY_LAMBDAS: Final = (1.0, 1.1, 1.25, 1.5, 2.0, 3.0)
# The break-even Lambda is searched up to this; beyond it, it is reported as None.
SENSITIVITY_MAX_LAMBDA: Final = 100.0
# Bootstrap replicates x sorted rows handled at once by the sensitivity bounds.
_SENSITIVITY_BLOCK_CELLS: Final = 1_000_000


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
        # Not dataclasses.asdict: the key is "lambda" (a keyword in Python, so
        # not a field name) and the interval comes before the estimated range.
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
        return {**asdict(self), "bounds": [bound.as_dict() for bound in self.bounds]}

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
    break_even: bool = True,
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
    :func:`~model.evaluation.policy_value.dr_policy_value`). ``reference`` (default: the mean of ``y``, the
    observed value of historical practice) defines ``break_even_lambda``,
    found by bisection on ``log lam`` to 0.1 % on the same bootstrap
    replicates (the lower end falls monotonically as ``lam`` grows);
    ``break_even=False`` skips that search (``break_even_lambda`` is None),
    for callers that need only the bounds of the grid.
    """
    check_alpha(alpha)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not (math.isfinite(max_lambda) and max_lambda > 1):
        raise ValueError(f"max_lambda must be a finite number > 1, got {max_lambda}")
    grid = np.asarray(lambdas, dtype=float)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)) or grid.min() < 1:
        raise ValueError(
            f"lambdas must be a non-empty list of finite numbers >= 1, got {lambdas!r}"
        )
    grid = np.unique(grid)
    y_, taken_, recommended_, p = logged_inputs(
        y=y, taken=taken, propensity=propensity, recommended=recommended, clip=clip
    )
    n = y_.shape[0]
    if mu is None:
        form, base = "ipw", np.zeros(n)
    else:
        form = "dr"
        mu_ = as_matrix("mu", mu)
        if mu_.shape != np.shape(propensity):
            raise ValueError(f"mu has shape {mu_.shape} but propensity has {np.shape(propensity)}")
        base = direct_method_terms(mu=mu_, recommended=recommended_)
    if reference is not None and not math.isfinite(reference):
        raise ValueError(f"reference must be a finite number, got {reference}")
    nan = float("nan")
    ref = (
        float(y_.mean())
        if reference is None and n
        else (nan if reference is None else float(reference))
    )
    matched = taken_ == recommended_
    if n == 0 or not matched.any():
        empty = tuple(SensitivityBound(float(lam), nan, nan, nan, nan) for lam in grid)
        return SensitivityAnalysis(form, nan, empty, ref, None, n, 0, 0, n_boot, alpha, max_lambda)

    if clusters is None:
        codes = np.arange(n)
        n_clusters = n
    else:
        codes, uniques = pd.factorize(as_vector("clusters", clusters, n))
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
    # lam, so every lam and the break-even search see the same replicates (the
    # n_boot x matched rows multiplicities stay in memory for that).
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

    def extrema(
        lam: float, *, want_max: bool = True
    ) -> tuple[float, float, np.ndarray, np.ndarray]:
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
        bounds.append(
            SensitivityBound(float(lam), float(value_low), float(value_high), lower_end(lows), high)
        )
    w = 1.0 / p_m  # lam = 1: the self-normalised estimate itself
    estimate = constant + float(w @ r / w.sum())

    break_even_at: float | None = None
    if break_even and math.isfinite(ref):

        def low_at(lam: float) -> float:
            return lower_end(extrema(lam, want_max=False)[2])

        # The lower end falls monotonically in lam (the boxes nest, so does each
        # replicate's minimum): bracket with the grid's lower ends, then bisect.
        grid_lows = {bound.lam: bound.low for bound in bounds}
        low_at_one = grid_lows[1.0] if 1.0 in grid_lows else low_at(1.0)
        if low_at_one <= ref:
            break_even_at = 1.0
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
                break_even_at = float(hi)
    return SensitivityAnalysis(
        form=form,
        estimate=float(estimate),
        bounds=tuple(bounds),
        reference=ref,
        break_even_lambda=break_even_at,
        n=n,
        n_matched=k,
        n_clusters=n_clusters,
        n_boot=n_boot,
        alpha=alpha,
        max_lambda=max_lambda,
    )
