"""What a training run records in the MLflow store: names, times, hyperparameters, data, SHAP.

Against the session's real SQLite store in a temporary folder (tests/conftest.py).
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
from mlflow import MlflowClient

from model.learners.hyperparameters import NOT_HYPERPARAMETERS
from model.learners.kinds import LEARNERS
from model.learners.propensity import PropensityModel
from tests.support.trained_model import MlflowStore, TrainedModel
from training.registry.store import (
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    EXPERIMENT_NAME,
    runs_table_url,
)
from training.shap_plots import recommended_contributions, write_shap_plots


def _client(store: MlflowStore) -> MlflowClient:
    return MlflowClient(tracking_uri=store.uri, registry_uri=store.uri)


def _constructor_arguments(cls: type) -> set[str]:
    names = set(inspect.signature(cls.__init__).parameters) - NOT_HYPERPARAMETERS
    return names - {"lgb_params"}  # unset LightGBM overrides are left out


def test_every_hyperparameter_is_logged_with_its_default(
    trained_model: TrainedModel, mlflow_store: MlflowStore
) -> None:
    params = _client(mlflow_store).get_run(trained_model.run_id).data.params
    classes = {**LEARNERS, "propensity": PropensityModel}
    for name, cls in classes.items():
        logged = {key.split(".", 1)[1] for key in params if key.startswith(f"{name}.")}
        missing = _constructor_arguments(cls) - logged
        assert not missing, f"{name}: {sorted(missing)} not logged"
    # overridden by the tiny configuration
    assert params["s_learner.n_estimators"] == "30"
    assert params["propensity.n_estimators"] == "30"
    # left at the learners' defaults
    assert params["s_learner.learning_rate"] == "0.15"
    assert params["s_learner.num_leaves"] == "7"
    assert params["dr_learner.propensity_clip"] == "0.05"
    assert params["propensity.num_leaves"] == "15"
    assert params["s_learner.num_threads"] == "1"


def test_the_run_is_named_for_when_how_many_clients_and_which_learner(
    trained_model: TrainedModel, mlflow_store: MlflowStore
) -> None:
    run = _client(mlflow_store).get_run(trained_model.run_id)
    assert re.fullmatch(
        rf"train \d{{4}}-\d{{2}}-\d{{2}} · 1 500 clients · {trained_model.result.chosen}",
        run.info.run_name,
    ), run.info.run_name


def test_the_run_lasts_from_the_start_of_training_to_its_registration(
    trained_model: TrainedModel, mlflow_store: MlflowStore
) -> None:
    run = _client(mlflow_store).get_run(trained_model.run_id)
    result = trained_model.result
    assert result.started_at is not None
    assert run.info.start_time == int(result.started_at * 1000)
    assert run.info.status == "FINISHED" and run.info.end_time is not None
    # every stage of the pipeline lies inside the run
    seconds = (run.info.end_time - run.info.start_time) / 1000
    assert seconds >= sum(result.seconds.values())


def test_training_validation_and_held_out_points_are_logged_as_datasets(
    trained_model: TrainedModel, mlflow_store: MlflowStore
) -> None:
    run = _client(mlflow_store).get_run(trained_model.run_id)
    result = trained_model.result
    by_context = {}
    for entry in run.inputs.dataset_inputs:
        context = {tag.key: tag.value for tag in entry.tags}["mlflow.data.context"]
        by_context[context] = entry.dataset
    assert set(by_context) == {"training", "validation", "held_out"}
    for context, part in (
        ("training", result.split.train),
        ("validation", result.split.validation),
        ("held_out", result.split.test),
    ):
        dataset = by_context[context]
        assert dataset.digest
        assert json.loads(dataset.source)["uri"].endswith(str(Path(trained_model.data_dir).name))
        assert json.loads(dataset.profile)["num_rows"] == int(part.sum())
        columns = {c["name"] for c in json.loads(dataset.schema)["mlflow_colspec"]}
        assert set(result.dp.feature_names) | {"label"} <= columns
        assert "client_id" not in columns
    assert len({d.digest for d in by_context.values()}) == 3


def test_tags_name_the_data_window_and_the_catalogue(
    trained_model: TrainedModel, mlflow_store: MlflowStore
) -> None:
    client = _client(mlflow_store)
    tags = client.get_run(trained_model.run_id).data.tags
    window = trained_model.result.inputs.fingerprint["date_window"]
    assert [tags["polku.data_from"], tags["polku.data_to"]] == window
    assert tags["polku.training_from"] <= tags["polku.training_to"] <= window[1]
    assert tags["polku.catalogue"] == "default"
    assert tags["polku.catalogue_version"] == "1"
    assert re.fullmatch(r"[0-9a-f]{64}", tags["polku.catalogue_sha256"])
    experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
    assert experiment is not None
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND


def test_shap_beeswarm_and_importance_of_the_served_learner_are_artifacts(
    trained_model: TrainedModel, mlflow_store: MlflowStore
) -> None:
    run = _client(mlflow_store).get_run(trained_model.run_id)
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    for name in ("shap_beeswarm.png", "shap_importance.png"):
        png = artifacts / "plots" / name
        assert png.is_file(), name
        assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000


def test_the_plotted_contributions_add_up_to_the_recommended_services_margin(
    trained_model: TrainedModel,
) -> None:

    router = trained_model.result.router
    frame = trained_model.result.dp.frame.head(50)
    X, values, rest = recommended_contributions(router, frame)
    assert values.shape == (50, X.shape[1])
    margin = router.learner.predict_margin(X)
    scored = router.score(frame, intervals=False)
    actions = scored.recommended
    rows = np.arange(len(X))
    np.testing.assert_allclose(values.sum(axis=1) + rest, margin[rows, actions], atol=1e-6)


def test_the_ui_address_opens_the_runs_table_of_polkus_experiment(
    trained_model: TrainedModel, mlflow_store: MlflowStore
) -> None:
    experiment = _client(mlflow_store).get_experiment_by_name(EXPERIMENT_NAME)
    assert experiment is not None
    assert runs_table_url("http://127.0.0.1:5000/") == (
        f"http://127.0.0.1:5000/#/experiments/{experiment.experiment_id}/runs"
        "?workflowType=machine_learning"
    )


def test_shap_plots_are_drawn_when_a_feature_is_missing_in_every_sampled_row(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    frame = trained_model.result.dp.frame.head(60).copy()
    frame["prior_work_years"] = np.nan  # optional in the contract: some exports lack it
    paths = write_shap_plots(trained_model.result.router, frame, tmp_path)
    assert [p.name for p in paths] == ["shap_beeswarm.png", "shap_importance.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
