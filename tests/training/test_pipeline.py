"""The training pipeline: rows, split, selection and evaluation.

Most tests read the one model trained per session (`trained_model` in
conftest.py); the split and the selection rule are also checked on small
hand-made inputs.
"""

from __future__ import annotations

import itertools
import math
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.config import RunConfig
from model.decision_points.actions import (
    ACTION_SOURCES,
    SOURCE_INFERRED,
    SOURCE_PLANNED,
    SOURCE_SERVICE_START,
    SOURCE_UNKNOWN,
)
from model.decision_points.build import build_decision_points
from model.decision_points.points import ID_COLUMNS, DecisionPoints
from model.errors import ConfigError, DataContractError
from model.evaluation.sensitivity import SENSITIVITY_LAMBDAS
from model.golden import METADATA_KEY
from model.vocab import NO_NEW_SERVICE, REVIEW
from tests.support.trained_model import TrainedModel
from training.pipeline.choose import SELECTION_METRIC
from training.pipeline.inputs import check_learner_config, load_inputs
from training.pipeline.rows import MIN_PLANNED_SHARE, planned_share, training_rows
from training.pipeline.split import (
    held_out_rows,
    split_at_random,
    split_by_intake,
    split_clients,
)
from training.router_figures import EVALUATION_KEYS, evaluable_rows, evaluate_router
from training.truth import align_truth, read_truth

# -- action_source --------------------------------------------------------------------


def test_action_source_says_where_every_action_came_from(trained_model: TrainedModel) -> None:
    frame = trained_model.result.dp.frame
    assert "action_source" in ID_COLUMNS
    source = frame["action_source"].astype(object)
    assert set(source) <= set(ACTION_SOURCES)
    starts = (frame["kind"] == "service_start").to_numpy()
    assert (source[starts] == SOURCE_SERVICE_START).all()
    reviews = frame.loc[~starts]
    assert (reviews["action_known"] == (reviews["action_source"] != SOURCE_UNKNOWN)).all()
    inferred = reviews["action_source"] == SOURCE_INFERRED
    assert (reviews.loc[inferred, "action"] == NO_NEW_SERVICE).all()
    # the built-in world records plans at about half of the reviews
    assert (reviews["action_source"] == SOURCE_PLANNED).sum() > 0
    assert inferred.sum() > 0


def test_planned_actions_come_from_the_recorded_planned_service(
    trained_model: TrainedModel,
) -> None:
    tables = trained_model.result.inputs.tables
    frame = trained_model.result.dp.frame
    planned = frame[frame["action_source"] == SOURCE_PLANNED]
    episodes = tables.episodes
    recorded = episodes[(episodes["service"] == REVIEW) & episodes["planned_service"].notna()]
    keys = set(
        zip(recorded["client_id"], recorded["start_date"], recorded["planned_service"], strict=True)
    )
    for row in planned.head(50).itertuples():
        assert (row.client_id, row.decision_date, row.action) in keys


# -- training rows: the inferred no_new_service bias -------------------------------------


def test_inferred_reviews_are_dropped_from_outcome_rows_when_plans_are_recorded(
    trained_model: TrainedModel,
) -> None:
    result = trained_model.result
    dp = result.dp
    share = planned_share(result.inputs.tables.episodes)
    assert 0.4 < share < 0.6  # the world's planned_service_recorded = 0.5
    rows = result.rows
    assert rows.drop_inferred and rows.planned_share == share
    inferred = (dp.frame["action_source"] == SOURCE_INFERRED).to_numpy()
    complete = evaluable_rows(dp)
    assert not (rows.outcome & inferred).any()
    assert rows.n_inferred_dropped == int((complete & inferred).sum()) > 0
    # the propensity model still learns what caseworkers did at those reviews
    assert (rows.propensity & inferred).sum() == inferred.sum()
    assert (result.models.propensity_rows & inferred).any()
    assert not (result.models.outcome_rows & inferred).any()
    # and the model card says so
    note = result.model_card["data"]["inferred_no_new_service"]
    assert f"{rows.n_inferred_dropped} inferred no_new_service reviews were left out" in note


