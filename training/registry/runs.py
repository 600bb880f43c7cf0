"""Logging a training run to MLflow and registering its model.

A run, named for what and when (`train 2025-03-04 · 20 000 clients ·
s_learner`) and timed from the start of training, holds the parameters
(configuration, every learner's and the propensity model's hyperparameters
with their defaults, seed, split), the data fingerprint (content hashes, row
counts, date window) and the training, validation and held-out decision
points as MLflow datasets, every learner's validation and test figures
(metrics `<learner>.<key>` and `<learner>.validation.<key>`; the served
learner's test figures also unprefixed), the plots (SHAP ones included), the
catalogue and configuration, the model card and fairness report, and the
model: a pyfunc (`training.registry.pyfunc`) whose artifacts hold the
`Router` saved as plain JSON. The version is registered
under `polku-router` with the alias `candidate`; `promote` moves `champion`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import Dataset as DatasetEntity
from mlflow.entities import DatasetInput, InputTag
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from model.catalogue import CATALOGUE_VERSION
from model.model_card import with_model_identity
from training.pipeline.result import TrainingResult
from training.pipeline.train import write_plots
from training.registry.pyfunc import (
    MODEL_CODE,
    MODEL_CODE_FILE,
    code_packages,
    example_features,
    example_request,
    model_signature,
    requirements,
)
from training.registry.store import (
    CANDIDATE,
    DATA_DIR_TAG,
    DEFAULT_MODEL_NAME,
    EVALUATION_FILE,
    FAIRNESS_REPORT_FILE,
    MODEL_ARTIFACT,
    MODEL_CARD_FILE,
    POLICY_SUMMARY_FILE,
    RegistryError,
    client_for,
    configure,
    experiment_id,
    run_report_files,
    run_report_path,
)
from training.registry.versions import RegisteredVersion
from training.router_figures import uplift_records
from training.shap_plots import write_shap_plots


def train_and_register(
    data: Path,
    *,
    catalogue_path: Path | None = None,
    config_path: Path | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    progress: Callable[[str], None] | None = None,
) -> tuple[TrainingResult, RegisteredVersion]:
    """What `polku train` does: run the pipeline, log the run, register the version."""
    from training.pipeline import train as run_pipeline

    say = progress or (lambda _: None)
    result = run_pipeline(
        data, catalogue_path=catalogue_path, config_path=config_path, progress=say
    )
    registered = log_training(result, name=model_name, progress=say)
    return result, registered


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


def run_name(result: TrainingResult) -> str:
    """`train 2025-03-04 · 20 000 clients · s_learner`: when, on how many clients, which learner."""
    when = datetime.fromtimestamp(result.started_at or time.time(), UTC)
    clients = result.inputs.fingerprint.get("rows", {}).get("clients")
    count = f"{clients:,}".replace(",", " ") if isinstance(clients, int) else "?"
    return f"train {when:%Y-%m-%d} · {count} clients · {result.chosen}"


def run_tags(result: TrainingResult) -> dict[str, str]:
    """What the run was trained on: data and training windows, catalogue and its version."""
    inputs = result.inputs
    window = inputs.fingerprint.get("date_window") or [None, None]
    training = result.router.metadata.get("training_window") or {}
    catalogue_sha = hashlib.sha256(inputs.catalogue.text.encode("utf-8")).hexdigest()
    tags = {
        "polku.learner": result.chosen,
        "polku.data_sha256": inputs.fingerprint["sha256"],
        "polku.truth": str(result.has_truth).lower(),
        "polku.data_from": window[0],
        "polku.data_to": window[1],
        "polku.training_from": training.get("from"),
        "polku.training_to": training.get("to"),
        "polku.catalogue": inputs.catalogue.source,
        "polku.catalogue_version": str(CATALOGUE_VERSION),
        "polku.catalogue_sha256": catalogue_sha,
        # Where the data lay, so `polku report fairness` can find it again
        # (checked against the fingerprint before use).
        DATA_DIR_TAG: str(Path(inputs.data_dir).resolve()),
    }
    return {key: str(value) for key, value in tags.items() if value is not None}


UV_AUTO_DETECT = "MLFLOW_UV_AUTO_DETECT"
SCHEMA_ROWS = 1000
DATASET_CONTEXTS = {"train": "training", "validation": "validation", "test": "held_out"}


def log_datasets(result: TrainingResult, run_id: str, client: MlflowClient) -> None:
    """The decision points each part of the split holds, as MLflow datasets.

    Only their description is stored (source folder, digest, schema, row
    count): features, action and label of the part's rows, never the rows.
    MLflow would infer the schema value by value over every row and hash
    only the first rows; here the schema comes from the first rows (each
    column holds one type) and the digest from every row.
    """
    dp = result.dp
    columns = [c for c in (*dp.feature_names, "action", "label") if c in dp.frame.columns]
    source = str(Path(result.inputs.data_dir).resolve())
    short = result.inputs.fingerprint["sha256"][:12]
    inputs = []
    for part, context in DATASET_CONTEXTS.items():
        frame = dp.frame.loc[getattr(result.split, part), columns]
        frame = frame.astype(
            {c: object for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
        ).reset_index(drop=True)
        described = from_pandas(
            frame.head(SCHEMA_ROWS),
            source=source,
            targets="label",
            name=f"decision_points_{part}_{short}",
        )._to_mlflow_entity()
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        dataset = DatasetEntity(
            name=described.name,
            digest=hashlib.sha256(rows.tobytes()).hexdigest()[:16],
            source_type=described.source_type,
            source=described.source,
            schema=described.schema,
            profile=json.dumps({"num_rows": len(frame), "num_elements": int(frame.size)}),
        )
        inputs.append(DatasetInput(dataset, tags=[InputTag(MLFLOW_DATASET_CONTEXT, context)]))
    client.log_inputs(run_id, datasets=inputs)


def _log_model(**kwargs: Any) -> Any:
    """`mlflow.pyfunc.log_model` without MLflow's uv project detection.

    From a checkout, MLflow would store Polku's own pyproject.toml and uv.lock
    with the model, and `mlflow models serve --env-manager uv` would then try
    to build Polku from them; the model's requirements and code paths are
    what it needs.
    """
    before = os.environ.get(UV_AUTO_DETECT)
    os.environ[UV_AUTO_DETECT] = "false"
    try:
        return mlflow.pyfunc.log_model(**kwargs)
    finally:
        if before is None:
            os.environ.pop(UV_AUTO_DETECT, None)
        else:
            os.environ[UV_AUTO_DETECT] = before


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
    client = client_for(store)
    inputs = result.inputs
    try:
        exp = experiment_id(store)
        # Created with the training's own start time, so the run's duration is the
        # training's; a training that fails leaves no run behind.
        started = result.started_at or time.time()
        created = client.create_run(
            exp, start_time=int(started * 1000), run_name=run_name(result), tags=run_tags(result)
        )
        with mlflow.start_run(run_id=created.info.run_id) as run:
            say("logging the run to MLflow")
            mlflow.log_params({k: _flat(v) for k, v in result.params().items()})
            log_datasets(result, run.info.run_id, client)
            metrics = _metrics("", result.evaluation)
            for learner, figures in result.test.items():
                metrics.update(_metrics(f"{learner}.", figures))
            for learner, figures in result.validation.items():
                metrics.update(_metrics(f"{learner}.validation.", figures))
            metrics.update(_metrics("seconds.", result.seconds))
            metrics.update(result.sensitivity_metrics())
            if result.policy_summary is not None:
                metrics.update(_metrics("policy_tree.", result.policy_summary))
                metrics.update(
                    _metrics("policy_tree.truth.", result.policy_summary.get("truth") or {})
                )
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
            if result.policy_summary is not None:
                mlflow.log_dict(result.policy_summary, POLICY_SUMMARY_FILE)
            mlflow.log_text(inputs.catalogue.text, "inputs/catalogue.toml")
            mlflow.log_dict(inputs.config.model_dump(mode="json"), "inputs/run_config.json")
            if inputs.config_path is not None:
                mlflow.log_artifact(str(inputs.config_path), "inputs")
            with tempfile.TemporaryDirectory(prefix="polku-") as tmp:
                plots = Path(tmp) / "plots"
                write_plots(result, plots)
                write_shap_plots(
                    result.router, result.dp.frame.loc[result.split.test], plots, seed=result.seed
                )
                mlflow.log_artifacts(str(plots), "plots")
                say("saving the model")
                folder = Path(tmp) / MODEL_ARTIFACT
                result.router.save(folder)
                (folder / EVALUATION_FILE).write_text(json.dumps(result.evaluation), "utf-8")
                (folder / MODEL_CARD_FILE).write_text(json.dumps(result.model_card), "utf-8")
                example = example_features(result.dp, result.split.train)
                signature = model_signature(example)
                code = Path(tmp) / MODEL_CODE_FILE
                code.write_text(MODEL_CODE, "utf-8")
                info = _log_model(
                    name=MODEL_ARTIFACT,
                    python_model=str(code),
                    artifacts={MODEL_ARTIFACT: str(folder)},
                    signature=signature,
                    input_example=example_request(),
                    pip_requirements=requirements(),
                    code_paths=code_packages(Path(tmp) / "code"),
                    metadata={
                        "learner": result.chosen,
                        "polku": result.router.metadata.get("polku_version"),
                    },
                )
            say("registering the model version")
            version = mlflow.register_model(info.model_uri, name)
            evaluation = {**result.evaluation, "model_version": str(version.version)}
            mlflow.log_dict(evaluation, f"evaluation/{EVALUATION_FILE}")
            # The reports name the version they describe, so they are logged once it exists.
            _log_reports_of(result, name=name, version=str(version.version), run_id=run.info.run_id)
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


def _log_reports_of(result: TrainingResult, *, name: str, version: str, run_id: str) -> None:
    """Log the run's model card and fairness report (JSON and HTML), naming the version."""
    card = with_model_identity(result.model_card, name=name, version=version, run_id=run_id)
    mlflow.log_dict(card, f"reports/{MODEL_CARD_FILE}")
    if result.fairness_report is None:
        return
    report = with_model_identity(result.fairness_report, name=name, version=version, run_id=run_id)
    mlflow.log_dict(report, f"reports/{FAIRNESS_REPORT_FILE}")
    from model.fairness.report import REPORT_KIND

    if report.get("kind") == REPORT_KIND:
        from training.reports.html import render_fairness_html, render_model_card_html

        mlflow.log_text(render_fairness_html(report), "reports/fairness.html")
        mlflow.log_text(render_model_card_html(card), "reports/model_card.html")


