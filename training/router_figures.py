"""Whether a router works: its figures on decision points (docs/evaluation.md).

`evaluate_router` scores a `model.router.Router` on the decision points of a
`DecisionPoints` frame selected by a mask and returns exactly the figures of
`EVALUATION_KEYS` (None where one cannot be computed). Only decision points
whose outcome window is complete (not censored) and whose action is known and
in the catalogue are scored: the others have no observed outcome for the
action taken.

- With the simulator's truth (an `(n, A)` matrix aligned to the frame, see
  `training.truth.align_truth`): V_hist, V_rec, V_oracle and the capture ratio
  (`model.evaluation.policy_value.policy_values`), and the coverage of the
  per-action intervals over the eligible cells with a known truth.
- Always: the doubly-robust estimate of V_rec with a cluster-bootstrap 95 %
  interval (the router's own propensity model and predictions); its
  sensitivity to hidden confounding (bounds per Lambda of the marginal
  sensitivity model and the break-even Lambda, in `Evaluation.extra`, see
  `SENSITIVITY_KEYS`); agreement of rank 1 and the top 3 with the
  caseworkers' actions, and ROC AUC, Brier score and expected calibration
  error of `p_outcome` for the actions taken.
- Per service against no_new_service (`Evaluation.uplift`, `UPLIFT_COLUMNS`):
  the model's mean predicted uplift, the doubly-robust average effect from
  the outcomes and, with truth, the true average effect.

The formulas live in the package `model.evaluation`; this module only
selects rows, scores them and puts the figures together. `evaluate_scores` also returns the
tables the plots are drawn from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from model.decision_points.points import DecisionPoints
from model.errors import DataContractError
from model.evaluation.agreement import agreement_at_k
from model.evaluation.bootstrap import bootstrap_mean_interval
from model.evaluation.calibration import (
    brier_score,
    calibration_table,
    expected_calibration_error,
    interval_coverage,
    roc_auc,
)
from model.evaluation.effects import average_effect
from model.evaluation.figures import EVALUATION_FIGURES
from model.evaluation.policy_value import (
    PolicyValues,
    dr_policy_value,
    dr_terms,
    ipw_policy_value,
    policy_values,
)
from model.evaluation.sensitivity import policy_value_sensitivity
from model.json_values import json_number, json_value
from model.router import Router
from model.vocab import NO_NEW_SERVICE
from training.truth import align_truth

# What `evaluate_router` returns and `polku evaluate --json` starts with: the
# figures, then which learner and version they are of.
EVALUATION_KEYS: Final = (*EVALUATION_FIGURES, "learner", "model_version")

# Keys `polku evaluate --json` adds after `EVALUATION_KEYS`: how much hidden
# confounding the doubly-robust value survives (`model.evaluation.sensitivity.
# policy_value_sensitivity`, augmented form; `ipw_*` the Hájek form) and the
# observed outcome rate it is compared with.
SENSITIVITY_KEYS: Final = (
    "dr_sensitivity",
    "break_even_lambda",
    "ipw_sensitivity",
    "ipw_break_even_lambda",
    "observed_rate",
)

# Propensities of the recommended action below this are clipped in the
# off-policy estimates (the support model's, which leaves out the timing
# features, as the overlap guard does); the share clipped is reported.
DR_CLIP: Final = 0.01


# --------------------------------------------------------------------------
# rows
# --------------------------------------------------------------------------


def action_indices(frame: pd.DataFrame, actions: Sequence[str]) -> np.ndarray:
    """Index of each point's action in `actions`; -1 when unknown or not in the catalogue."""
    # One hash lookup over the column, not a Python loop over the points: every
    # figure asks, on every point of a world.
    found = pd.Index(list(actions), dtype=object).get_indexer(frame["action"].astype(object))
    return np.asarray(found, dtype=np.intp)


def evaluable_rows(dp: DecisionPoints, rows_mask: np.ndarray | None = None) -> np.ndarray:
    """Points with a complete outcome window and a known action of the catalogue."""
    taken = action_indices(dp.frame, dp.actions)
    known = dp.frame["action_known"].to_numpy(dtype=bool) & (taken >= 0)
    usable = known & ~dp.frame["censored"].to_numpy(dtype=bool)
    if rows_mask is not None:
        mask = np.asarray(rows_mask, dtype=bool)
        if mask.shape != usable.shape:
            raise ValueError(f"rows_mask has {mask.shape[0]} rows, the frame {usable.shape[0]}")
        usable &= mask
    return usable


