"""Two registered versions side by side on the same decision points (`polku compare`).

Both versions score the same decision points of one data folder: those with
a complete outcome window that each version may be graded on (on the data a
version was trained on, only its held-out clients; see
`training.version_evaluation`). Every figure of `polku evaluate` is reported
for both, with the difference (second minus first).

Which version is better is decided by one figure: the doubly-robust policy
value, with both versions graded by **one referee**, as training chooses
between learners (`training.pipeline.compare`): an outcome model
cross-fitted over client folds of the scored points themselves, and the
mean of the two versions' propensities. Each version's own estimate (the
`dr_value` rows, as `polku evaluate` gives them) uses its own outcome model,
so two versions that recommend exactly the same would differ by their
models' errors; with one referee they differ only where their
recommendations do. The difference is the mean of the per-point
differences of the referee's terms, with a cluster-bootstrap interval that
resamples whole clients and keeps each client's two terms together (a
paired bootstrap). The simulator's truth, when the folder has it, adds the
true difference as an extra column; it never decides anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from model.decision_points.points import DecisionPoints
from model.errors import DataContractError
from model.evaluation.bootstrap import MeanInterval, bootstrap_mean_interval
from model.json_values import json_number, json_value
from model.router import Router
from training.pipeline.compare import Referee, fit_referee
from training.pipeline.fit import outcome_data
from training.router_figures import (
    EVALUATION_KEYS,
    Evaluation,
    RowTerms,
    evaluable_rows,
    evaluate_scores,
)
from training.version_evaluation import DataPoints, data_points, version_rows

# Fields of the run configuration that only change how the learners are fitted,
# never the decision points: two versions differing only in these share them.
TRAINING_ONLY_FIELDS: Final = frozenset(
    {
        "learners",
        "learner_params",
        "num_threads",
        "recalibrate",
        "choose_rounds",
        "refit",
        "seed",
        "holdout_fraction",
        "validation_fraction",
        "split",
    }
)

# Figures reported after EVALUATION_KEYS: what the doubly-robust value rests on.
EXTRA_KEYS: Final = ("observed_rate", "dm_value", "ipw_value", "dr_share_clipped")

# The figure that decides: the doubly-robust value graded by one referee.
REFEREE_FIGURE: Final = "referee_value"


@dataclass(frozen=True)
class FigureRow:
    """One figure of both versions and their difference (None when not a number)."""

    name: str
    first: Any
    second: Any
    difference: float | None


@dataclass(frozen=True)
class Version:
    """A registered version to compare: its number and its router."""

    version: str
    router: Router


@dataclass(frozen=True)
class VersionComparison:
    """Two versions on the same decision points; differences are second minus first."""

    first: str
    second: str
    figures: tuple[FigureRow, ...]
    dr_difference: MeanInterval
    truth_difference: MeanInterval | None
    n_rows: int
    n_clients: int
    note: str

    @property
    def second_is_worse(self) -> bool:
        """The paired interval of the doubly-robust difference lies wholly below zero."""
        high = self.dr_difference.high
        return math.isfinite(high) and high < 0.0

    def as_dict(self) -> dict[str, Any]:
        def interval(found: MeanInterval | None) -> dict[str, Any] | None:
            if found is None:
                return None
            return {
                "value": json_number(found.value),
                "low": json_number(found.low),
                "high": json_number(found.high),
                "n": found.n,
                "n_clients": found.n_clusters,
            }

        return {
            "first": self.first,
            "second": self.second,
            "figures": [
                {
                    "figure": row.name,
                    "first": json_value(row.first),
                    "second": json_value(row.second),
                    "difference": json_number(row.difference),
                }
                for row in self.figures
            ],
            "dr_difference": interval(self.dr_difference),
            "truth_difference": interval(self.truth_difference),
            "second_is_worse": self.second_is_worse,
            "n_rows": self.n_rows,
            "n_clients": self.n_clients,
            "note": self.note,
        }


def compare_versions(
    first: Version,
    second: Version,
    data: Path,
    *,
    truth_path: Path | None = None,
    n_boot: int = 200,
    seed: int = 0,
    coverage: bool = True,
) -> VersionComparison:
    """Score both versions on the decision points of DATA that both may be graded on.

    The per-action intervals, the costly part of scoring, are computed only for the
    coverage figure, which needs the truth: without truth, or with `coverage=False`,
    they are skipped and `coverage` is None."""
    if tuple(first.router.actions) != tuple(second.router.actions):
        raise DataContractError(
            f"versions {first.version} and {second.version} have different service catalogues "
            f"({len(first.router.actions)} against {len(second.router.actions)} services): "
            "one referee cannot grade both"
        )
    first_points = data_points(first.router, data, truth_path)
    if _same_points(first.router, second.router):
        second_points = first_points
    else:
        second_points = data_points(second.router, data, truth_path)
    first_rows = version_rows(first.router, first.version, first_points)
    second_rows = version_rows(second.router, second.version, second_points)
    first_keys = point_keys(first_points.dp)
    second_keys = point_keys(second_points.dp)
    first_usable = evaluable_rows(first_points.dp, first_rows.rows)
    second_usable = evaluable_rows(second_points.dp, second_rows.rows)
    common = pd.Index(first_keys[first_usable]).intersection(pd.Index(second_keys[second_usable]))
    if common.empty:
        raise DataContractError(
            f"versions {first.version} and {second.version} have no decision point of {data} "
            "in common that both may be graded on (a complete outcome window, a known action, "
            "and a client neither was trained on)"
        )
    # Hash lookups: numpy's isin on object arrays compares element by element.
    first_common = pd.Index(first_keys).isin(common)
    second_common = pd.Index(second_keys).isin(common)
    intervals = coverage and first_points.truth is not None and second_points.truth is not None
    first_eval = _evaluate(first, first_points, first_usable & first_common, intervals)
    second_eval = _evaluate(second, second_points, second_usable & second_common, intervals)
    assert first_eval.terms is not None and second_eval.terms is not None
    first_terms, second_terms = _paired(
        first_eval.terms, first_keys, second_eval.terms, second_keys
    )
    referee = _referee(first, first_points.dp, first_terms, second_terms, seed=seed)
    assert first_terms.recommended is not None and second_terms.recommended is not None
    first_referee = referee.terms(first_terms.recommended)
    second_referee = referee.terms(second_terms.recommended)
    dr = bootstrap_mean_interval(
        second_referee - first_referee, first_terms.clusters, n_boot=n_boot, seed=seed
    )
    truth = _truth_difference(first_terms, second_terms, n_boot=n_boot, seed=seed)
    note = _note(first, second, first_rows.note, second_rows.note)
    return VersionComparison(
        first=first.version,
        second=second.version,
        figures=(
            FigureRow(
                REFEREE_FIGURE,
                float(first_referee.mean()),
                float(second_referee.mean()),
                float(second_referee.mean() - first_referee.mean()),
            ),
            *_figure_rows(first_eval, second_eval),
        ),
        dr_difference=dr,
        truth_difference=truth,
        n_rows=first_eval.n_rows,
        n_clients=first_eval.n_clients,
        note=note,
    )


def point_keys(dp: DecisionPoints) -> np.ndarray:
    """A key per decision point that does not depend on the catalogue or the row order:
    client, date, kind, action and the point's rank among identical ones."""
    frame = dp.frame
    base = (
        frame["client_id"].astype(str)
        + "|"
        + pd.to_datetime(frame["decision_date"]).dt.strftime("%Y-%m-%d")
        + "|"
        + frame["kind"].astype(str)
        + "|"
        + frame["action"].astype(object).fillna("").astype(str)
    )
    rank = base.groupby(base, sort=False).cumcount().astype(str)
    return (base + "|" + rank).to_numpy(dtype=object)