def log_reports(
    run_id: str,
    paths: Mapping[str, Path],
    *,
    tracking_uri: str | None = None,
) -> None:
    """Replace a run's fairness report and model card by rebuilt ones.

    `paths` are the files `training.reports.build.write_reports` wrote (JSON and
    HTML of both); they are logged as they are, the fairness JSON under the
    name the run keeps it by. The API serves the report of the served
    version's run, so a report rebuilt with caseworkers' decisions reaches
    evaluators there too. The run's first reports stay under
    `reports/at_training/`. (`GET /v1/model` serves the card stored with the
    model itself, written at training time.)
    """
    from training.reports.build import FAIRNESS_JSON

    store = configure(tracking_uri)
    client = client_for(store)
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
                shutil.copyfile(
                    path, folder / (FAIRNESS_REPORT_FILE if name == FAIRNESS_JSON else name)
                )
            client.log_artifacts(run_id, str(folder), "reports")
    except MlflowException as exc:
        raise RegistryError(f"MLflow store {store.tracking_uri}: {exc.message}") from None


def log_run_report(
    run_id: str,
    name: str,
    paths: Mapping[str, Path],
    *,
    tracking_uri: str | None = None,
) -> None:
    """Log the files of the report `name` (`RUN_REPORTS`) with a run, replacing any logged before.

    `paths` are what `polku report <name>` wrote (`write_service_report`,
    `write_followup`): `<name>.json` and `<name>.html`, both, by file name;
    they go under `run_report_path(name)`, where the API reads them.
    """
    files = set(run_report_files(name))
    if set(paths) != files:
        raise ValueError(f"the {name} report is logged as {sorted(files)}, not {sorted(paths)}")
    store = configure(tracking_uri)
    client = client_for(store)
    try:
        with tempfile.TemporaryDirectory(prefix=f"polku-{name}-") as tmp:
            folder = Path(tmp)
            for file, path in paths.items():
                shutil.copyfile(path, folder / file)
            client.log_artifacts(run_id, str(folder), run_report_path(name))
    except MlflowException as exc:
        raise RegistryError(f"MLflow store {store.tracking_uri}: {exc.message}") from None