# --------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RowTerms:
    """Per scored row, in frame order: its position in the frame, its client, its
    doubly-robust term (`model.evaluation.policy_value.dr_terms`) and, with truth, the
    true value of the recommended action (NaN where unknown); the recommended action and
    the support (propensity) matrix. Two routers' terms on the same rows give a paired
    comparison."""

    positions: np.ndarray
    clusters: np.ndarray
    dr: np.ndarray
    truth_recommended: np.ndarray | None = None
    recommended: np.ndarray | None = None
    support: np.ndarray | None = None


@dataclass(frozen=True)
class Evaluation:
    """The figures of one router on one set of rows, and the tables behind the plots."""

    figures: dict[str, Any]
    n_rows: int
    n_clients: int
    calibration: pd.DataFrame
    uplift: pd.DataFrame
    policy: PolicyValues | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    terms: RowTerms | None = None


def _empty_figures(router: Router, model_version: str | None) -> dict[str, Any]:
    figures: dict[str, Any] = dict.fromkeys(EVALUATION_KEYS)
    figures["learner"] = router.metadata.get("learner", getattr(router.learner, "name", None))
    figures["model_version"] = model_version
    return figures


def evaluate_scores(
    router: Router,
    dp: DecisionPoints,
    rows_mask: np.ndarray | None,
    truth: np.ndarray | pd.DataFrame | None = None,
    *,
    model_version: str | None = None,
    seed: int = 0,
    n_boot: int = 200,
    intervals: bool = True,
    sensitivity: bool = True,
) -> Evaluation:
    """Score `router` on the evaluable rows of `rows_mask`; see the module docstring.

    `intervals=False` skips the per-action intervals (their epistemic spread
    is the costly part of scoring), leaving `coverage` None;
    `sensitivity=False` skips the sensitivity analysis (bounds for every
    Lambda on every bootstrap replicate, and the break-even search).
    """
    if tuple(dp.actions) != tuple(router.actions):
        raise DataContractError(
            "the decision points were built with another catalogue than the model's "
            f"({len(dp.actions)} against {len(router.actions)} actions)"
        )
    truth_matrix = (
        align_truth(dp.frame, truth, dp.actions) if isinstance(truth, pd.DataFrame) else truth
    )
    rows = evaluable_rows(dp, rows_mask)
    figures = _empty_figures(router, model_version)
    empty_tables = (
        calibration_table(np.empty(0), np.empty(0)),
        pd.DataFrame(columns=list(UPLIFT_COLUMNS)),
    )
    if not rows.any():
        return Evaluation(figures, 0, 0, *empty_tables)

    frame = dp.frame.loc[rows]
    eligible = dp.eligibility()[rows]
    # Coverage counts eligible cells only: their intervals are all it needs.
    batch = router.score(frame, eligible=eligible, intervals="eligible" if intervals else False)
    taken = action_indices(dp.frame, dp.actions)[rows]
    y = frame["label"].to_numpy(dtype=float)
    clusters = frame["client_id"].astype(str).to_numpy(dtype=object)
    n = len(taken)
    recommended = batch.recommended
    p_taken = batch.p[np.arange(n), taken]

    dr = dr_policy_value(
        y=y,
        taken=taken,
        mu=batch.p,
        propensity=batch.support,
        recommended=recommended,
        clusters=clusters,
        n_boot=n_boot,
        seed=seed,
        clip=DR_CLIP,
    )
    figures.update(
        dr_value=json_number(dr.value),
        dr_low=json_number(dr.low),
        dr_high=json_number(dr.high),
        agreement_at_1=json_number(agreement_at_k(ranked=batch.ranked, taken=taken, k=1)),
        agreement_at_3=json_number(agreement_at_k(ranked=batch.ranked, taken=taken, k=3)),
        auc=json_number(roc_auc(y, p_taken)),
        brier=json_number(brier_score(y, p_taken)),
        ece=json_number(expected_calibration_error(y, p_taken)),
    )

    policy: PolicyValues | None = None
    truth_recommended: np.ndarray | None = None
    # What the doubly-robust figure rests on: the direct method alone, IPW
    # alone, and how many recommended actions had their propensity clipped.
    p_rec = batch.support[np.arange(n), recommended]
    extra: dict[str, Any] = {
        "observed_rate": float(y.mean()),
        "n_rows": n,
        "dm_value": float(batch.p[np.arange(n), recommended].mean()),
        "ipw_value": float(
            ipw_policy_value(
                y=y,
                taken=taken,
                propensity=batch.support,
                recommended=recommended,
                clusters=None,
                n_boot=0,
                clip=DR_CLIP,
            ).value
        ),
        "dr_clip": DR_CLIP,
        "dr_share_clipped": float((p_rec < DR_CLIP).mean()),
        "dr_share_clipped_matched": float(((p_rec < DR_CLIP) & (taken == recommended)).mean()),
    }
    if sensitivity:
        for form, mu in (("dr", batch.p), ("ipw", None)):
            analysis = policy_value_sensitivity(
                y=y,
                taken=taken,
                propensity=batch.support,
                recommended=recommended,
                clusters=clusters,
                mu=mu,
                n_boot=n_boot,
                seed=seed,
                clip=DR_CLIP,
            )
            extra[f"{form}_sensitivity_analysis"] = analysis.as_dict()
            extra[f"{form}_sensitivity"] = [
                {"lambda": b.lam, "low": json_number(b.low), "high": json_number(b.high)}
                for b in analysis.bounds
            ]
            extra["break_even_lambda" if form == "dr" else "ipw_break_even_lambda"] = (
                analysis.break_even_lambda
            )
    if truth_matrix is not None:
        t = np.asarray(truth_matrix, dtype=float)[rows]
        truth_recommended = t[np.arange(n), recommended]
        policy = policy_values(truth=t, eligible=eligible, taken=taken, recommended=recommended)
        if policy.n > 0:
            figures.update(
                v_hist=json_number(policy.v_hist),
                v_rec=json_number(policy.v_rec),
                v_oracle=json_number(policy.v_oracle),
                capture_ratio=json_number(policy.capture_ratio),
            )
        if intervals:
            cells = eligible & np.isfinite(t) & np.isfinite(batch.low) & np.isfinite(batch.high)
            figures["coverage"] = json_number(
                interval_coverage(low=batch.low, high=batch.high, truth=t, mask=cells)
            )
        extra["truth_rows"] = int(policy.n)
        extra["truth_rows_missing"] = int(policy.n_excluded)

    uplift = _uplift_table(
        router,
        batch.uplift,
        eligible,
        clusters,
        y=y,
        taken=taken,
        mu=batch.p,
        propensity=batch.support,
        truth=None if truth_matrix is None else np.asarray(truth_matrix, dtype=float)[rows],
        seed=seed,
        n_boot=n_boot,
    )
    return Evaluation(
        figures=figures,
        n_rows=n,
        n_clients=len(pd.unique(clusters)),
        calibration=calibration_table(y, p_taken),
        uplift=uplift,
        policy=policy,
        extra=extra,
        terms=RowTerms(
            positions=np.flatnonzero(rows),
            clusters=clusters,
            dr=dr_terms(
                y=y,
                taken=taken,
                mu=batch.p,
                propensity=batch.support,
                recommended=recommended,
                clip=DR_CLIP,
            ),
            truth_recommended=truth_recommended,
            recommended=recommended,
            support=batch.support,
        ),
    )


