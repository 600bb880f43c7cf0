"""Batch recommendations for a caseload (`polku recommend`) and the per-action score frame."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from cli.app import app
from tests.support.factories import make_clients, make_episodes, make_outcomes
from tests.support.trained_model import TrainedModel
from training.batch import open_cases, score_frame
from training.tables import Tables, read_tables

runner = CliRunner()
AS_OF = "2024-06-30"


def test_open_cases_follow_intake_and_closing_spells() -> None:
    clients = make_clients(
        n=5, intake_date=["2024-01-01", "2024-06-30", "2024-07-01", "2023-01-01", "2023-01-01"]
    )
    episodes = make_episodes(clients)
    ids = clients["client_id"].tolist()
    outcomes = pd.DataFrame(
        {
            "client_id": [ids[0], ids[3], ids[4], ids[4]],
            "status": ["unemployed", "employed", "moved_away", "education"],
            "start_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-06-30", "2024-07-15"]),
            "end_date": pd.to_datetime([None, None, None, None]),
        }
    )
    cases = open_cases(Tables(clients, episodes, outcomes), date(2024, 6, 30))
    # intake on the day counts; a move on the day itself has not closed the case yet;
    # work that started before the day has
    assert cases["client_id"].tolist() == sorted([ids[0], ids[1], ids[4]])
    assert (cases["decision_date"] == pd.Timestamp("2024-06-30")).all()
    assert open_cases(
        Tables(clients, episodes, make_outcomes(clients).iloc[:0]), date(2022, 1, 1)
    ).empty


def test_recommend_writes_one_row_per_open_case(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    out = tmp_path / "caseload.csv"
    result = runner.invoke(
        app,
        [
            "recommend",
            "--data",
            str(trained_model.data_dir),
            "--as-of",
            AS_OF,
            "--out",
            str(out),
            "--language",
            "en",
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, keep_default_na=False)
    expected = open_cases(read_tables(trained_model.data_dir), date.fromisoformat(AS_OF))
    assert len(frame) == len(expected) > 0
    assert frame["client_id"].tolist() == expected["client_id"].tolist()
    assert frame["client_id"].is_unique
    assert (frame["model_version"].astype(str) == trained_model.version).all()
    actions = set(trained_model.result.dp.actions)
    assert set(frame["service_1"]) <= actions
    assert (frame["p_1"] >= pd.to_numeric(frame["p_2"], errors="coerce").fillna(0) - 1e-9).all()
    assert (frame["explanation_1"].str.len() > 0).all()
    assert frame["explanation_1"].str.contains("percentage point").all()
    assert f"{len(frame):,} open cases" in result.stdout


def test_recommend_without_explanations_to_parquet(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    out = tmp_path / "caseload.parquet"
    result = runner.invoke(
        app,
        [
            "recommend",
            "--data",
            str(trained_model.data_dir),
            "--as-of",
            AS_OF,
            "--out",
            str(out),
            "--no-explanations",
            "--version",
            trained_model.version,
            "--k",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert "explanation_1" not in frame.columns and "service_3" not in frame.columns
    csv = open_cases(read_tables(trained_model.data_dir), date.fromisoformat(AS_OF))
    assert len(frame) == len(csv)
    assert frame["name_1"].str.len().gt(0).all()  # Finnish names by default


def test_recommend_when_nobody_has_an_open_case(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        [
            "recommend",
            "--data",
            str(trained_model.data_dir),
            "--as-of",
            "2000-01-01",
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert result.exit_code == 2
    assert result.stderr == "error: no client has an open case on 2000-01-01\n"


def test_score_frame_has_one_row_per_input_and_every_action(trained_model: TrainedModel) -> None:
    router = trained_model.result.router
    features = trained_model.result.dp.frame.iloc[[5, 50, 500]]
    frame = score_frame(router, features)
    assert frame.index.equals(features.index)
    for action in router.actions:
        for prefix in ("p_", "low_", "high_", "uplift_", "eligible_", "thin_support_"):
            assert f"{prefix}{action}" in frame.columns
    batch = router.score(features)
    assert frame["recommended"].tolist() == [router.actions[i] for i in batch.recommended]
    np.testing.assert_array_equal(frame["eligible_no_new_service"], True)
    assert (frame["low_no_new_service"] <= frame["p_no_new_service"]).all()


def test_batch_explanations_are_the_single_client_ones(trained_model: TrainedModel) -> None:
    """`Router.explain_many` (vectorised) gives exactly `Router.recommend`'s explanations."""
    from training.batch import caseload_features
    from training.contract.load import load_valid_tables

    router = trained_model.result.router
    tables = load_valid_tables(
        trained_model.data_dir, catalogue=router.catalogue, config=router.config
    )
    features = caseload_features(router, tables, date.fromisoformat(AS_OF)).head(60)
    batch = router.score(features)
    X = router.encoder.transform(features)
    values = {name: features[name].tolist() for name in router.encoder.columns_}
    for k, language in ((1, "fi"), (3, "en"), (20, "sv")):
        many = router.explain_many(X, batch.p, batch.ranked, k=k, values=values, language=language)
        records = features.drop(columns=["client_id", "decision_date"]).to_dict("records")
        for i, record in enumerate(records):
            one = router.recommend(record, k=k, language=language)
            expected = {
                router.action_index(s.service): s.explanation
                for s in one.recommendations
                if s.explanation
            }
            expected[router.reference_index] = one.reference.explanation
            assert many[i] == expected
