"""MLflow tracking and model registry: the only module in Polku that imports mlflow.

Where things live
-----------------
By default the tracking and registry store is `sqlite:///<root>/mlruns/mlflow.db`
with artifacts under `<root>/mlruns/artifacts`, where `<root>` is the Polku
checkout the command runs in (the nearest folder upwards from the working
directory that holds `pyproject.toml` and `training/`), else the working
directory. `MLFLOW_TRACKING_URI` in the environment wins; when it is a
`sqlite:///` file, artifacts go to an `artifacts` folder beside the database.
MLflow's file store (`./mlruns` as a folder of files) is deprecated and is not
used.

What a training run holds
-------------------------
Parameters (configuration, learner hyperparameters, seed, split), the data
fingerprint (content hashes, row counts, date window), every learner's
validation and test figures (metrics `<learner>.<key>` and
`<learner>.validation.<key>`; the served learner's test figures also
unprefixed), the plots, the catalogue and configuration, the model card and
fairness report, and the model: a pyfunc (`PolkuRouterModel`) whose
artifacts hold the `Router` saved as plain JSON. The version is registered
under `polku-router` with the alias `candidate`; `promote` moves `champion`.

Serving
-------
`load_served` returns the native `Router` of a version (by alias or number)
with its evaluation and model card: the API calls the router directly, which
is far faster than going through `pyfunc.predict`. Any other Python process
can still `mlflow.pyfunc.load_model("models:/polku-router@champion")` and
`predict` a frame of decision-point features (see `training.batch.score_frame`).
"""

from __future__ import annotations

import os

# Before mlflow is imported (it starts its usage telemetry at import): client
# data never leaves a municipality, and neither do usage pings unless an
# operator opts in by setting the variable. Artifact downloads stay quiet.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Final

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import ColSpec, Schema

from model.decision_points import DecisionPoints
from model.errors import PolkuError
from model.router import ROUTER_FILE, Router
from training.batch import score_frame
from training.pipeline import TrainingResult, write_plots
from training.router_figures import uplift_records

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME: Final = "polku-router"
EXPERIMENT_NAME: Final = "polku"
CANDIDATE: Final = "candidate"
CHAMPION: Final = "champion"
STORE_FOLDER: Final = "mlruns"
DATABASE_FILE: Final = "mlflow.db"
ARTIFACTS_FOLDER: Final = "artifacts"
MODEL_ARTIFACT: Final = "router"  # the logged model's name within the run
MODEL_CODE_FILE: Final = "polku_model.py"
EVALUATION_FILE: Final = "evaluation.json"
MODEL_CARD_FILE: Final = "model_card.json"
FAIRNESS_REPORT_FILE: Final = "fairness_report.json"
DATA_DIR_TAG: Final = "polku.data_dir"
# What the pyfunc needs at load time; pinned to what trained it. Passing them
# explicitly also spares log_model about two seconds of dependency inference.
RUNTIME_PACKAGES: Final = (
    "mlflow",
    "lightgbm",
    "numpy",
    "pandas",
    "scipy",
    "pydantic",
    "pyarrow",
)


# The pyfunc is logged as code ("models from code"), not as a pickle: loading
# it runs these lines, which need Polku installed in the loading environment.
MODEL_CODE: Final = '''"""Polku's served model, written by training.registry: a Router behind MLflow's pyfunc."""

import mlflow

from training.registry import PolkuRouterModel

mlflow.models.set_model(PolkuRouterModel())
'''


class RegistryError(PolkuError, LookupError):
    """A model, version or alias that the registry does not have, or a store that fails."""


# --------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------


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


def _client(store: Store) -> MlflowClient:
    return MlflowClient(tracking_uri=store.tracking_uri, registry_uri=store.tracking_uri)


def experiment_id(store: Store, name: str = EXPERIMENT_NAME) -> str:
    client = _client(store)
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = f"{store.artifact_location}/{name}" if store.artifact_location else None
    return str(client.create_experiment(name, artifact_location=location))


# --------------------------------------------------------------------------
# the pyfunc
# --------------------------------------------------------------------------


class PolkuRouterModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
    """The served model as an MLflow pyfunc: a `Router` saved as JSON in its artifacts.

    `predict` takes decision-point features (columns named as in
    `model.features`) and returns one row per input row: the recommended
    service and, per action, `p_`, `low_`, `high_`, `uplift_`, `eligible_`
    and `thin_support_` columns (see `training.batch.score_frame`).
    """

    def load_context(self, context: Any) -> None:
        self.router = Router.load(context.artifacts[MODEL_ARTIFACT])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        # MLflow derives no schema from a DataFrame hint: the logged signature rules.
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return score_frame(self.router, frame.reset_index(drop=True))


