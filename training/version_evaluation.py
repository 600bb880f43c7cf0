"""Scoring a registered version on a data folder, as `polku evaluate` and the reports do.

The decision points are built with the version's own catalogue and
configuration. On the very data the version was trained on (the same data
fingerprint), only its held-out clients are scored, so that a version is
never graded on the clients it learnt from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.decision_points.build import build_decision_points
from model.decision_points.points import DecisionPoints
from model.router import Router
from training.contract.load import load_valid_tables
from training.pipeline.inputs import data_fingerprint
from training.pipeline.split import held_out_rows, held_out_words
from training.router_figures import Evaluation, evaluate_scores
from training.truth import find_truth, read_truth


@dataclass(frozen=True)
class ScoringPoints:
    """A data folder's decision points for a version: which rows to score, the truth, a note."""

    dp: DecisionPoints
    rows: np.ndarray
    truth: pd.DataFrame | None
    note: str


@dataclass(frozen=True)
class DataPoints:
    """A data folder's decision points under one catalogue and configuration."""

    data: Path
    dp: DecisionPoints
    clients: pd.DataFrame
    truth: pd.DataFrame | None
    truth_path: Path | None
    fingerprint: str


def data_points(router: Router, data: Path, truth_path: Path | None = None) -> DataPoints:
    """DATA's decision points built with the router's catalogue and configuration, and the
    truth (`truth_path`, else the folder's truth file if any). `truth_path` must exist when given."""
    tables = load_valid_tables(data, catalogue=router.catalogue, config=router.config)
    dp = build_decision_points(
        tables.clients,
        tables.episodes,
        tables.outcomes,
        catalogue=router.catalogue,
        config=router.config,
    )
    found = truth_path if truth_path is not None else find_truth(data)
    truth = read_truth(found) if found is not None else None
    return DataPoints(
        data=data,
        dp=dp,
        clients=tables.clients,
        truth=truth,
        truth_path=found,
        fingerprint=str(data_fingerprint(data)["sha256"]),
    )


def version_rows(router: Router, version: str, points: DataPoints) -> ScoringPoints:
    """Which of the points to score for a registered version: its held-out clients when
    the points come from the data it was trained on, else every one."""
    rows = np.ones(len(points.dp.frame), dtype=bool)
    note = f"scored every decision point of {points.data} with a complete outcome window"
    trained_on = router.metadata.get("data", {}).get("sha256")
    split = router.metadata.get("split", {})
    if trained_on and split and points.fingerprint == trained_on:
        rows = held_out_rows(points.dp, points.clients, split)
        note = (
            f"{points.data} is the data version {version} was trained on: scored only its "
            f"held-out clients ({held_out_words(split)})"
        )
    if points.truth is not None and points.truth_path is not None:
        note += f"; truth from {points.truth_path.name}"
    return ScoringPoints(dp=points.dp, rows=rows, truth=points.truth, note=note)


def scoring_points(
    router: Router, version: str, data: Path, truth_path: Path | None = None
) -> ScoringPoints:
    """DATA's decision points for a registered version, restricted to its held-out clients
    when DATA is the data the version was trained on. `truth_path` must exist when given."""
    return version_rows(router, version, data_points(router, data, truth_path))


def evaluate_version(
    router: Router,
    version: str,
    data: Path,
    *,
    truth_path: Path | None = None,
    plots: Path | None = None,
) -> tuple[Evaluation, str]:
    """Score a version on DATA (see `scoring_points`); optionally draw the plots into `plots`."""
    points = scoring_points(router, version, data, truth_path)
    evaluation = evaluate_scores(
        router, points.dp, points.rows, points.truth, model_version=version
    )
    note = points.note
    if plots is not None:
        from training.plots import calibration_plot, uplift_by_service_plot

        calibration_plot(evaluation.calibration, plots / "calibration.png")
        uplift_by_service_plot(evaluation.uplift, plots / "uplift_by_service.png")
        note += f"; plots in {plots}"
    return evaluation, note
