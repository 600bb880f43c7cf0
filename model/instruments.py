"""Assignment units as instruments: how far a model's service effects are off under hidden selection.

Case data records which office, team or caseworker handled a client. Where
their habits, not the client, decide which service is offered, that
variation moves clients between services for reasons that have nothing to do
with how ready they are: the examiner (or judge-leniency) design of labour
economics (Kling 2006; Maestas, Mullen & Strand 2013; Bhuller et al. 2020 for
several treatments). It identifies the services' effects even when
caseworkers also select on what no column records.

Polku uses it to *check and correct* its outcome model rather than to replace
it. For decision point i with features X, unit U, action A and outcome Y,
let p(X, A) be the model's chance of success and R = Y - p(X, A) its
residual, and D_a - e_a(X) how much more (or less) the point received action
a than the historical policy would give anyone with its features. If the
model's effects were right, a unit could not predict R: given X and the
action, a valid unit carries no information on the outcome. If the model
overstates the effect of action a by b_a (its takers were selected on what
no column records), then units that give a more often than their clients'
features suggest do *worse* than the model expects, in proportion:

    mean R in unit u  =  - sum_a b_a * mean (D_a - e_a(X)) in unit u  +  noise.

Across units this is a linear regression (the grouped form of two-stage
least squares with unit indicators as instruments; Angrist 1991), weighted
by the units' sizes, of the units' mean residuals on their excess shares of
the services. Every estimate rests on differences *between* units, which is
what the design identifies; its standard errors come from how far the units
scatter around the fit, so a unit's own effect on outcomes (a local labour
market, or habits that reach the clients' later choices) widens them instead
of passing for a service's effect. Only actions the units move clearly are
estimated, never more than half as many as there are units less one, and
never leaving fewer than five degrees of freedom; the others keep the
model's effect. With a dozen services estimated at once some land beyond
their noise by chance, so the estimates are shrunk together, by how far
the precise ones show the true biases to spread (`pooled_shrinkage`).

The remaining scatter beyond sampling noise is tested too (its sum of
squares against a chi-squared with the residual degrees of freedom, the
grouped form of the Sargan-Hansen overidentification test; Hansen 1982): a
rejection says the units predict outcomes beyond the services they assign.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

# An action is estimated only when its excess share varies between units by at
# least this many times its sampling noise (a first-stage F of the unit means).
MIN_FIRST_STAGE: float = 4.0
MIN_RESIDUAL_DEGREES: int = 5
# Fewer units than this give too few differences to tell habits from chance.
MIN_UNITS: int = 20


@dataclass(frozen=True)
class UnitCorrection:
    """Per action: the model's effect bias against the reference, as the units show it."""

    bias: np.ndarray  # (A,) probability points; 0 for the reference and unestimated actions
    standard_error: np.ndarray  # (A,) inf where not estimated, 0 for the reference
    first_stage: np.ndarray  # (A,) between-unit variance of the excess share over its noise
    j_statistic: float | None
    j_degrees: int
    j_p_value: float | None
    n_units: int
    n_rows: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        """True when the units scatter beyond sampling noise at the 1 % level.

        With many clients this also flags units whose habits reach later
        choices a little; the correction carries that scatter in its
        standard errors either way.
        """
        return self.j_p_value is not None and self.j_p_value < 0.01

    def shrunk(self) -> np.ndarray:
        """The biases shrunk together by empirical Bayes (`pooled_shrinkage`)."""
        return pooled_shrinkage(self.bias, self.standard_error)


def pooled_shrinkage(bias: np.ndarray, standard_error: np.ndarray) -> np.ndarray:
    """Each estimated bias times tau^2 / (tau^2 + se^2), tau^2 the true biases' spread.

    Empirical Bayes across the estimated actions (Efron & Morris 1975, JASA
    70(350)), the true biases centred on zero as the relative biases are.
    tau^2 comes from the precision-weighted sum of squares Q = sum b^2 / se^2,
    whose expectation is k + tau^2 sum 1 / se^2 (the moment estimator of
    DerSimonian & Laird 1986 with a known centre, positive part), so the
    precise estimates decide how far the biases spread and one noisy
    estimate far out cannot. Actions with an infinite or zero standard
    error (not estimated, or the reference) stay 0.
    """
    bias = np.asarray(bias, dtype=float)
    se = np.asarray(standard_error, dtype=float)
    estimated = np.isfinite(se) & (se > 0)
    out = np.zeros_like(bias)
    if not estimated.any():
        return out
    values = bias[estimated]
    precision = 1.0 / se[estimated] ** 2
    q = float(precision @ values**2)
    tau2 = max((q - len(values)) / float(precision.sum()), 0.0)
    if tau2 > 0:
        out[estimated] = values * tau2 / (tau2 + 1.0 / precision)
    return out


@dataclass(frozen=True)
class _UnitMeans:
    size: np.ndarray  # (U,) points per unit
    residual: np.ndarray  # (U,) mean R
    residual_noise: np.ndarray  # (U,) sampling variance of mean R
    excess: np.ndarray  # (U, A) mean D - e
    excess_noise: np.ndarray  # (U, A) sampling variance of mean D - e