def evaluate_router(
    router: Router,
    dp: DecisionPoints,
    rows_mask: np.ndarray | None,
    truth: np.ndarray | pd.DataFrame | None = None,
    *,
    model_version: str | None = None,
    seed: int = 0,
    n_boot: int = 200,
) -> dict[str, Any]:
    """The figures of `EVALUATION_KEYS` for `router` on the evaluable rows of `rows_mask`.

    `truth` is an `(n_points, A)` matrix aligned to `dp.frame` (see
    `training.truth.align_truth`), a truth table, or None. Figures that cannot be computed
    (no truth, one class only, no rows) are None.
    """
    return evaluate_scores(
        router, dp, rows_mask, truth, model_version=model_version, seed=seed, n_boot=n_boot
    ).figures


UPLIFT_COLUMNS: Final = (
    "service",
    "mean_uplift",
    "low",
    "high",
    "n",
    "n_taken",
    "n_reference",
    "dr_effect",
    "dr_low",
    "dr_high",
    "true_effect",
)


def _uplift_table(
    router: Router,
    batch_uplift: np.ndarray,
    eligible: np.ndarray,
    clusters: np.ndarray,
    *,
    y: np.ndarray,
    taken: np.ndarray,
    mu: np.ndarray,
    propensity: np.ndarray,
    truth: np.ndarray | None,
    seed: int,
    n_boot: int,
) -> pd.DataFrame:
    """Per service, against no_new_service, on the rows where both were eligible:
    the model's mean predicted uplift (`mean_uplift`, `low`, `high`), the
    doubly-robust average effect from the outcomes (`dr_effect`, `dr_low`,
    `dr_high`; None where fewer than the run's small-cell threshold took the
    service or no_new_service there) and, with truth, the true average effect.

    The two answer different questions: the model's figure is what it
    believes; the doubly-robust one is what the outcomes say once the
    propensities are accounted for, which is what an evaluator compares with
    a trial's known effect.
    """
    actions = list(router.actions)
    if NO_NEW_SERVICE not in actions:
        return pd.DataFrame(columns=list(UPLIFT_COLUMNS))
    reference = actions.index(NO_NEW_SERVICE)
    min_count = int(router.config.min_cell_size)
    rows: list[dict[str, Any]] = []
    for j, action in enumerate(actions):
        if j == reference:
            continue
        where = eligible[:, j] & eligible[:, reference]
        if not where.any():
            continue
        mean = bootstrap_mean_interval(
            batch_uplift[where, j], clusters[where], n_boot=n_boot, seed=seed
        )
        effect = average_effect(
            y=y[where],
            taken=taken[where],
            mu=mu[where],
            propensity=propensity[where],
            action=j,
            reference=reference,
            clusters=clusters[where],
            min_count=min_count,
            n_boot=n_boot,
            seed=seed,
            clip=DR_CLIP,
        )
        true_effect = float("nan")
        if truth is not None:
            contrast = truth[where, j] - truth[where, reference]
            contrast = contrast[np.isfinite(contrast)]
            if contrast.size:
                true_effect = float(contrast.mean())
        rows.append(
            {
                "service": action,
                "mean_uplift": mean.value,
                "low": mean.low,
                "high": mean.high,
                "n": int(where.sum()),
                "n_taken": effect.n_taken,
                "n_reference": effect.n_reference,
                "dr_effect": effect.value,
                "dr_low": effect.low,
                "dr_high": effect.high,
                "true_effect": true_effect,
            }
        )
    return pd.DataFrame(rows, columns=list(UPLIFT_COLUMNS))