def test_inferred_reviews_stay_when_plans_are_not_recorded(trained_model: TrainedModel) -> None:
    inputs = trained_model.result.inputs
    episodes = inputs.tables.episodes.copy()
    episodes["planned_service"] = pd.Series(pd.NA, index=episodes.index, dtype="str")
    assert planned_share(episodes) == 0.0
    dp = build_decision_points(
        inputs.tables.clients,
        episodes,
        inputs.tables.outcomes,
        catalogue=inputs.catalogue,
        config=inputs.config,
    )
    rows = training_rows(dp, planned_share=planned_share(episodes))
    inferred = (dp.frame["action_source"] == SOURCE_INFERRED).to_numpy()
    assert not rows.drop_inferred and rows.n_inferred_dropped == 0
    assert (rows.outcome & inferred).sum() == (evaluable_rows(dp) & inferred).sum() > 0
    assert "were kept" in rows.note()
    # the reviews an outcome cut short are counted, and recording plans advised
    cut_short = (
        (dp.frame["action_source"] == "unknown")
        & ~dp.frame["censored"].astype(bool)
        & (dp.frame["label"] == 1.0)
    ).sum()
    assert rows.n_cut_short == cut_short > 0
    assert f"Note: {cut_short} reviews have an unknown action" in rows.note()
    assert "planned_service" in rows.note()


def test_the_drop_threshold_is_five_percent_of_review_rows(trained_model: TrainedModel) -> None:
    dp = trained_model.result.dp
    assert MIN_PLANNED_SHARE == 0.05
    assert training_rows(dp, planned_share=0.05).drop_inferred
    assert not training_rows(dp, planned_share=0.0499).drop_inferred


def test_planned_share_counts_review_rows_only() -> None:
    episodes = pd.DataFrame(
        {
            "service": [REVIEW, REVIEW, REVIEW, REVIEW, "work_trial"],
            "planned_service": ["work_trial", None, "unknown", "", "pay_subsidy"],
        }
    )
    assert planned_share(episodes) == 0.25
    assert planned_share(episodes.drop(columns="planned_service")) == 0.0


# -- the split ------------------------------------------------------------------------------


def _toy_points(
    intakes: dict[str, str], points: list[tuple[str, bool]]
) -> tuple[DecisionPoints, pd.DataFrame]:
    """Decision points (client, labelled?) of clients with the given intake dates."""
    frame = pd.DataFrame(
        {
            "client_id": [c for c, _ in points],
            "action": ["work_trial"] * len(points),
            "action_known": True,
            "censored": [not labelled for _, labelled in points],
        }
    )
    dp = DecisionPoints(
        frame=frame, features=(), actions=("work_trial", NO_NEW_SERVICE), extract_date=None
    )
    clients = pd.DataFrame(
        {"client_id": list(intakes), "intake_date": pd.to_datetime(list(intakes.values()))}
    )
    return dp, clients


def test_split_holds_out_the_newest_clients_whole() -> None:
    # ten clients, one a month, four labelled points each; client j9 is the newest
    intakes = {f"j{i}": f"2020-{i + 1:02d}-01" for i in range(10)}
    points = [(c, True) for c in intakes for _ in range(4)]
    points += [("j9", False), ("j8", False)]  # censored points follow their clients
    dp, clients = _toy_points(intakes, points)
    split = split_by_intake(dp, clients, holdout_fraction=0.2, validation_fraction=0.25)
    ids = dp.frame["client_id"]
    assert set(ids[split.test]) == {"j8", "j9"}  # 8 of 40 labelled points = 20 %
    assert set(ids[split.validation]) == {"j6", "j7"}  # 8 of the remaining 32 = 25 %
    assert set(ids[split.train]) == {f"j{i}" for i in range(6)}
    assert split.test_from == date(2020, 9, 1) and split.validation_from == date(2020, 7, 1)
    assert (split.train ^ split.validation ^ split.test).all()  # each row in exactly one part
    assert split.labelled_share["test"] == pytest.approx(0.2)


def test_clients_with_the_same_intake_date_stay_together() -> None:
    intakes = {"a": "2020-01-01", "b": "2020-02-01", "c": "2020-03-01", "d": "2020-03-01"}
    points = [(c, True) for c in intakes for _ in range(3)]
    dp, clients = _toy_points(intakes, points)
    split = split_by_intake(dp, clients, holdout_fraction=0.1, validation_fraction=0.3)
    ids = dp.frame["client_id"]
    assert set(ids[split.test]) == {"c", "d"}


