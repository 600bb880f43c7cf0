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
residual. If the model's effects were right, a unit's habits could not
predict R: given X and the action, a valid unit carries no information on the
outcome. Under hidden selection they do: where a unit rarely offers a
service, the few who get it were selected harder, and succeed more often than
the model (which pools the units) predicts.

The partially linear instrumental-variables model of Chernozhukov et al.
(2018, "Double/debiased machine learning", section 4.2) with the optimal
instruments Z_a = e_a(X, U) - e_a(X) (what the unit adds to each action's
propensity) and the treatment residuals D_a - e_a(X) gives, per action
against the reference action,

    bias = -(Z' D~)^{-1} Z' R,

how much the model's effect of each action (against the reference) exceeds
what the units' variation shows. A small ridge term keeps actions that the
units do not move from being estimated at all: their bias stays near zero
("no evidence, no change"). Standard errors are clustered by client.

Validity is testable when there are more units than actions moved by them:
the Sargan-Hansen J statistic of the residuals against every unit dummy
(Hansen 1982). A unit that predicts outcomes beyond the services it assigns
(a local labour market, say) fails it, and its correction is not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

# Relative ridge on (Z' D~): a fraction of its largest diagonal entry.
RIDGE: float = 1e-3


@dataclass(frozen=True)
class UnitCorrection:
    """Per action: the model's effect bias against the reference, as the units show it."""

    bias: np.ndarray  # (A,) probability points; 0 for the reference and unmoved actions
    standard_error: np.ndarray  # (A,) clustered; inf where not identified
    first_stage: np.ndarray  # (A,) share of the action's variation the units move
    j_statistic: float | None
    j_degrees: int
    j_p_value: float | None
    n_units: int
    n_rows: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """False when the overidentification test rejects the units at the 1 % level."""
        return self.j_p_value is None or self.j_p_value >= 0.01

    def shrunk(self) -> np.ndarray:
        """The bias with the positive-part James-Stein factor 1 - se^2 / bias^2 per action.

        An estimate within its own noise is dropped; a clear one is kept
        almost whole.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = 1.0 - (self.standard_error / np.abs(self.bias)) ** 2
        factor = np.where(np.isfinite(factor), np.clip(factor, 0.0, 1.0), 0.0)
        return self.bias * factor


def unit_dummies(units: npt.ArrayLike) -> tuple[np.ndarray, int]:
    """Centred one-hot columns of the units (one dropped), and the number of units."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(units, dtype=object)).astype(str))
    n_units = len(uniques)
    if n_units < 2:
        return np.zeros((len(codes), 0)), n_units
    onehot = np.zeros((len(codes), n_units - 1))
    rows = np.flatnonzero(codes > 0)
    onehot[rows, codes[rows] - 1] = 1.0
    return onehot - onehot.mean(axis=0), n_units


def _clustered_meat(scores: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    codes = pd.factorize(np.asarray(clusters))[0]
    summed = np.zeros((codes.max() + 1, scores.shape[1]))
    np.add.at(summed, codes, scores)
    m = len(summed)
    return summed.T @ summed * (m / max(m - 1, 1))


def unit_correction(
    *,
    residual: npt.ArrayLike,
    taken: npt.ArrayLike,
    propensity_with_unit: npt.ArrayLike,
    propensity_without_unit: npt.ArrayLike,
    units: npt.ArrayLike,
    clusters: npt.ArrayLike,
    reference: int,
) -> UnitCorrection:
    """Estimate each action's effect bias of a model from its residuals (module docstring).

    `residual` is Y - p(X, A) on points the model was not fitted on;
    `propensity_with_unit` and `propensity_without_unit` are (n, A) historical
    policy models with and without the unit among the features; `taken` the
    action index of each point; `reference` the action effects are measured
    against (no new service).
    """
    r = np.asarray(residual, dtype=float)
    a = np.asarray(taken, dtype=int)
    with_unit = np.asarray(propensity_with_unit, dtype=float)
    without_unit = np.asarray(propensity_without_unit, dtype=float)
    n, n_actions = with_unit.shape
    clusters = np.asarray(clusters)
    others = [j for j in range(n_actions) if j != reference]
    treated = np.zeros((n, n_actions))
    treated[np.arange(n), a] = 1.0
    d_resid = (treated - without_unit)[:, others]
    z = (with_unit - without_unit)[:, others]
    zd = z.T @ d_resid
    ridge = RIDGE * max(float(np.max(np.abs(np.diag(zd)))), 1e-12)
    bread = np.linalg.inv(zd + ridge * np.eye(len(others)))
    beta = -bread @ (z.T @ r)
    # Residual of the structural equation R = -D~ beta + u, for the sandwich.
    u = r + d_resid @ beta
    meat = _clustered_meat(z * u[:, None], clusters)
    cov = bread @ meat @ bread.T
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    # How much of each action's variation the units move: Var(Z_a) / Var(D~_a).
    moved = z.var(axis=0) / np.maximum(d_resid.var(axis=0), 1e-12)
    bias = np.zeros(n_actions)
    standard_error = np.full(n_actions, np.inf)
    first_stage = np.zeros(n_actions)
    bias[others], standard_error[others], first_stage[others] = beta, se, moved
    standard_error[reference] = 0.0
    dummies, n_units = unit_dummies(units)
    j_stat, j_df, j_p = _overidentification(u, dummies, clusters, identified=int((moved > 1e-3).sum()))
    return UnitCorrection(
        bias=bias,
        standard_error=standard_error,
        first_stage=first_stage,
        j_statistic=j_stat,
        j_degrees=j_df,
        j_p_value=j_p,
        n_units=n_units,
        n_rows=n,
    )


def _overidentification(
    u: np.ndarray, dummies: np.ndarray, clusters: np.ndarray, *, identified: int
) -> tuple[float | None, int, float | None]:
    """Hansen's J: do the units predict what the corrected model leaves unexplained?"""
    degrees = dummies.shape[1] - identified
    if degrees < 1:
        return None, 0, None
    moments = dummies.T @ u / len(u)
    scores = dummies * (u - u.mean())[:, None]
    weight = _clustered_meat(scores, clusters) / len(u) ** 2
    try:
        j = float(moments @ np.linalg.pinv(weight) @ moments)
    except np.linalg.LinAlgError:
        return None, degrees, None
    return j, degrees, float(stats.chi2.sf(j, degrees))
