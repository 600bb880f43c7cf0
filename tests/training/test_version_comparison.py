"""Two registered versions on the same held-out decision points, and the promotion guard."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.compared_versions import ComparedVersions, register_compared_versions
from tests.support.trained_model import TrainedModel
from training.promotion import PromotionRefused, guarded_promotion
from training.registry.served import load_served
from training.registry.versions import alias_holder, promote, version_tags
from training.router_figures import EVALUATION_KEYS, action_indices
from training.version_comparison import Version, compare_versions, point_keys
from training.version_evaluation import evaluate_version, scoring_points

MODEL = "polku-router-compare-test"


@pytest.fixture(scope="module")
def versions(trained_model: TrainedModel) -> ComparedVersions:
    return register_compared_versions(trained_model, MODEL)


def _version(number: str) -> Version:
    served = load_served(MODEL, alias=None, version=number)
    return Version(served.version, served.router)


def test_a_version_against_itself_differs_by_nothing(
    versions: ComparedVersions, trained_model: TrainedModel
) -> None:
    comparison = compare_versions(
        _version(versions.champion), _version(versions.same), trained_model.data_dir
    )
    dr = comparison.dr_difference
    assert dr.value == pytest.approx(0.0, abs=1e-12)
    assert dr.low == pytest.approx(0.0, abs=1e-12) and dr.high == pytest.approx(0.0, abs=1e-12)
    assert not comparison.second_is_worse
    names = [row.name for row in comparison.figures]
    assert names[0] == "referee_value"  # the figure that decides
    assert [k for k in EVALUATION_KEYS if k != "model_version"] == names[1 : len(EVALUATION_KEYS)]
    for row in comparison.figures:
        assert row.first == row.second
    coverage = next(row for row in comparison.figures if row.name == "coverage")
    assert coverage.first is not None  # the tiny world has its truth
    # the held-out clients of the training data, as `polku evaluate` scores them
    alone, _ = evaluate_version(
        load_served(MODEL, alias=None, version=versions.champion).router,
        versions.champion,
        trained_model.data_dir,
    )
    dr_row = next(row for row in comparison.figures if row.name == "dr_value")
    assert dr_row.first == pytest.approx(alone.figures["dr_value"], rel=1e-12)
    assert comparison.n_rows == alone.n_rows and comparison.n_clients == alone.n_clients
    assert "held-out clients" in comparison.note
    assert comparison.truth_difference is not None
    assert comparison.truth_difference.value == pytest.approx(0.0, abs=1e-12)


def test_a_worse_version_is_worse_by_the_paired_interval(
    versions: ComparedVersions, trained_model: TrainedModel
) -> None:
    comparison = compare_versions(
        _version(versions.champion), _version(versions.worse), trained_model.data_dir
    )
    dr = comparison.dr_difference
    assert dr.low <= dr.value <= dr.high < 0.0
    assert comparison.second_is_worse
    referee_row = next(row for row in comparison.figures if row.name == "referee_value")
    assert referee_row.difference == pytest.approx(dr.value, abs=1e-12)
    # each version's own estimate says the same here
    dr_row = next(row for row in comparison.figures if row.name == "dr_value")
    assert dr_row.difference is not None and dr_row.difference < 0
    # the truth agrees here, but it is only reported
    assert comparison.truth_difference is not None and comparison.truth_difference.value < 0
    # the other way round, the same difference with the opposite sign
    reverse = compare_versions(
        _version(versions.worse),
        _version(versions.champion),
        trained_model.data_dir,
        coverage=False,
    )
    coverage = next(row for row in reverse.figures if row.name == "coverage")
    assert coverage.first is None and coverage.second is None
    assert reverse.dr_difference.value == pytest.approx(-dr.value, abs=1e-12)
    assert not reverse.second_is_worse


def test_the_decision_points_are_matched_by_key_not_by_position(
    versions: ComparedVersions, trained_model: TrainedModel
) -> None:
    router = _version(versions.champion).router
    points = scoring_points(router, versions.champion, trained_model.data_dir)
    keys = point_keys(points.dp)
    assert len(set(keys)) == len(keys)
    shuffled = replace(points.dp, frame=points.dp.frame.sample(frac=1.0, random_state=0))
    assert sorted(point_keys(shuffled)) == sorted(keys)


def test_promotion_refuses_a_worse_candidate_and_tags_it(
    versions: ComparedVersions, trained_model: TrainedModel
) -> None:
    promote(versions.champion, name=MODEL)
    refused = guarded_promotion(versions.worse, name=MODEL)
    assert refused.decision == "refused" and refused.promoted is None
    assert alias_holder("champion", name=MODEL) == versions.champion
    tags = version_tags(versions.worse, name=MODEL)
    assert "polku.promotion.refused" in tags
    assert f"compared with version {versions.champion}" in tags["polku.promotion.refused"]
    assert float(tags["polku.promotion.dr_difference_high"]) < 0
    assert "polku.promotion.forced" not in tags

    forced = guarded_promotion(versions.worse, name=MODEL, force=True)
    assert forced.decision == "forced" and forced.promoted is not None
    assert alias_holder("champion", name=MODEL) == versions.worse
    tags = version_tags(versions.worse, name=MODEL)
    assert "polku.promotion.refused" in tags and "polku.promotion.forced" in tags
    promote(versions.champion, name=MODEL)


def test_promotion_of_a_version_no_worse_moves_the_alias(
    versions: ComparedVersions, trained_model: TrainedModel
) -> None:
    promote(versions.champion, name=MODEL)
    done = guarded_promotion(versions.same, name=MODEL)
    assert done.decision == "promoted" and done.comparison is not None
    assert alias_holder("champion", name=MODEL) == versions.same
    assert "polku.promotion.promoted" in version_tags(versions.same, name=MODEL)
    # a new alias has no holder to compare with
    first = guarded_promotion(versions.worse, name=MODEL, alias="fresh-alias")
    assert first.decision == "promoted" and first.comparison is None
    promote(versions.champion, name=MODEL)


def test_promotion_without_data_to_compare_on_needs_force(
    versions: ComparedVersions, tmp_path: Path
) -> None:
    promote(versions.champion, name=MODEL)
    with pytest.raises(PromotionRefused, match="--data DIR, or --force"):
        guarded_promotion(versions.same, name=MODEL, data=tmp_path / "gone")
    assert alias_holder("champion", name=MODEL) == versions.champion
    forced = guarded_promotion(versions.same, name=MODEL, data=tmp_path / "gone", force=True)
    assert forced.decision == "forced" and forced.comparison is None
    assert "not compared" in version_tags(versions.same, name=MODEL)["polku.promotion.forced"]
    promote(versions.champion, name=MODEL)


@pytest.mark.parametrize("dtype", [object, "category", "string"])
def test_each_points_action_is_found_by_name(dtype: object) -> None:
    frame = pd.DataFrame({"action": ["work_trial", None, "retired", np.nan, "review", None]})
    found = action_indices(frame.astype({"action": dtype}), ["review", "work_trial"])
    assert found.dtype == np.intp
    assert found.tolist() == [1, -1, -1, -1, 0, -1]
