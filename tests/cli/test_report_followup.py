"""`polku report followup`: the API's decisions joined with the outcomes that arrived.

The decisions database is a real SQLite file at the API's schema; its audit
events hold the session model's own suggestions for decision points of the
tiny world, so that some decisions have matured outcomes in the data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from model.decision_points.histories import ClientHistories
from model.followup import decision_rows, matured_outcomes
from tests.support.followup_log import report_followup_logged
from tests.support.trained_model import TrainedModel

runner = CliRunner()
N_DECISIONS = 400


@pytest.fixture(scope="module")
def followup(
    trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    run = report_followup_logged(
        trained_model, tmp_path_factory.mktemp("followup"), n_decisions=N_DECISIONS
    )
    assert run.exit_code == 0, run.output
    report = json.loads((run.out / "followup.json").read_text("utf-8"))
    page = (run.out / "followup.html").read_text("utf-8")
    return {"url": run.url, "rows": run.rows, "report": report, "page": page, "output": run.output}


def test_followed_and_other_outcomes_match_a_hand_join(
    followup: dict[str, Any], trained_model: TrainedModel
) -> None:
    rows = followup["rows"]
    report = followup["report"]
    # by hand: each decision's label is the decision point's own label, known when not censored
    from api.storage.decision_log import read_decision_log

    decisions, audit = read_decision_log(
        followup["url"], model_name=trained_model.name, with_outputs=True
    )
    joined = decision_rows(decisions, audit)
    assert len(joined) == N_DECISIONS
    by_request = audit.set_index("request_id")["client_id"]
    assert set(joined["client_id"]) == set(by_request.astype(str))
    labels = rows.set_index(["client_id", "decision_date"])["label"]
    key = list(zip(joined["client_id"], pd.to_datetime(joined["as_of"]), strict=True))
    expected = np.array([labels.get(k, np.nan) for k in key], dtype=float)
    expected = np.array(
        [v if not isinstance(v, pd.Series) else v.iloc[0] for v in expected], dtype=float
    )
    matured = ~np.isnan(expected)
    followed = joined["followed"].to_numpy(bool)
    arm = report["comparison"]["observed"]["followed"]
    assert arm["decisions"] == int((matured & followed).sum())
    assert arm["good_outcomes"] == int(expected[matured & followed].sum())
    assert arm["rate_low"] <= arm["rate"] <= arm["rate_high"]
    assert report["counts"]["matured"] == int(matured.sum())


def test_the_report_says_when_to_retrain_and_names_the_model(
    followup: dict[str, Any], trained_model: TrainedModel
) -> None:
    report = followup["report"]
    assert report["advice"]["verdict"] in ("retrain", "watch", "wait", "no_need")
    assert "advice:" in followup["output"]
    assert report["model"]["version"] == trained_model.version
    assert report["model"]["run_id"] == trained_model.run_id
    assert report["drift"] and all(d["psi"] >= 0 for d in report["drift"])
    adjusted = report["comparison"]["adjusted"]
    assert adjusted["low"] <= adjusted["difference"] <= adjusted["high"]
    assert f"version {trained_model.version}" in followup["page"]
    for lang in ("fi", "sv", "en"):
        assert f'<span class="{lang}" lang="{lang}">' in followup["page"]


def test_the_report_is_logged_with_the_versions_run(
    followup: dict[str, Any], trained_model: TrainedModel, tmp_path: Path
) -> None:
    import mlflow

    local = mlflow.artifacts.download_artifacts(
        run_id=trained_model.run_id, artifact_path="reports/followup", dst_path=str(tmp_path)
    )
    logged = json.loads((Path(local) / "followup.json").read_text("utf-8"))
    assert logged == followup["report"]
    assert (Path(local) / "followup.html").is_file()
    assert f"logged with run {trained_model.run_id}" in followup["output"]


def test_a_unit_with_two_decisions_is_combined_not_hidden_with_another(
    followup: dict[str, Any],
) -> None:
    units = {row["group"]: row for row in followup["report"]["overrides"]["by_unit"]["rows"]}
    assert units["island"]["decisions"] is None  # two decisions: counted in the pool row
    pooled = [g for g in units if g.endswith("other_or_unknown")]
    assert len(pooled) == 1 and units[pooled[0]]["decisions"] is not None
    for name in ("east", "west", "north"):
        if name in units and not pooled[0].startswith(name):
            assert units[name]["decisions"] is not None and units[name]["override_rate"] is not None
    counts = [r["decisions"] for r in units.values() if r["decisions"] is not None]
    assert all(c >= 5 for c in counts)


def test_matured_outcomes_need_the_whole_window_before_the_extract_date(
    trained_model: TrainedModel,
) -> None:
    from training.contract.load import load_valid_tables

    router = trained_model.result.router
    tables = load_valid_tables(
        trained_model.data_dir, catalogue=router.catalogue, config=router.config
    )
    histories = ClientHistories(tables.clients, tables.episodes, tables.outcomes)
    # Decision points whose action is known on their day: an inferred review's
    # label counts from the end of its window (docs/data.md, 6.3).
    points = trained_model.result.dp.frame
    frame = points[points["action_source"] != "inferred"].head(300)
    rows = pd.DataFrame(
        {"client_id": frame["client_id"].astype(str), "as_of": frame["decision_date"]}
    )
    rows = pd.concat(
        [
            rows,
            pd.DataFrame(
                {"client_id": ["not-a-client"], "as_of": [frame["decision_date"].iloc[0]]}
            ),
        ]
    )
    out = matured_outcomes(rows.reset_index(drop=True), histories, router.config)
    label = frame["label"].to_numpy(dtype=float)
    np.testing.assert_array_equal(out["outcome"].to_numpy()[:300], label)
    assert not out["in_data"].iloc[-1] and np.isnan(out["outcome"].iloc[-1])


def test_a_missing_decisions_file_is_refused_and_not_created(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        [
            "report",
            "followup",
            "--decisions-db",
            f"sqlite:///{tmp_path}/nothing.db",
            "--data",
            str(trained_model.data_dir),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert "there is no SQLite file" in result.output
    assert not (tmp_path / "nothing.db").exists() and not (tmp_path / "o").exists()