def _same_points(first: Router, second: Router) -> bool:
    """Whether both routers build the same decision points from the same data."""
    if first.catalogue.text != second.catalogue.text:
        return False
    exclude = set(TRAINING_ONLY_FIELDS)
    return bool(
        first.config.model_dump(exclude=exclude) == second.config.model_dump(exclude=exclude)
    )


def _evaluate(
    version: Version, points: DataPoints, rows: np.ndarray, intervals: bool
) -> Evaluation:
    # The sensitivity analysis is left out: it bounds one version's value, not a difference.
    return evaluate_scores(
        version.router,
        points.dp,
        rows,
        points.truth,
        model_version=version.version,
        intervals=intervals,
        sensitivity=False,
    )


def _paired(
    first: RowTerms, first_keys: np.ndarray, second: RowTerms, second_keys: np.ndarray
) -> tuple[RowTerms, RowTerms]:
    """The second version's terms in the order of the first's (by decision-point key)."""
    order = pd.Index(second_keys[second.positions]).get_indexer(first_keys[first.positions])
    if np.any(order < 0) or len(order) != len(second.positions):
        raise AssertionError("the two versions scored different decision points")

    def reordered(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values[order]

    second_dr = reordered(second.dr)
    assert second_dr is not None
    return first, RowTerms(
        positions=second.positions[order],
        clusters=second.clusters[order],
        dr=second_dr,
        truth_recommended=reordered(second.truth_recommended),
        recommended=reordered(second.recommended),
        support=reordered(second.support),
    )


def _referee(
    first: Version, dp: DecisionPoints, first_terms: RowTerms, second_terms: RowTerms, *, seed: int
) -> Referee:
    """One referee for both versions on the scored points: an outcome model cross-fitted over
    client folds of those points (on the first version's encoding of the features), and the
    mean of the two versions' propensities."""
    assert first_terms.support is not None and second_terms.support is not None
    rows = np.zeros(len(dp.frame), dtype=bool)
    rows[first_terms.positions] = True
    encoder = first.router.encoder
    X = np.zeros((len(dp.frame), len(encoder.columns_)))
    X[rows] = encoder.transform(dp.frame.loc[rows])
    data = outcome_data(dp, X, rows)
    # outcome_data keeps frame order, and so do the first version's terms
    assert np.all(np.diff(first_terms.positions) > 0)
    return fit_referee(
        data,
        (first_terms.support + second_terms.support) / 2.0,
        n_actions=len(dp.actions),
        categorical_features=list(encoder.categorical_indices),
        seed=seed,
    )


def _truth_difference(
    first: RowTerms, second: RowTerms, *, n_boot: int, seed: int
) -> MeanInterval | None:
    if first.truth_recommended is None or second.truth_recommended is None:
        return None
    known = np.isfinite(first.truth_recommended) & np.isfinite(second.truth_recommended)
    if not known.any():
        return None
    return bootstrap_mean_interval(
        second.truth_recommended[known] - first.truth_recommended[known],
        first.clusters[known],
        n_boot=n_boot,
        seed=seed,
    )


def _figure_rows(first: Evaluation, second: Evaluation) -> tuple[FigureRow, ...]:
    rows: list[FigureRow] = []
    for key in (*EVALUATION_KEYS, *EXTRA_KEYS, "n_rows", "n_clients"):
        if key == "model_version":
            continue
        a, b = _figure(first, key), _figure(second, key)
        difference = None
        if _number(a) and _number(b) and key not in ("n_rows", "n_clients"):
            difference = float(b) - float(a)
        rows.append(FigureRow(key, a, b, difference))
    return tuple(rows)


def _figure(evaluation: Evaluation, key: str) -> Any:
    if key == "n_rows":
        return evaluation.n_rows
    if key == "n_clients":
        return evaluation.n_clients
    if key in evaluation.figures:
        return evaluation.figures[key]
    return evaluation.extra.get(key)


def _number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _note(first: Version, second: Version, first_note: str, second_note: str) -> str:
    notes = [f"version {first.version}: {first_note}"]
    if second_note != first_note:
        notes.append(f"version {second.version}: {second_note}")
    notes.append("both scored on the decision points they have in common")
    return "; ".join(notes)
