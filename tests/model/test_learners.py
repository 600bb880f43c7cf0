"""The outcome learners' recalibration and refit."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from model.learners import fit_affine_calibration, learner_from_dict
from tests.support.trained_model import TrainedModel
from training.router_figures import evaluable_rows


def test_platt_scaling_recovers_a_known_miscalibration() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 1.5, 40_000)
    y = (rng.random(z.size) < expit(0.5 * z - 0.3)).astype(float)
    slope, intercept = fit_affine_calibration(z, y, "logit")
    assert abs(slope - 0.5) < 0.05 and abs(intercept + 0.3) < 0.05
    p = np.clip(0.8 * expit(z) + 0.05, 0, 1)
    y = (rng.random(z.size) < p).astype(float)
    slope, intercept = fit_affine_calibration(expit(z), y, "probability")
    assert abs(slope - 0.8) < 0.05 and abs(intercept - 0.05) < 0.03


def test_recalibrated_contributions_still_add_up_and_survive_a_round_trip(
    trained_model: TrainedModel,
) -> None:
    result = trained_model.result
    X = result.models.X[evaluable_rows(result.dp, result.split.test)][:40]
    for name, learner in result.models.learners.items():
        assert learner.calibration_ != (1.0, 0.0), name  # fitted on validation
        actions = np.arange(len(X)) % learner.n_actions
        margin = learner.predict_margin(X)[np.arange(len(X)), actions]
        contrib = learner.contributions(X, actions)
        np.testing.assert_allclose(contrib.sum(axis=1), margin, atol=1e-6, err_msg=name)
        again = learner_from_dict(learner.to_dict())
        assert again.calibration_ == learner.calibration_
        np.testing.assert_allclose(again.predict(X), learner.predict(X), atol=1e-9)


def test_the_chosen_learner_is_refitted_with_its_validation_calibration(
    trained_model: TrainedModel,
) -> None:
    result = trained_model.result
    assert f"refit_{result.chosen}" in result.seconds
    assert result.router.learner is result.models.learners[result.chosen]
    assert result.router.learner.heterogeneity_ == result.interval_widths[result.chosen]


def test_the_off_policy_estimate_reports_its_parts_and_clipping(
    trained_model: TrainedModel,
) -> None:
    result = trained_model.result
    for name, detail in result.details.items():
        extra = detail.extra
        assert 0.0 <= extra["dr_share_clipped_matched"] <= extra["dr_share_clipped"] <= 1.0, name
        assert 0.0 <= extra["dm_value"] <= 1.0 and extra["ipw_value"] >= 0.0
        assert extra["dr_clip"] == 0.01


def test_a_truncated_s_learner_is_the_fit_with_fewer_rounds(trained_model: TrainedModel) -> None:
    from model.learners.s_learner import SLearner
    from training.pipeline.fit import outcome_data

    result = trained_model.result
    data = outcome_data(result.dp, result.models.X, result.split.train & result.rows.outcome)
    rows = slice(0, 3000)
    small = type(data)(
        **{
            **data.__dict__,
            **{k: v[rows] for k, v in data.__dict__.items() if isinstance(v, np.ndarray)},
        }
    )
    common = {"n_actions": len(result.dp.actions), "seed": 3, "n_bags": 2, "num_leaves": 5}
    long = SLearner(**common, n_estimators=20).fit(small)
    short = SLearner(**common, n_estimators=10).fit(small)
    cut = long.truncated(10)
    X = result.models.X[:50]
    np.testing.assert_allclose(cut.predict_margin(X), short.predict_margin(X), atol=1e-12)
    np.testing.assert_allclose(cut.spread(X), short.spread(X), atol=1e-12)
    assert (
        cut.booster_.num_trees() == 10 and long.booster_.num_trees() == 20
    )  # the original is kept
    assert learner_from_dict(cut.to_dict()).booster_.num_trees() == 10


def test_round_candidates_are_cuts_of_one_fit_the_full_one_first(
    trained_model: TrainedModel,
) -> None:
    from model.learners.s_learner import SLearner
    from training.pipeline.choose import round_candidates

    learner = next(
        v for v in trained_model.result.models.learners.values() if isinstance(v, SLearner)
    )
    total = learner.booster_.current_iteration()
    candidates = round_candidates(learner)
    assert next(iter(candidates)) == total and candidates[total] is learner
    assert list(candidates) == sorted(candidates, reverse=True)
    for rounds, cut in candidates.items():
        assert cut.booster_.current_iteration() == rounds  # type: ignore[attr-defined]
    dr = trained_model.result.models.learners.get("dr_learner")
    if dr is not None:
        assert round_candidates(dr) == {0: dr}


def test_the_served_s_learner_has_the_rounds_chosen_on_validation(
    trained_model: TrainedModel,
) -> None:
    result = trained_model.result
    tried = result.router.metadata["selection"]["rounds"].get("s_learner")
    assert tried, result.router.metadata["selection"]
    kept = result.models.learners["s_learner"].n_rounds_  # type: ignore[attr-defined]
    full = max(int(k) for k in tried)
    # a cut replaces the full model only when the referee finds it better
    assert str(kept) in tried and (kept == full or tried[str(kept)] > tried[str(full)])
    if result.chosen == "s_learner":
        assert result.router.learner.booster_.current_iteration() == kept


def test_predicting_some_cells_gives_those_cells_of_the_full_prediction(
    trained_model: TrainedModel,
) -> None:
    result = trained_model.result
    X = result.models.X[evaluable_rows(result.dp, result.split.test)][:200]
    cells = np.random.default_rng(1).random((len(X), len(result.dp.actions))) < 0.3
    for name, learner in result.models.learners.items():
        some = learner.predict_cells(X, cells)
        full = learner.predict(X)
        np.testing.assert_allclose(some[cells], full[cells], atol=1e-12, err_msg=name)
        assert np.all(np.isnan(some[~cells])), name


def test_intervals_of_some_cells_are_those_cells_of_the_full_intervals(
    trained_model: TrainedModel,
) -> None:
    result = trained_model.result
    X = result.models.X[evaluable_rows(result.dp, result.split.test)][:200]
    cells = np.random.default_rng(2).random((len(X), len(result.dp.actions))) < 0.3
    for name, learner in result.models.learners.items():
        spread = learner.spread(X)
        assert np.any(spread > 0), name  # the bags disagree somewhere: a real test
        some = learner.spread_cells(X, cells)
        np.testing.assert_array_equal(some[cells], spread[cells], err_msg=name)
        assert np.all(np.isnan(some[~cells])), name
        low, high = learner.interval(X, 0.9)
        some_low, some_high = learner.interval(X, 0.9, cells=cells)
        np.testing.assert_array_equal(some_low[cells], low[cells], err_msg=name)
        np.testing.assert_array_equal(some_high[cells], high[cells], err_msg=name)
        assert np.all(np.isnan(some_low[~cells]) & np.isnan(some_high[~cells])), name
    batch = result.router.score(result.dp.frame.iloc[:300], intervals="eligible")
    full = result.router.score(result.dp.frame.iloc[:300])
    assert batch.eligible.any() and not batch.eligible.all()
    np.testing.assert_array_equal(batch.low[batch.eligible], full.low[batch.eligible])
    assert np.all(np.isnan(batch.high[~batch.eligible]))
    np.testing.assert_array_equal(batch.p, full.p)