def uplift_records(uplift: pd.DataFrame) -> list[dict[str, Any]]:
    """The uplift table as JSON-ready records: NaN as None, counts as int."""
    return [
        {key: json_value(value) for key, value in row.items()}
        for row in uplift.to_dict(orient="records")
    ]


def sensitivity_figures(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The `SENSITIVITY_KEYS` of an evaluation's extra figures (None where missing)."""
    out: dict[str, Any] = {}
    for key in SENSITIVITY_KEYS:
        value = extra.get(key)
        out[key] = json_number(value) if isinstance(value, float | int) else value
    return out


def sensitivity_metrics(extra: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Flat numeric figures of the sensitivity analysis, for a tracking store:
    `<prefix>dr_sensitivity.<lambda>.low`, `... .high`, `<prefix>break_even_lambda`
    and the same for `ipw`."""
    out: dict[str, float] = {}
    for form in ("dr", "ipw"):
        for bound in extra.get(f"{form}_sensitivity") or []:
            for end in ("low", "high"):
                value = bound.get(end)
                if value is not None and math.isfinite(value):
                    out[f"{prefix}{form}_sensitivity.{bound['lambda']:g}.{end}"] = float(value)
    for key in ("break_even_lambda", "ipw_break_even_lambda"):
        value = extra.get(key)
        if value is not None and math.isfinite(value):
            out[f"{prefix}{key}"] = float(value)
    return out


def as_json_figures(figures: Mapping[str, Any]) -> dict[str, Any]:
    """The figures with exactly `EVALUATION_KEYS`, NaN as None, numbers as plain floats."""
    return {key: json_value(figures.get(key)) for key in EVALUATION_KEYS}