def _clustered_noise(
    values: np.ndarray, mean: np.ndarray, codes: np.ndarray, clusters: np.ndarray, size: np.ndarray
) -> np.ndarray:
    """Sampling variance of each unit's mean of `values` with a client's points as one draw.

    A client's decision points share the client's unrecorded traits, so their
    residuals are correlated; counting them as independent draws understates
    the noise of a unit's mean. The cluster-robust variance of a mean sums
    each client's deviations first (Liang & Zeger 1986), with the small-sample
    factor G / (G - 1) over the unit's G clients.
    """
    pairs, inverse = np.unique(np.column_stack([codes, clusters]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    deviation = values - mean[codes]
    sums = np.zeros((len(pairs), values.shape[1]))
    np.add.at(sums, inverse, deviation)
    n_units = len(size)
    squares = np.zeros((n_units, values.shape[1]))
    np.add.at(squares, pairs[:, 0], sums**2)
    groups = np.bincount(pairs[:, 0], minlength=n_units).astype(float)
    factor = groups / np.maximum(groups - 1.0, 1.0)
    return squares * factor[:, None] / size[:, None] ** 2


def _unit_means(
    r: np.ndarray, excess: np.ndarray, units: npt.ArrayLike, clusters: np.ndarray
) -> _UnitMeans:
    codes = pd.factorize(pd.Series(np.asarray(units, dtype=object)).astype(str))[0]
    size = np.bincount(codes).astype(float)
    n_units = len(size)

    def mean_and_noise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sums = np.zeros((n_units, values.shape[1]))
        squares = np.zeros_like(sums)
        np.add.at(sums, codes, values)
        np.add.at(squares, codes, values**2)
        mean = sums / size[:, None]
        variance = np.maximum(squares / size[:, None] - mean**2, 0.0)
        return mean, variance / np.maximum(size - 1, 1)[:, None]

    residual = (np.bincount(codes, weights=r, minlength=n_units) / size)[:, None]
    residual_noise = _clustered_noise(r[:, None], residual, codes, clusters, size)
    shares, share_noise = mean_and_noise(excess)
    return _UnitMeans(size, residual[:, 0], residual_noise[:, 0], shares, share_noise)


def unit_correction(
    *,
    residual: npt.ArrayLike,
    taken: npt.ArrayLike,
    propensity: npt.ArrayLike,
    units: npt.ArrayLike,
    reference: int,
    clusters: npt.ArrayLike | None = None,
) -> UnitCorrection:
    """Estimate each action's effect bias of a model from its residuals (module docstring).

    `residual` is Y - p(X, A) per decision point; `propensity` (n, A) the
    historical policy given the features alone (without the unit); `taken`
    the action index of each point; `reference` the action effects are
    measured against (no new service); `clusters` the client of each point,
    so that the overidentification test counts a client's points as one
    draw (without it, every point is its own).
    """
    r = np.asarray(residual, dtype=float)
    a = np.asarray(taken, dtype=int)
    e = np.asarray(propensity, dtype=float)
    n, n_actions = e.shape
    treated = np.zeros((n, n_actions))
    treated[np.arange(n), a] = 1.0
    # Without clients given, every point is a client of its own.
    groups = np.arange(n) if clusters is None else pd.factorize(pd.Series(np.asarray(clusters)))[0]
    means = _unit_means(r, treated - e, units, groups)
    n_units = len(means.size)
    weight = means.size / means.size.sum()
    bias = np.zeros(n_actions)
    standard_error = np.full(n_actions, np.inf)
    standard_error[reference] = 0.0

    # How clearly the units move each action: between-unit variance of its
    # excess share against the sampling noise of those unit means.
    centred = means.excess - weight @ means.excess
    between = weight @ centred**2
    noise = weight @ means.excess_noise
    first_stage = np.where(noise > 0, between / np.maximum(noise, 1e-12), 0.0)
    first_stage[reference] = 0.0
    limit = min((n_units - 1) // 2, n_units - 1 - MIN_RESIDUAL_DEGREES)
    if n_units < MIN_UNITS:
        limit = 0
    order = [
        j for j in np.argsort(-first_stage, kind="stable") if first_stage[j] >= MIN_FIRST_STAGE
    ]
    chosen = sorted(order[: max(0, limit)])
    if not chosen:
        return UnitCorrection(bias, standard_error, first_stage, None, 0, None, n_units, n)

    design = np.column_stack([np.ones(n_units), centred[:, chosen]])
    sqrt_w = np.sqrt(weight)
    coef, *_ = np.linalg.lstsq(design * sqrt_w[:, None], means.residual * sqrt_w, rcond=None)
    fitted = design @ coef
    scatter = means.residual - fitted
    degrees = n_units - design.shape[1]
    # Heteroskedasticity-robust (HC1) covariance over units.
    bread = np.linalg.pinv((design * weight[:, None]).T @ design)
    meat = (design * (weight * scatter)[:, None]).T @ (design * (weight * scatter)[:, None])
    cov = bread @ meat @ bread * n_units / max(degrees, 1)
    se = np.sqrt(np.clip(np.diag(cov)[1:], 0.0, None))
    # mean R = - sum_a b_a * excess_a: the bias is minus the slope. Only the
    # biases relative to one another are kept: a unit that offers more of
    # every service also does so at its clients' later reviews, which raises
    # its outcomes through the services to come, not the one at hand, and
    # would shift every estimate alike.
    slopes = -coef[1:]
    precision = 1.0 / np.maximum(se, 1e-12) ** 2
    common = float(precision @ slopes / precision.sum())
    bias[chosen] = slopes - common
    standard_error[chosen] = np.sqrt(se**2 + 1.0 / precision.sum())
    # Scatter beyond the sampling noise of the unit means.
    j = float(np.sum(scatter**2 / np.maximum(means.residual_noise, 1e-12)))
    return UnitCorrection(
        bias=bias,
        standard_error=standard_error,
        first_stage=first_stage,
        j_statistic=j,
        j_degrees=degrees,
        j_p_value=float(stats.chi2.sf(j, degrees)) if degrees > 0 else None,
        n_units=n_units,
        n_rows=n,
        extra={
            "estimated": [int(k) for k in chosen],
            "unit_scatter_sd": float(
                np.sqrt(max(float(weight @ scatter**2 - weight @ means.residual_noise), 0.0))
            ),
        },
    )