def example_features(dp: DecisionPoints, rows: np.ndarray) -> pd.DataFrame:
    """Two made-up decision points in the shape of the training features.

    Drawn from the training rows' distributions column by column (medians and
    most common values, then upper quartiles and second most common values),
    so the example that is stored with the model describes no real client.
    Categorical columns are plain Python strings (never pandas `category`,
    which MLflow's schema enforcement refuses).
    """
    frame = dp.frame.loc[rows] if rows.any() else dp.frame
    out: dict[str, list[Any]] = {}
    for feature in dp.features:
        values = frame[feature.name]
        if feature.kind == "categorical":
            common = values.astype(object).value_counts(dropna=True).index.tolist() or ["unknown"]
            out[feature.name] = [str(common[0]), str(common[min(1, len(common) - 1)])]
        else:
            numbers = pd.to_numeric(values, errors="coerce").dropna()
            if numbers.empty:
                out[feature.name] = [0.0, 0.0]
            elif feature.kind == "boolean":
                out[feature.name] = [float(numbers.round().mode().iloc[0]), 1.0]
            else:
                out[feature.name] = [float(numbers.median()), float(numbers.quantile(0.75))]
    example = pd.DataFrame(out)
    for feature in dp.features:
        if feature.kind == "categorical":
            example[feature.name] = example[feature.name].astype(object)
    return example


def model_signature(router: Router, example: pd.DataFrame) -> ModelSignature:
    """The pyfunc's signature, inferred from `example` and the router's own output.

    Columns the model neither encodes nor reads in an eligibility rule (the
    protected attributes, kept for the fairness audit) are optional inputs.
    """
    inferred = infer_signature(example, score_frame(router, example))
    needed = set(router.encoder.columns_)
    for service in router.catalogue.services:
        needed |= set(service.eligibility.features)
    assert inferred.inputs is not None
    inputs = Schema(
        [
            ColSpec(spec.type, spec.name, required=spec.name in needed)
            for spec in inferred.inputs.inputs
        ]
    )
    return ModelSignature(inputs=inputs, outputs=inferred.outputs)


def _requirements() -> list[str]:
    out = []
    for package in RUNTIME_PACKAGES:
        try:
            out.append(f"{package}=={importlib_metadata.version(package)}")
        except importlib_metadata.PackageNotFoundError:  # pragma: no cover
            out.append(package)
    return out


