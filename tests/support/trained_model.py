"""The session's MLflow store and trained model, as the fixtures of tests/conftest.py hand them out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from training.pipeline import TrainingResult

TINY_WORLD_CLIENTS = 1_500
TINY_WORLD_SEED = 3
# Small learners: enough trees to rank sensibly, few enough to train in seconds.
# One thread: on a busy two-core runner, two LightGBM threads per fit collapse.
# Both learners, so that the comparison between them is exercised.
TINY_TOP_LEVEL = """\
num_threads = 1
learners = ["s_learner", "dr_learner"]
"""
TINY_TABLES = """
[learner_params.s_learner]
n_estimators = 30
n_bags = 2

[learner_params.dr_learner]
n_estimators = 30
nuisance_estimators = 20

[learner_params.propensity]
n_estimators = 30
"""

TINY_CONFIG = TINY_TOP_LEVEL + TINY_TABLES


@dataclass(frozen=True)
class MlflowStore:
    """The session's MLflow store: `uri` is what MLFLOW_TRACKING_URI holds."""

    uri: str
    folder: Path

    @property
    def artifacts(self) -> Path:
        return self.folder / "artifacts"


@dataclass(frozen=True)
class TrainedModel:
    """The session's trained and registered model."""

    name: str
    version: str
    run_id: str
    model_uri: str
    tracking_uri: str
    data_dir: Path
    config_path: Path
    result: TrainingResult

    @property
    def champion_uri(self) -> str:
        return f"models:/{self.name}@champion"
