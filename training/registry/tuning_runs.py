"""Logging a hyperparameter search (`polku tune`) to MLflow: one run, a nested run per trial.

The parent run (`tune <learner> · <date> · <trials> trials`) holds the
search's settings, the best hyperparameters and value, the configuration's
own value for comparison, and the written run configuration as an artifact.
Each trial is a nested run, with the trial's own start and end times, the
hyperparameters it tried, its state (complete or pruned), its validation
value at every round cut it reached and how long it took, so MLflow's compare view can plot value against any
hyperparameter.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from training.registry.store import DATA_DIR_TAG, RegistryError, configure, experiment_id
from training.tuning import (
    TUNING_METRIC,
    TrialRecord,
    TuningResult,
    check_request,
    tune,
    write_config,
)


def tune_and_log(
    data_dir: str | Path,
    *,
    trials: int,
    out: Path,
    timeout: float | None = None,
    learner: str = "s_learner",
    catalogue_path: str | Path | None = None,
    config_path: str | Path | None = None,
    tracking_uri: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[TuningResult, str]:
    """Run `training.tuning.tune`, log it, write the best configuration to `out`;
    the result and the parent run's id."""
    say = progress or (lambda _: None)
    check_request(learner, trials)
    store = configure(tracking_uri)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    try:
        exp = experiment_id(store)
        with mlflow.start_run(
            experiment_id=exp, run_name=f"tune {learner} · {day} · {trials} trials"
        ) as parent:
            mlflow.set_tags(
                {
                    "polku.kind": "tuning",
                    "polku.learner": learner,
                    "polku.objective": f"{TUNING_METRIC}: doubly-robust value on the "
                    "validation clients, graded by the cross-fitted referee",
                    DATA_DIR_TAG: str(Path(data_dir).resolve()),
                }
            )
            mlflow.log_params(
                {
                    "trials": trials,
                    "timeout": timeout if timeout is not None else "none",
                    "learner": learner,
                    "sampler": "TPESampler",
                    "pruner": "MedianPruner",
                }
            )

            def on_trial(record: TrialRecord) -> None:
                _log_trial(exp, learner, parent.info.run_id, record)

            result = tune(
                data_dir,
                trials=trials,
                timeout=timeout,
                learner=learner,
                catalogue_path=catalogue_path,
                config_path=config_path,
                on_trial=on_trial,
                progress=say,
            )
            say("writing the best configuration")
            written = write_config(result.config, out)
            if result.inputs is not None:
                mlflow.set_tag("polku.data_sha256", result.inputs.fingerprint["sha256"])
            mlflow.log_params({f"best.{k}": v for k, v in result.best_params.items()})
            metrics = {
                f"best.{TUNING_METRIC}": result.best_value,
                "trials.complete": sum(r.state == "complete" for r in result.trials),
                "trials.pruned": sum(r.state == "pruned" for r in result.trials),
                **{f"seconds.{k}": v for k, v in result.seconds.items()},
            }
            if result.baseline_value is not None:
                metrics[f"configured.{TUNING_METRIC}"] = result.baseline_value
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if math.isfinite(v)})
            mlflow.log_artifact(str(written), artifact_path="tuning")
            return result, parent.info.run_id
    except MlflowException as exc:
        raise RegistryError(f"cannot log the tuning run to MLflow: {exc.message}") from None


def _log_trial(experiment: str, learner: str, parent_id: str, record: TrialRecord) -> None:
    """A nested run for one finished trial, with the trial's own start and end times."""
    client = MlflowClient()
    ended = int(time.time() * 1000)
    name = f"trial {record.number}"
    run = client.create_run(
        experiment,
        start_time=ended - int(record.seconds * 1000),
        tags={"mlflow.parentRunId": parent_id, "mlflow.runName": name},
        run_name=name,
    )
    metrics: dict[str, float] = {"seconds": record.seconds}
    if record.value is not None:
        metrics[TUNING_METRIC] = record.value
    if record.rounds is not None:
        metrics["rounds"] = float(record.rounds)
    by_cut = sorted(record.values_by_rounds.items())
    for rounds, value in by_cut:
        metrics[f"{TUNING_METRIC}.rounds_{rounds}"] = value
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(key, value, ended, 0) for key, value in metrics.items()]
        + [
            Metric(f"{TUNING_METRIC}.by_cut", value, ended, step)
            for step, (_, value) in enumerate(by_cut)
        ],
        params=[Param(f"{learner}.{k}", str(v)) for k, v in record.params.items()],
        tags=[
            RunTag("polku.kind", "tuning trial"),
            RunTag("polku.trial_state", record.state),
        ],
    )
    client.set_terminated(run.info.run_id, "FINISHED", end_time=ended)
