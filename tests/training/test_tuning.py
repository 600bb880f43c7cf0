"""`polku tune`: an Optuna search graded on the validation clients, logged as nested runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from model.config import load_config
from tests.support.trained_model import MlflowStore, TrainedModel
from training.registry.tuning_runs import tune_and_log
from training.tuning import SEARCH_SPACES, TUNING_METRIC, tuned_config, write_config


@pytest.fixture(scope="module")
def tuned(
    trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> tuple[object, str, Path]:
    out = tmp_path_factory.mktemp("tune") / "best.toml"
    result, run_id = tune_and_log(
        trained_model.data_dir, trials=6, out=out, config_path=trained_model.config_path
    )
    return result, run_id, out


@pytest.mark.slow
def test_the_best_configuration_is_written_for_polku_train(
    tuned: tuple, trained_model: TrainedModel
) -> None:
    result, _, out = tuned
    written = load_config(out)
    assert written == result.config
    base = load_config(trained_model.config_path)
    # everything but the tuned learner's hyperparameters is the configuration started from
    assert written.model_dump(exclude={"learner_params"}) == base.model_dump(
        exclude={"learner_params"}
    )
    params = written.learner_params["s_learner"]
    assert set(SEARCH_SPACES["s_learner"]) <= set(params)
    assert params["n_bags"] == base.learner_params["s_learner"]["n_bags"]  # kept as configured
    assert params == {**base.learner_params["s_learner"], **result.best_params}


@pytest.mark.slow
def test_the_first_trial_is_the_configuration_and_the_best_is_no_worse(tuned: tuple) -> None:
    result, _, _ = tuned
    first = next(r for r in result.trials if r.number == 0)
    assert first.params["n_estimators"] == 30  # the tiny configuration's own
    assert first.state == "complete" and result.baseline_value == first.value
    complete = [r.value for r in result.trials if r.value is not None]
    assert result.best_value == max(complete) >= result.baseline_value
    assert len(result.trials) == 6


@pytest.mark.slow
def test_every_trial_is_a_nested_run(tuned: tuple, mlflow_store: MlflowStore) -> None:
    result, run_id, _ = tuned
    client = MlflowClient(tracking_uri=mlflow_store.uri)
    parent = client.get_run(run_id)
    assert parent.data.tags["polku.kind"] == "tuning"
    assert parent.data.metrics[f"best.{TUNING_METRIC}"] == pytest.approx(result.best_value)
    assert any(a.path == "tuning" for a in client.list_artifacts(run_id))
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'"
    )
    assert len(children) == len(result.trials)
    states = {c.data.tags["polku.trial_state"] for c in children}
    assert states <= {"complete", "pruned"}
    for child in children:
        assert "s_learner.num_leaves" in child.data.params
        assert child.info.status == "FINISHED"
        # the trial's own duration, not the instant it was logged
        seconds = (child.info.end_time - child.info.start_time) / 1000
        assert seconds == pytest.approx(child.data.metrics["seconds"], abs=0.01)
        assert seconds > 0.05
        if child.data.tags["polku.trial_state"] == "complete":
            assert TUNING_METRIC in child.data.metrics


@pytest.mark.slow
def test_the_truth_plays_no_part(trained_model: TrainedModel, tmp_path: Path) -> None:
    """The same search on the data without its truth file gives the same trials."""
    import shutil

    copy = tmp_path / "world"
    shutil.copytree(trained_model.data_dir, copy)
    from training.tuning import tune

    with_truth = tune(copy, trials=2, config_path=trained_model.config_path)
    for name in ("truth.csv", "truth.parquet"):
        (copy / name).unlink(missing_ok=True)
    without = tune(copy, trials=2, config_path=trained_model.config_path)
    assert [r.value for r in with_truth.trials] == [r.value for r in without.trials]


def test_written_configurations_read_back_unchanged(tmp_path: Path) -> None:
    base = load_config(None).model_copy(
        update={
            "learners": ("s_learner",),
            "horizon_days": 400,
            "extra_features": {"x_y": "numeric"},
        }
    )
    config = tuned_config(base, "s_learner", {"learning_rate": 0.0731, "num_leaves": 9})
    assert load_config(write_config(config, tmp_path / "c.toml")) == config
