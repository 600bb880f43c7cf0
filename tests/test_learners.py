"""The outcome learners' recalibration and refit (issue 3)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from model.learners import fit_affine_calibration, learner_from_dict
from tests.conftest import TrainedModel
from training.evaluate import evaluable_rows


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


def test_the_off_policy_estimate_reports_its_parts_and_clipping(trained_model: TrainedModel) -> None:
    result = trained_model.result
    for name, detail in result.details.items():
        extra = detail.extra
        assert 0.0 <= extra["dr_share_clipped_matched"] <= extra["dr_share_clipped"] <= 1.0, name
        assert 0.0 <= extra["dm_value"] <= 1.0 and extra["ipw_value"] >= 0.0
        assert extra["dr_clip"] == 0.01
