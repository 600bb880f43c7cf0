"""Shared session fixtures: a tiny simulated world, a real MLflow store, one trained model.

These are used across the suite (the API tests too); keep them stable.

- `mlflow_store` (session, autouse): a real SQLite MLflow store in a temporary
  folder. `MLFLOW_TRACKING_URI` points at it for the whole session, so no test
  ever writes to the checkout's `mlruns/`; artifacts go to `<folder>/artifacts`.
  Child processes inherit the variable.
- `tiny_world_dir` (session): the built-in world with 1 500 clients (seed 3,
  `truth_replicates=2`) written as CSV with its `truth.csv` and `world.json`.
  Treat it as read-only.
- `tiny_config_file` (session): a run configuration (TOML) with small
  learners (`TINY_CONFIG`), one LightGBM thread.
- `trained_model` (session): the real `polku train` path
  (`training.registry.runs.train_and_register`) run once on `tiny_world_dir` with the
  tiny configuration, registered as `polku-router` and promoted to
  `champion`. It returns a `TrainedModel`: the registry facts and the
  in-memory `TrainingResult`. Training takes a few seconds; every test that
  needs a model shares this one. Don't move its aliases: register another
  model name when a test needs to (see tests/test_registry.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from training.pipeline import TrainingResult

TINY_WORLD_CLIENTS = 1_500
TINY_WORLD_SEED = 3
# Small learners: enough trees to rank sensibly, few enough to train in seconds.
# One thread: on a busy two-core runner, two LightGBM threads per fit collapse.
TINY_CONFIG = """\
num_threads = 1

[learner_params.s_learner]
n_estimators = 30
n_bags = 2

[learner_params.dr_learner]
n_estimators = 30
nuisance_estimators = 20

[learner_params.propensity]
n_estimators = 30
"""


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


@pytest.fixture(scope="session", autouse=True)
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowStore]:
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{(folder / 'mlflow.db').as_posix()}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        yield MlflowStore(uri=uri, folder=folder)


@pytest.fixture(scope="session")
def tiny_world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.simulator import WorldParams, write_world

    folder = tmp_path_factory.mktemp("tiny-world")
    write_world(
        WorldParams(n_clients=TINY_WORLD_CLIENTS, seed=TINY_WORLD_SEED, truth_replicates=2), folder
    )
    return folder


@pytest.fixture(scope="session")
def tiny_config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.toml"
    path.write_text(TINY_CONFIG, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def trained_model(
    tiny_world_dir: Path, tiny_config_file: Path, mlflow_store: MlflowStore
) -> TrainedModel:
    from training.registry.runs import train_and_register
    from training.registry.store import CHAMPION
    from training.registry.versions import promote

    result, registered = train_and_register(tiny_world_dir, config_path=tiny_config_file)
    promote(registered.version, alias=CHAMPION, name=registered.name)
    return TrainedModel(
        name=registered.name,
        version=registered.version,
        run_id=registered.run_id,
        model_uri=registered.model_uri,
        tracking_uri=mlflow_store.uri,
        data_dir=tiny_world_dir,
        config_path=tiny_config_file,
        result=result,
    )