def test_split_refuses_data_without_labelled_points() -> None:
    dp, clients = _toy_points({"a": "2020-01-01", "b": "2020-02-01"}, [("a", False), ("b", False)])
    with pytest.raises(DataContractError, match="no labelled decision points"):
        split_by_intake(dp, clients, holdout_fraction=0.2, validation_fraction=0.15)


def test_a_single_intake_cohort_is_split_by_client_at_random() -> None:
    # every client arrives on the same day, as in a converted randomised trial
    intakes = {f"c{i:03d}": "2021-03-01" for i in range(300)}
    points = [(c, True) for c in intakes for _ in range(2)]
    dp, clients = _toy_points(intakes, points)
    with pytest.raises(DataContractError, match="newest intake day"):
        split_by_intake(dp, clients, holdout_fraction=0.2, validation_fraction=0.15)
    split = split_clients(
        dp, clients, method="auto", holdout_fraction=0.2, validation_fraction=0.15, seed=7
    )
    assert split.method == "random" and split.seed == 7
    assert (split.train ^ split.validation ^ split.test).all()
    ids = dp.frame["client_id"]
    parts = [set(ids[m]) for m in (split.train, split.validation, split.test)]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert split.labelled_share["test"] == pytest.approx(0.2, abs=0.01)
    assert split.labelled_share["validation"] == pytest.approx(0.8 * 0.15, abs=0.01)
    # the same seed gives the same clients; the summary finds them again
    again = split_clients(
        dp, clients, method="random", holdout_fraction=0.2, validation_fraction=0.15, seed=7
    )
    assert (again.test == split.test).all() and (again.validation == split.validation).all()
    assert (held_out_rows(dp, clients, split.summary(dp)) == split.test).all()
    other = split_at_random(dp, holdout_fraction=0.2, validation_fraction=0.15, seed=8)
    assert not (other.test == split.test).all()


def test_auto_keeps_the_intake_split_when_the_dates_separate_the_clients() -> None:
    intakes = {f"j{i}": f"2020-{i + 1:02d}-01" for i in range(10)}
    points = [(c, True) for c in intakes for _ in range(4)]
    dp, clients = _toy_points(intakes, points)
    split = split_clients(
        dp, clients, method="auto", holdout_fraction=0.2, validation_fraction=0.25, seed=0
    )
    assert split.method == "intake" and split.test_from == date(2020, 9, 1)
    assert (held_out_rows(dp, clients, split.summary(dp)) == split.test).all()


def test_the_real_split_is_by_client_newest_first(trained_model: TrainedModel) -> None:
    result = trained_model.result
    dp, split = result.dp, result.split
    intake = result.inputs.tables.clients.set_index("client_id")["intake_date"].astype(
        "datetime64[ns]"
    )
    point_intake = dp.frame["client_id"].map(intake)
    test_from = pd.Timestamp(split.test_from)
    validation_from = pd.Timestamp(split.validation_from)
    assert (point_intake[split.test] >= test_from).all()
    assert (point_intake[~split.test] < test_from).all()
    assert (point_intake[split.validation] >= validation_from).all()
    assert (point_intake[split.train] < validation_from).all()
    parts = [set(dp.frame.loc[m, "client_id"]) for m in (split.train, split.validation, split.test)]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    labelled = evaluable_rows(dp)
    assert (labelled & split.test).sum() / labelled.sum() == pytest.approx(0.2, abs=0.03)
    held_out = split.validation | split.test
    assert not (result.models.outcome_rows & held_out).any()
    assert not (result.models.propensity_rows & held_out).any()
    assert (result.models.outcome_rows <= (split.train & ~dp.frame["censored"].to_numpy())).all()


# -- fitting, selection and evaluation -------------------------------------------------------


