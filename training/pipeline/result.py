"""What a training run produced (`TrainingResult`), and its parameters for the tracking store."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any

import numpy as np

from model.decision_points.points import DecisionPoints
from model.learners.s_learner import SLearner
from model.router import Router
from training.pipeline.fit import FittedModels, configured_hyperparameters
from training.pipeline.inputs import PROPENSITY, Inputs
from training.pipeline.rows import TrainingRows
from training.pipeline.split import Split
from training.router_figures import Evaluation, sensitivity_metrics


@dataclass
class TrainingResult:
    """Everything a run produced; `training.registry.runs.log_training` logs it."""

    inputs: Inputs
    dp: DecisionPoints
    rows: TrainingRows
    split: Split
    models: FittedModels
    chosen: str
    metric: str
    validation: dict[str, dict[str, Any]]
    test: dict[str, dict[str, Any]]
    details: dict[str, Evaluation]
    router: Router
    seed: int
    interval_widths: dict[str, float | None]
    seconds: dict[str, float]
    golden_problems: list[str] = field(default_factory=list)
    model_card: dict[str, Any] = field(default_factory=dict)
    fairness_report: dict[str, Any] | None = None
    # When the run began (seconds since the epoch), for the tracking store's start time.
    started_at: float | None = None

    @property
    def evaluation(self) -> dict[str, Any]:
        """The served model's evaluation: the chosen learner on the held-out clients."""
        return self.test[self.chosen]

    @property
    def has_truth(self) -> bool:
        return self.inputs.truth is not None

    def sensitivity_metrics(self) -> dict[str, float]:
        """The held-out sensitivity analysis as flat metrics: the served learner's
        unprefixed (`dr_sensitivity.1.5.low`, `break_even_lambda`, ...), every
        learner's under `<learner>.`."""
        metrics = sensitivity_metrics(self.details[self.chosen].extra)
        for name, detail in self.details.items():
            metrics.update(sensitivity_metrics(detail.extra, f"{name}."))
        return metrics

    def params(self) -> dict[str, Any]:
        """Flat run parameters for the tracking store."""
        config = self.inputs.config.model_dump(mode="json")
        params: dict[str, Any] = {
            f"config.{k}": v for k, v in config.items() if k != "learner_params"
        }
        for name in (*self.inputs.config.learners, PROPENSITY):
            configured = configured_hyperparameters(self.inputs.config, name, seed=self.seed)
            for key, value in configured.items():
                params[f"{name}.{key}"] = value
        params.update(
            {
                "seed": self.seed,
                "catalogue": self.inputs.catalogue.source,
                "data.sha256": self.inputs.fingerprint["sha256"],
                "truth": self.inputs.truth_path.name if self.inputs.truth_path else None,
                "chosen_learner": self.chosen,
                "selection_metric": self.metric,
                **{
                    f"{name}.rounds_chosen": getattr(learner, "n_rounds_", None)
                    for name, learner in self.models.learners.items()
                    if isinstance(learner, SLearner)
                },
                "planned_share": round(self.rows.planned_share, 4),
                "inferred_dropped": self.rows.n_inferred_dropped,
                **{f"split.{k}": v for k, v in self.split.summary(self.dp).items()},
            }
        )
        return params


def polku_version() -> str:
    try:
        return importlib_metadata.version("polku")
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "unknown"


def decision_window(dp: DecisionPoints, mask: np.ndarray) -> dict[str, str | None]:
    dates = dp.frame.loc[mask, "decision_date"]
    if not len(dates):
        return {"from": None, "to": None}
    return {"from": f"{dates.min():%Y-%m-%d}", "to": f"{dates.max():%Y-%m-%d}"}
