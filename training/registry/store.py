"""Where MLflow keeps Polku's runs and models, and the errors of that store.

By default the tracking and registry store is `sqlite:///<root>/mlruns/mlflow.db`
with artifacts under `<root>/mlruns/artifacts`, where `<root>` is the Polku
checkout the command runs in (the nearest folder upwards from the working
directory that holds `pyproject.toml` and `training/`), else the working
directory. `MLFLOW_TRACKING_URI` in the environment wins; when it is a
`sqlite:///` file, artifacts go to an `artifacts` folder beside the database.
MLflow's file store (`./mlruns` as a folder of files) is deprecated and is not
used.

Only the modules of `training.registry` import mlflow.
"""

from __future__ import annotations

import os

# Before mlflow is imported (it starts its usage telemetry at import): client
# data never leaves a municipality, and neither do usage pings unless an
# operator opts in by setting the variable. Artifact downloads stay quiet.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import mlflow
from mlflow import MlflowClient

from model.errors import PolkuError

DEFAULT_MODEL_NAME: Final = "polku-router"
EXPERIMENT_NAME: Final = "polku"
CANDIDATE: Final = "candidate"
CHAMPION: Final = "champion"
STORE_FOLDER: Final = "mlruns"
DATABASE_FILE: Final = "mlflow.db"
ARTIFACTS_FOLDER: Final = "artifacts"
MODEL_ARTIFACT: Final = "router"  # the logged model's name within the run
EVALUATION_FILE: Final = "evaluation.json"
# The run's policy summary (training.pipeline.policy).
POLICY_SUMMARY_FILE: Final = "evaluation/policy_tree.json"
# The reports a command logs with a version's run after training (`polku
# report <name> --log`), each as `reports/<name>/<name>.json` and
# `<name>.html` (`run_report_path`); the API serves them.
SERVICE_REPORT: Final = "services"
FOLLOWUP_REPORT: Final = "followup"
RUN_REPORTS: Final = (SERVICE_REPORT, FOLLOWUP_REPORT)
MODEL_CARD_FILE: Final = "model_card.json"
FAIRNESS_REPORT_FILE: Final = "fairness_report.json"
FAIRNESS_HTML_FILE: Final = "fairness.html"
DATA_DIR_TAG: Final = "polku.data_dir"
# MLflow 3's UI shows an experiment without this tag as a GenAI one (traces
# overview); Polku's runs are classic model training.
EXPERIMENT_KIND_TAG: Final = "mlflow.experimentKind"
EXPERIMENT_KIND: Final = "custom_model_development"


class RegistryError(PolkuError, LookupError):
    """A model, version or alias that the registry does not have, or a store that fails."""


def run_report_files(name: str) -> tuple[str, str]:
    """The JSON and HTML file names of the run report `name` (one of `RUN_REPORTS`)."""
    if name not in RUN_REPORTS:
        raise ValueError(f"{name!r} is not a report logged with a run: one of {RUN_REPORTS}")
    return f"{name}.json", f"{name}.html"


def run_report_path(name: str, file: str = "") -> str:
    """Where a run keeps the run report `name` (`file`: one of its files, else its folder)."""
    run_report_files(name)
    return f"reports/{name}/{file}" if file else f"reports/{name}"


@dataclass(frozen=True)
class Store:
    tracking_uri: str
    artifact_location: str | None  # for a new experiment; None: the server decides


def project_root(start: str | Path | None = None) -> Path:
    """The Polku checkout containing `start` (default: the working directory), else `start`."""
    here = Path(start) if start is not None else Path.cwd()
    here = here.resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "training").is_dir():
            return folder
    return here


def default_tracking_uri(root: str | Path | None = None) -> str:
    """`sqlite:///<root>/mlruns/mlflow.db` for the checkout (or folder) `root`."""
    folder = project_root(root) / STORE_FOLDER
    return f"sqlite:///{(folder / DATABASE_FILE).as_posix()}"


def _sqlite_file(uri: str) -> Path | None:
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    path = uri[len(prefix) :]
    return Path(path) if path and path != ":memory:" else None


def resolve_store(tracking_uri: str | None = None) -> Store:
    """The store to use: the argument, else `MLFLOW_TRACKING_URI`, else the default."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()
    database = _sqlite_file(uri)
    artifacts = None
    if database is not None:
        database = database if database.is_absolute() else Path.cwd() / database
        database.parent.mkdir(parents=True, exist_ok=True)
        artifacts = (database.parent / ARTIFACTS_FOLDER).resolve().as_uri()
        uri = f"sqlite:///{database.resolve().as_posix()}"
    return Store(tracking_uri=uri, artifact_location=artifacts)


def configure(tracking_uri: str | None = None) -> Store:
    """Point MLflow's tracking and registry at the store (see the module docstring)."""
    store = resolve_store(tracking_uri)
    mlflow.set_tracking_uri(store.tracking_uri)
    mlflow.set_registry_uri(store.tracking_uri)
    return store


def client_for(store: Store) -> MlflowClient:
    return MlflowClient(tracking_uri=store.tracking_uri, registry_uri=store.tracking_uri)


def experiment_id(store: Store, name: str = EXPERIMENT_NAME) -> str:
    client = client_for(store)
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.tags.get(EXPERIMENT_KIND_TAG) is None:
            client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return str(found.experiment_id)
    location = f"{store.artifact_location}/{name}" if store.artifact_location else None
    return str(
        client.create_experiment(
            name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
        )
    )


def runs_table_url(base: str, store: Store | None = None, name: str = EXPERIMENT_NAME) -> str:
    """The MLflow UI's address of the experiment's runs table, at the UI's `base` address.

    MLflow 3's UI chooses between its GenAI and model-training views with a
    switch of its own (remembered by the browser), not by the experiment:
    `workflowType=machine_learning` opens the model-training view.
    """
    found = experiment_id(store or configure())
    return f"{base.rstrip('/')}/#/experiments/{found}/runs?workflowType=machine_learning"


def quiet_mlflow_logs() -> None:
    """MLflow's own INFO lines (database setup, uv detection) are noise on the command line.

    MLflow sets its logger's level when imported; this module imports it first.
    """
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    # "Failed to resolve installed pip version": uv environments have no pip.
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)
