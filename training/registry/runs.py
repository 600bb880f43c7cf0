"""Logging a training run to MLflow and registering its model.

A run holds the parameters (configuration, learner hyperparameters, seed,
split), the data fingerprint (content hashes, row counts, date window), every
learner's validation and test figures (metrics `<learner>.<key>` and
`<learner>.validation.<key>`; the served learner's test figures also
unprefixed), the plots, the catalogue and configuration, the model card and
fairness report, and the model: a pyfunc (`training.registry.pyfunc`) whose
artifacts hold the `Router` saved as plain JSON. The version is registered
under `polku-router` with the alias `candidate`; `promote` moves `champion`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import numpy as np
from mlflow.exceptions import MlflowException

from model.model_card import with_model_identity
from training.pipeline.result import TrainingResult
from training.pipeline.train import write_plots
from training.registry.pyfunc import (
    MODEL_CODE,
    MODEL_CODE_FILE,
    example_features,
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
    RegistryError,
    client_for,
    configure,
    experiment_id,
)
from training.registry.versions import RegisteredVersion
from training.router_figures import uplift_records


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
                    pip_requirements=requirements(),
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


def log_followup(
    run_id: str, paths: Mapping[str, Path], *, tracking_uri: str | None = None
) -> None:
    """Log a follow-up report's files (JSON and HTML) with the version's run, under
    `reports/followup/`; a newer report replaces the files of the one before."""
    store = configure(tracking_uri)
    client = client_for(store)
    try:
        for path in paths.values():
            client.log_artifact(run_id, str(path), "reports/followup")
    except MlflowException as exc:
        raise RegistryError(f"MLflow store {store.tracking_uri}: {exc.message}") from None