def test_every_learner_is_fitted_with_its_configured_parameters(
    trained_model: TrainedModel,
) -> None:
    result = trained_model.result
    assert set(result.models.learners) == {"s_learner", "dr_learner"}
    s_learner = result.models.learners["s_learner"]
    assert s_learner.n_bags == 2  # type: ignore[attr-defined]
    # fitted with the configured rounds, then perhaps cut on validation (choose_rounds)
    tried = result.router.metadata["selection"]["rounds"]["s_learner"]
    assert max(int(rounds) for rounds in tried) == 30
    assert s_learner.n_rounds_ in {int(rounds) for rounds in tried}  # type: ignore[attr-defined]
    dr_learner = result.models.learners["dr_learner"]
    assert dr_learner.n_estimators == 30  # type: ignore[attr-defined]
    # the DR-learner's inner (nuisance) models are sized from the configuration too
    assert dr_learner.outcome_.n_estimators == 40  # type: ignore[attr-defined]
    # protected attributes are never model features
    assert not set(result.inputs.config.protected_attributes) & set(result.models.encoder.columns_)


def test_every_learner_is_evaluated_on_the_held_out_clients(trained_model: TrainedModel) -> None:
    result = trained_model.result
    assert set(result.test) == set(result.validation) == set(result.inputs.config.learners)
    for name, figures in result.test.items():
        assert tuple(figures) == EVALUATION_KEYS
        assert figures["learner"] == name
        for key in ("v_hist", "v_rec", "v_oracle", "dr_value", "auc", "coverage"):
            assert figures[key] is not None and math.isfinite(figures[key]), (name, key)
        assert figures["dr_low"] <= figures["dr_value"] <= figures["dr_high"]
        assert figures["v_rec"] <= figures["v_oracle"] + 1e-12
    assert result.evaluation is result.test[result.chosen]
    assert result.evaluation["model_version"] == trained_model.version


def test_the_held_out_value_carries_its_sensitivity_to_hidden_confounding(
    trained_model: TrainedModel,
) -> None:
    result = trained_model.result
    for name, detail in result.details.items():
        extra = detail.extra
        bounds = extra["dr_sensitivity"]
        assert [b["lambda"] for b in bounds] == list(SENSITIVITY_LAMBDAS)
        analysis = extra["dr_sensitivity_analysis"]
        # lam = 1 is the self-normalised DR estimate: close to the figure, inside the interval
        assert analysis["estimate"] == pytest.approx(detail.figures["dr_value"], abs=0.05), name
        for smaller, larger in itertools.pairwise(bounds):
            assert larger["low"] <= smaller["low"] and larger["high"] >= smaller["high"]
        even = extra["break_even_lambda"]
        assert even is None or even >= 1.0
    metrics = result.sensitivity_metrics()
    assert (
        metrics["dr_sensitivity.1.5.low"]
        == result.details[result.chosen].extra["dr_sensitivity"][SENSITIVITY_LAMBDAS.index(1.5)][
            "low"
        ]
    )
    assert all(f"{n}.dr_sensitivity.1.low" in metrics for n in result.details)
    # the model card says what the DR interval assumes and what survives lam
    card = result.model_card
    assert card["sensitivity"]["bounds"] == result.details[result.chosen].extra["dr_sensitivity"]
    limitation = next(i for i in card["limitations"] if i["id"] == "hidden_confounding_sensitivity")
    assert "Λ = 1.5" in limitation["en"] and "Λ = 1,5" in limitation["fi"]
    assert "assumes that nothing" in limitation["en"]
    assert "Λ = 1,5" in limitation["sv"] and "förutsätter att inget" in limitation["sv"]


def test_the_learner_is_chosen_on_validation_clients(trained_model: TrainedModel) -> None:
    result = trained_model.result
    assert result.metric == SELECTION_METRIC == "referee_value"  # never the truth
    comparison = result.router.metadata["selection"]["comparison"]
    assert comparison["chosen"] == result.chosen
    assert comparison["default"] == result.inputs.config.learners[0]
    assert result.router.metadata["selection"]["validation"] == {
        n: f["referee_value"] for n, f in result.validation.items()
    }
    # validation figures are computed without the truth
    assert all(f.get("v_rec") is None for f in result.validation.values())


def test_interval_widths_are_set_from_validation_outcomes(trained_model: TrainedModel) -> None:
    result = trained_model.result
    for name, width in result.interval_widths.items():
        assert width is not None and width >= 0
        assert result.models.learners[name].heterogeneity_ == width
    assert result.router.metadata["interval_width"] == result.interval_widths[result.chosen]