# --------------------------------------------------------------------------
# logging a training run
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str
    model_uri: str
    aliases: tuple[str, ...] = ()
    tracking_uri: str = ""

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def _flat(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _metrics(prefix: str, figures: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in figures.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value):
            out[f"{prefix}{key}"] = float(value)
    return out


def log_training(
    result: TrainingResult,
    *,
    name: str = DEFAULT_MODEL_NAME,
    tracking_uri: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> RegisteredVersion:
    """Log a `training.pipeline.TrainingResult` as a run and register its router.

    The new version gets the alias `candidate`; `champion` is left alone
    (see `promote`).
    """
    say = progress or (lambda _: None)
    store = configure(tracking_uri)
    client = _client(store)
    inputs = result.inputs
    try:
        exp = experiment_id(store)
        with mlflow.start_run(experiment_id=exp, run_name=f"{result.chosen}") as run:
            say("logging the run to MLflow")
            mlflow.log_params({k: _flat(v) for k, v in result.params().items()})
            mlflow.set_tags(
                {
                    "polku.learner": result.chosen,
                    "polku.data_sha256": inputs.fingerprint["sha256"],
                    "polku.truth": str(result.has_truth).lower(),
                    # Where the data lay, so `polku report fairness` can find it again
                    # (checked against the fingerprint before use).
                    DATA_DIR_TAG: str(Path(inputs.data_dir).resolve()),
                }
            )
            metrics = _metrics("", result.evaluation)
            for learner, figures in result.test.items():
                metrics.update(_metrics(f"{learner}.", figures))
            for learner, figures in result.validation.items():
                metrics.update(_metrics(f"{learner}.validation.", figures))
            metrics.update(_metrics("seconds.", result.seconds))
            metrics.update(result.sensitivity_metrics())
            mlflow.log_metrics(metrics)
            mlflow.log_dict(inputs.fingerprint, "data/fingerprint.json")
            mlflow.log_dict(
                {"validation": result.validation, "test": result.test, "chosen": result.chosen},
                "evaluation/by_learner.json",
            )
            mlflow.log_dict(
                {
                    learner: uplift_records(detail.uplift)
                    for learner, detail in result.details.items()
                },
                "evaluation/service_effects.json",
            )
            mlflow.log_text(inputs.catalogue.text, "inputs/catalogue.toml")
            mlflow.log_dict(inputs.config.model_dump(mode="json"), "inputs/run_config.json")
            if inputs.config_path is not None:
                mlflow.log_artifact(str(inputs.config_path), "inputs")
            mlflow.log_dict(result.model_card, f"reports/{MODEL_CARD_FILE}")
            if result.fairness_report is not None:
                mlflow.log_dict(result.fairness_report, f"reports/{FAIRNESS_REPORT_FILE}")
                from model.fairness import REPORT_KIND

                if result.fairness_report.get("kind") == REPORT_KIND:
                    from training.reports import render_fairness_html, render_model_card_html

                    mlflow.log_text(
                        render_fairness_html(result.fairness_report), "reports/fairness.html"
                    )
                    mlflow.log_text(
                        render_model_card_html(result.model_card), "reports/model_card.html"
                    )
            with tempfile.TemporaryDirectory(prefix="polku-") as tmp:
                plots = Path(tmp) / "plots"
                write_plots(result, plots)
                mlflow.log_artifacts(str(plots), "plots")
                say("saving the model")
                folder = Path(tmp) / MODEL_ARTIFACT
                result.router.save(folder)
                (folder / EVALUATION_FILE).write_text(json.dumps(result.evaluation), "utf-8")
                (folder / MODEL_CARD_FILE).write_text(json.dumps(result.model_card), "utf-8")
                example = example_features(result.dp, result.split.train)
                signature = model_signature(result.router, example)
                code = Path(tmp) / MODEL_CODE_FILE
                code.write_text(MODEL_CODE, "utf-8")
                info = mlflow.pyfunc.log_model(
                    name=MODEL_ARTIFACT,
                    python_model=str(code),
                    artifacts={MODEL_ARTIFACT: str(folder)},
                    signature=signature,
                    input_example=example,
                    pip_requirements=_requirements(),
                    metadata={
                        "learner": result.chosen,
                        "polku": result.router.metadata.get("polku_version"),
                    },
                )
            say("registering the model version")
            version = mlflow.register_model(info.model_uri, name)
            evaluation = {**result.evaluation, "model_version": str(version.version)}
            mlflow.log_dict(evaluation, f"evaluation/{EVALUATION_FILE}")
            client.set_registered_model_alias(name, CANDIDATE, str(version.version))
            client.set_model_version_tag(name, str(version.version), "learner", result.chosen)
            client.set_model_version_tag(
                name, str(version.version), "data_sha256", inputs.fingerprint["sha256"]
            )
            run_id = run.info.run_id
    except MlflowException as exc:
        raise RegistryError(f"MLflow store {store.tracking_uri}: {exc.message}") from None
    result.evaluation["model_version"] = str(version.version)
    return RegisteredVersion(
        name=name,
        version=str(version.version),
        run_id=run_id,
        model_uri=info.model_uri,
        aliases=(CANDIDATE,),
        tracking_uri=store.tracking_uri,
    )


# --------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------


def _version(
    client: MlflowClient, name: str, *, alias: str | None, version: str | int | None
) -> Any:
    try:
        if version is not None:
            return client.get_model_version(name, str(version))
        return client.get_model_version_by_alias(name, alias or CHAMPION)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            # an unreachable or failing store is not a missing version: say so (no address;
            # readiness shows this to anyone)
            raise RegistryError(
                f"the MLflow registry did not answer ({exc.error_code}); the model cannot be looked up"
            ) from None
        what = f"version {version}" if version is not None else f"alias {alias or CHAMPION!r}"
        known = [str(v.version) for v in _versions(client, name)]
        hint = (
            f"; registered versions: {', '.join(known)}"
            if known
            else "; no version is registered yet (run `polku train`)"
        )
        raise RegistryError(f"model {name!r} has no {what}{hint}") from None


def _versions(client: MlflowClient, name: str) -> list[Any]:
    try:
        found = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return []
    return sorted(found, key=lambda v: int(v.version))


def promote(
    version: str | int,
    *,
    alias: str = CHAMPION,
    name: str = DEFAULT_MODEL_NAME,
    tracking_uri: str | None = None,
) -> RegisteredVersion:
    """Point `alias` (by default `champion`, the one the API serves) at `version`."""
    store = configure(tracking_uri)
    client = _client(store)
    found = _version(client, name, alias=None, version=version)
    client.set_registered_model_alias(name, alias, str(found.version))
    found = client.get_model_version(name, str(found.version))
    return RegisteredVersion(
        name=name,
        version=str(found.version),
        run_id=str(found.run_id),
        model_uri=str(found.source),
        aliases=tuple(found.aliases),
        tracking_uri=store.tracking_uri,
    )


def list_versions(
    name: str = DEFAULT_MODEL_NAME, *, tracking_uri: str | None = None
) -> list[RegisteredVersion]:
    """Every registered version of `name`, oldest first, with its aliases."""
    store = configure(tracking_uri)
    client = _client(store)
    versions = _versions(client, name)
    aliases: dict[str, list[str]] = {}
    if versions:
        for alias, number in client.get_registered_model(name).aliases.items():
            aliases.setdefault(str(number), []).append(alias)
    return [
        RegisteredVersion(
            name=name,
            version=str(v.version),
            run_id=str(v.run_id),
            model_uri=str(v.source),
            aliases=tuple(sorted(aliases.get(str(v.version), []))),
            tracking_uri=store.tracking_uri,
        )
        for v in versions
    ]


@dataclass(frozen=True)
class ServedModel:
    """A registered version loaded for serving: the native router and what describes it."""

    router: Router
    name: str
    version: str
    run_id: str
    evaluation: dict[str, Any]
    card: dict[str, Any] | None


def load_served(
    name: str = DEFAULT_MODEL_NAME,
    *,
    alias: str | None = CHAMPION,
    version: str | int | None = None,
    tracking_uri: str | None = None,
) -> ServedModel:
    """Load a registered version's `Router` (by `version`, else by `alias`).

    Raises `RegistryError` when the model, version or alias does not exist or
    its files cannot be read. The evaluation is the one computed on the
    held-out clients at training time, with `model_version` filled in.
    """
    store = configure(tracking_uri)
    client = _client(store)
    found = _version(client, name, alias=alias, version=version)
    uri = f"models:/{name}/{found.version}"
    try:
        with tempfile.TemporaryDirectory(prefix="polku-model-") as tmp:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp))
            router_files = sorted(local.rglob(ROUTER_FILE))
            if not router_files:
                raise RegistryError(
                    f"model {name!r} version {found.version} holds no {ROUTER_FILE}"
                )
            folder = router_files[0].parent
            router = Router.load(folder)
            evaluation = _read_json(folder / EVALUATION_FILE) or {}
            card = _read_json(folder / MODEL_CARD_FILE)
    except MlflowException as exc:
        raise RegistryError(
            f"cannot load model {name!r} version {found.version}: {exc.message}"
        ) from None
    evaluation["model_version"] = str(found.version)
    router.metadata.setdefault("model_name", name)
    router.metadata["model_version"] = str(found.version)
    return ServedModel(
        router=router,
        name=name,
        version=str(found.version),
        run_id=str(found.run_id),
        evaluation=evaluation,
        card=card,
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text("utf-8"))
    return data if isinstance(data, dict) else None


