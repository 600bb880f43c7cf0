"""MLflow tracking and registry against a real SQLite store (tests/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import Model

from model.model_card import with_model_identity
from tests.support.trained_model import MlflowStore, TrainedModel
from training.batch import score_frame
from training.registry.pyfunc import example_features
from training.registry.served import load_fairness_report, load_served
from training.registry.store import RegistryError, Store, default_tracking_uri, resolve_store
from training.registry.versions import list_versions, promote
from training.router_figures import EVALUATION_KEYS

REPO = Path(__file__).resolve().parents[2]


def _client(store: MlflowStore) -> MlflowClient:
    return MlflowClient(tracking_uri=store.uri, registry_uri=store.uri)


# -- where the store is ------------------------------------------------------------------


def test_the_default_store_is_sqlite_under_the_checkouts_mlruns(tmp_path: Path) -> None:
    assert default_tracking_uri(REPO / "training") == (
        f"sqlite:///{(REPO / 'mlruns' / 'mlflow.db').as_posix()}"
    )
    # outside a checkout: the folder itself
    assert default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path.as_posix()}/mlruns/mlflow.db"


def test_mlflow_tracking_uri_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/elsewhere/m.db")
    store = resolve_store()
    assert store.tracking_uri == f"sqlite:///{tmp_path.as_posix()}/elsewhere/m.db"
    assert store.artifact_location == (tmp_path / "elsewhere" / "artifacts").as_uri()
    # a relative sqlite path is relative to the working directory
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlruns/mlflow.db")
    assert resolve_store().tracking_uri == (
        f"sqlite:///{(tmp_path / 'mlruns' / 'mlflow.db').as_posix()}"
    )
    # a server decides its own artifact store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert resolve_store() == Store("http://127.0.0.1:5000", None)


def test_the_session_store_is_the_temporary_one(
    trained_model: TrainedModel, mlflow_store: MlflowStore
) -> None:
    assert os.environ["MLFLOW_TRACKING_URI"] == mlflow_store.uri
    assert (mlflow_store.folder / "mlflow.db").is_file()
    assert any(mlflow_store.artifacts.rglob("router.json"))


# -- what a run holds ------------------------------------------------------------------------


def test_a_training_run_logs_parameters_figures_plots_and_inputs(
    trained_model: TrainedModel, mlflow_store: MlflowStore
) -> None:
    client = _client(mlflow_store)
    run = client.get_run(trained_model.run_id)
    params, metrics = run.data.params, run.data.metrics
    assert params["config.holdout_fraction"] == "0.2"
    assert params["s_learner.n_estimators"] == "30"
    assert params["seed"] == "0"
    assert params["data.sha256"] == trained_model.result.inputs.fingerprint["sha256"]
    assert params["chosen_learner"] == trained_model.result.chosen
    assert int(params["inferred_dropped"]) == trained_model.result.rows.n_inferred_dropped > 0
    for learner in ("s_learner", "dr_learner"):
        for key in ("v_rec", "capture_ratio", "dr_value", "auc", "ece", "coverage"):
            assert f"{learner}.{key}" in metrics
        for key in ("referee_value", "dr_value", "auc", "ece"):
            assert f"{learner}.validation.{key}" in metrics
        # neither intervals nor the truth play a part in the choice on validation
        for key in ("coverage", "v_rec", "capture_ratio"):
            assert f"{learner}.validation.{key}" not in metrics
    assert metrics["v_rec"] == pytest.approx(trained_model.result.evaluation["v_rec"])
    # the sensitivity of the DR value to hidden confounding, per lambda of the grid
    for key in ("dr_sensitivity.1.low", "dr_sensitivity.1.5.high", "ipw_sensitivity.3.low"):
        assert key in metrics and f"{trained_model.result.chosen}.{key}" in metrics
    assert run.data.tags["polku.learner"] == trained_model.result.chosen

    # This run's own artifacts (other tests log more runs into the same store).
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert artifacts.is_dir() and artifacts.is_relative_to(mlflow_store.artifacts)

    def logged(path: str) -> Path:
        found = list(artifacts.rglob(path))
        assert found, path
        return found[0]

    for png in ("calibration.png", "policy_value_by_learner.png", "uplift_by_service.png"):
        assert logged(f"plots/{png}").read_bytes()[:4] == b"\x89PNG"
    effects = json.loads(logged("evaluation/service_effects.json").read_text())
    assert set(effects) == set(trained_model.result.details)  # every learner's
    assert {e["service"] for e in effects[trained_model.result.chosen]} == set(
        trained_model.result.details[trained_model.result.chosen].uplift["service"]
    )
    fingerprint = json.loads(logged("data/fingerprint.json").read_text())
    assert fingerprint["rows"]["clients"] == 1500
    assert set(fingerprint["files"]) == {"clients", "episodes", "outcomes"}
    assert len(fingerprint["date_window"]) == 2
    assert "[[service]]" in logged("inputs/catalogue.toml").read_text()
    assert json.loads(logged("inputs/run_config.json").read_text())["num_threads"] == 1
    card = json.loads(logged("reports/model_card.json").read_text())
    assert card["model"]["learner"] == trained_model.result.chosen
    evaluation = json.loads(logged("evaluation/evaluation.json").read_text())
    assert tuple(evaluation) == EVALUATION_KEYS
    assert evaluation["model_version"] == trained_model.version


def test_the_model_is_a_pyfunc_with_a_signature_and_no_real_client_as_example(
    trained_model: TrainedModel,
) -> None:
    info = mlflow.models.get_model_info(trained_model.model_uri)
    assert "python_function" in info.flavors
    inputs = info.signature.inputs
    names = inputs.input_names()
    # the request form first, then the decision-point features; every column optional,
    # since a frame holds one form or the other
    assert names[:6] == ["client", "episodes", "outcomes", "as_of", "k", "language"]
    assert names[6:] == list(trained_model.result.dp.feature_names)
    assert not any(spec.required for spec in inputs.inputs)
    # the stored input example is a made-up request, not a real client
    local = mlflow.artifacts.download_artifacts(trained_model.model_uri)
    stored = Model.load(local).load_input_example(local)
    assert stored is not None and list(stored.columns) == [
        "client",
        "episodes",
        "outcomes",
        "as_of",
        "k",
        "language",
    ]
    real_ids = set(trained_model.result.dp.frame["client_id"].astype(str))
    assert stored["client"][0]["client_id"] not in real_ids
    example = example_features(trained_model.result.dp, trained_model.result.split.train)
    features = trained_model.result.dp.frame[list(trained_model.result.dp.feature_names)]
    merged = features.astype(str).merge(example.astype(str), how="inner")
    assert merged.empty


# -- the registry ----------------------------------------------------------------------------


def test_a_new_version_is_the_candidate_and_promotion_moves_champion(
    trained_model: TrainedModel, mlflow_store: MlflowStore
) -> None:
    client = _client(mlflow_store)
    name = trained_model.name

    def at(model: str, alias: str) -> str:
        return str(client.get_model_version_by_alias(model, alias).version)

    assert at(name, "candidate") == at(name, "champion") == trained_model.version
    # a second model name, so the session's champion stays where it is
    other = "polku-router-promotion-test"
    first = mlflow.register_model(trained_model.model_uri, other).version
    second = mlflow.register_model(trained_model.model_uri, other).version
    moved = promote(first, name=other)
    assert moved.version == str(first) and "champion" in moved.aliases
    assert at(other, "champion") == str(first)
    promote(second, name=other)
    assert at(other, "champion") == str(second)
    versions = {v.version: v.aliases for v in list_versions(other)}
    assert versions == {str(first): (), str(second): ("champion",)}
    promote(first, alias="rollback", name=other)
    assert at(other, "rollback") == str(first)


def test_promoting_a_version_that_does_not_exist_says_which_exist(
    trained_model: TrainedModel,
) -> None:
    with pytest.raises(RegistryError, match=r"no version 999; registered versions: 1"):
        promote(999, name=trained_model.name)
    with pytest.raises(RegistryError, match="no version is registered yet"):
        load_served("no-such-model")
    with pytest.raises(RegistryError, match="alias 'nightly'"):
        load_served(trained_model.name, alias="nightly")


def test_load_served_gives_the_native_router_with_its_evaluation_and_card(
    trained_model: TrainedModel,
) -> None:
    served = load_served(trained_model.name)  # champion by default
    assert (served.name, served.version, served.run_id) == (
        trained_model.name,
        trained_model.version,
        trained_model.run_id,
    )
    assert tuple(served.evaluation) == EVALUATION_KEYS
    assert served.evaluation["model_version"] == trained_model.version
    assert served.evaluation["v_rec"] == pytest.approx(trained_model.result.evaluation["v_rec"])
    assert (
        served.card is not None
        and served.card["model"]["learner"] == served.router.metadata["learner"]
    )
    assert served.router.metadata["model_version"] == trained_model.version
    by_version = load_served(trained_model.name, version=trained_model.version, alias=None)
    frame = trained_model.result.dp.frame.head(40)
    np.testing.assert_allclose(
        by_version.router.score(frame).p, trained_model.result.router.score(frame).p
    )
    report = load_fairness_report(trained_model.run_id)
    assert trained_model.result.fairness_report is not None
    # logged once the version existed, naming it
    assert report == with_model_identity(
        trained_model.result.fairness_report,
        name=trained_model.name,
        version=trained_model.version,
        run_id=trained_model.run_id,
    )
    assert served.card["model"]["version"] == trained_model.version


def test_pyfunc_loads_in_a_fresh_process_and_recommends(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    dp = trained_model.result.dp
    features = dp.frame[list(dp.feature_names)].iloc[::97].reset_index(drop=True)
    features = features.astype({f.name: object for f in dp.features if f.kind == "categorical"})
    features = features.drop(columns=["gender"])  # protected attributes are optional
    features.to_parquet(tmp_path / "features.parquet")
    script = textwrap.dedent(
        f"""
        import mlflow, pandas as pd
        model = mlflow.pyfunc.load_model({trained_model.champion_uri!r})
        features = pd.read_parquet({str(tmp_path / "features.parquet")!r})
        model.predict(features).to_parquet({str(tmp_path / "out.parquet")!r})
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "MLFLOW_TRACKING_URI": trained_model.tracking_uri},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert len(out) == len(features)
    expected = score_frame(trained_model.result.router, features)
    assert out["recommended"].tolist() == expected["recommended"].tolist()
    assert set(out["recommended"]) <= set(dp.actions)
    for action in dp.actions:
        assert out[f"p_{action}"].between(0, 1).all()
    np.testing.assert_allclose(out["uplift_no_new_service"], 0.0)