def test_nothing_is_chosen_on_the_truth(trained_model: TrainedModel, tmp_path: Path) -> None:
    """The same data without the simulator's truth gives the same model in every choice."""
    from training.pipeline import train

    blind = tmp_path / "world"
    shutil.copytree(trained_model.data_dir, blind, ignore=shutil.ignore_patterns("truth.*"))
    result = train(blind, config_path=trained_model.config_path)
    known = trained_model.result
    assert not result.has_truth and known.has_truth
    assert result.chosen == known.chosen
    assert result.router.metadata["selection"] == known.router.metadata["selection"]
    assert result.interval_widths == known.interval_widths
    assert result.router.learner.calibration_ == known.router.learner.calibration_
    X = known.models.X[:200]
    np.testing.assert_array_equal(result.router.learner.predict(X), known.router.learner.predict(X))


def test_the_router_carries_what_serving_needs(trained_model: TrainedModel) -> None:
    result = trained_model.result
    metadata = result.router.metadata
    assert metadata["learner"] == result.chosen
    assert metadata["data"]["sha256"] == result.inputs.fingerprint["sha256"]
    assert metadata["split"]["test_from"] == result.split.test_from.isoformat()
    assert set(metadata[METADATA_KEY]) == {
        "new_arrival_no_finnish",
        "graduate_after_integration_training",
        "worker_interrupted_course",
        "health_limitation",
    }
    assert result.golden_problems == []


def test_evaluation_without_truth_leaves_truth_figures_empty(trained_model: TrainedModel) -> None:
    result = trained_model.result
    figures = evaluate_router(result.router, result.dp, result.split.test, truth=None)
    assert tuple(figures) == EVALUATION_KEYS
    for key in ("v_hist", "v_rec", "v_oracle", "capture_ratio", "coverage"):
        assert figures[key] is None
    assert figures["dr_value"] == pytest.approx(result.evaluation["dr_value"])
    assert figures["auc"] == pytest.approx(result.evaluation["auc"])
    assert figures["model_version"] is None


def test_evaluation_of_no_rows_is_all_none(trained_model: TrainedModel) -> None:
    result = trained_model.result
    nothing = np.zeros(len(result.dp.frame), dtype=bool)
    figures = evaluate_router(result.router, result.dp, nothing)
    assert {k for k, v in figures.items() if v is not None} == {"learner"}


def test_truth_is_joined_by_client_and_date(trained_model: TrainedModel) -> None:
    result = trained_model.result
    truth = read_truth(Path(trained_model.data_dir) / "truth.csv")
    matrix = align_truth(result.dp.frame, truth, result.dp.actions)
    assert matrix.shape == (len(result.dp.frame), len(result.dp.actions))
    found = np.isfinite(matrix).any(axis=1)
    assert found.mean() > 0.99
    row = result.dp.frame.iloc[0]
    expected = truth[
        (truth["client_id"] == row["client_id"]) & (truth["decision_date"] == row["decision_date"])
    ].iloc[0]
    j = result.dp.actions.index(NO_NEW_SERVICE)
    assert matrix[0, j] == pytest.approx(expected[NO_NEW_SERVICE])
    shuffled = truth.sample(frac=1.0, random_state=0)
    np.testing.assert_array_equal(align_truth(result.dp.frame, shuffled, result.dp.actions), matrix)


# -- configuration ---------------------------------------------------------------------------


def test_unknown_learners_and_parameters_are_refused(tmp_path: Path, tiny_world_dir: Path) -> None:
    with pytest.raises(ConfigError, match="unknown learner"):
        check_learner_config(RunConfig(learners=("s_learner", "t_learner")))
    with pytest.raises(ConfigError, match="learner_params"):
        check_learner_config(RunConfig(learner_params={"x_learner": {"n_estimators": 3}}))
    path = tmp_path / "run.toml"
    path.write_text('learners = ["magic"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="magic"):
        load_inputs(tiny_world_dir, config_path=path)


def test_a_misspelt_hyperparameter_names_the_learner(tmp_path: Path, tiny_world_dir: Path) -> None:
    from training.pipeline import train

    path = tmp_path / "run.toml"
    path.write_text(
        'learners = ["s_learner"]\n[learner_params.propensity]\nn_estimator = 3\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"learner_params\.propensity: .*n_estimator"):
        train(tiny_world_dir, config_path=path)