def load_fairness_report(run_id: str, *, tracking_uri: str | None = None) -> dict[str, Any] | None:
    """The fairness report logged with a training run, or None when it has none."""
    configure(tracking_uri)
    try:
        with tempfile.TemporaryDirectory(prefix="polku-report-") as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=f"reports/{FAIRNESS_REPORT_FILE}", dst_path=tmp
            )
            return _read_json(Path(path))
    except (MlflowException, OSError):
        return None


def training_data_dir(run_id: str, *, tracking_uri: str | None = None) -> Path | None:
    """The data folder a run was trained on, as recorded at training time (it may have moved)."""
    configure(tracking_uri)
    try:
        run = mlflow.get_run(run_id)
    except MlflowException:
        return None
    value = run.data.tags.get(DATA_DIR_TAG)
    return Path(value) if value else None


def log_reports(
    run_id: str,
    paths: Mapping[str, Path],
    *,
    tracking_uri: str | None = None,
) -> None:
    """Replace a run's fairness report and model card by rebuilt ones.

    `paths` are the files `training.reports.write_reports` wrote (JSON and
    HTML of both); they are logged as they are, the fairness JSON under the
    name the run keeps it by. The API serves the report of the served
    version's run, so a report rebuilt with caseworkers' decisions reaches
    evaluators there too. The run's first reports stay under
    `reports/at_training/`. (`GET /v1/model` serves the card stored with the
    model itself, written at training time.)
    """
    from training.reports import FAIRNESS_JSON

    store = configure(tracking_uri)
    client = _client(store)
    try:
        with tempfile.TemporaryDirectory(prefix="polku-report-") as tmp:
            try:
                first = Path(
                    mlflow.artifacts.download_artifacts(
                        run_id=run_id, artifact_path="reports", dst_path=str(Path(tmp) / "old")
                    )
                )
            except (MlflowException, OSError):
                first = None
            if first is not None and first.is_dir() and not (first / "at_training").exists():
                client.log_artifacts(run_id, str(first), "reports/at_training")
            folder = Path(tmp) / "new"
            folder.mkdir()
            for name, path in paths.items():
                shutil.copyfile(path, folder / (FAIRNESS_REPORT_FILE if name == FAIRNESS_JSON else name))
            client.log_artifacts(run_id, str(folder), "reports")
    except MlflowException as exc:
        raise RegistryError(f"MLflow store {store.tracking_uri}: {exc.message}") from None
