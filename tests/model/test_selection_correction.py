"""A router's correction for selection (`Router.adjustment`): ranking, explanation, persistence."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import numpy as np

from model.explain import SELECTION_FIELD
from model.router import Router
from tests.support.trained_model import TrainedModel

AS_OF = "2025-06-30"


def _caseload(trained_model: TrainedModel, router: Router):  # type: ignore[no-untyped-def]
    from training.batch import caseload_features
    from training.contract.load import load_valid_tables

    tables = load_valid_tables(
        trained_model.data_dir, catalogue=router.catalogue, config=router.config
    )
    return caseload_features(router, tables, date.fromisoformat(AS_OF)).head(40)


def test_a_corrected_service_is_ranked_by_its_corrected_chance_and_says_why(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    router = copy.deepcopy(trained_model.result.router)
    router.adjustment_from(None)  # whatever the training found, start from none
    features = _caseload(trained_model, router)
    before = router.score(features)
    top = int(np.bincount(before.recommended).argmax())  # the most recommended service
    correction = np.zeros(len(router.actions))
    correction[top] = 0.2
    router.adjustment_from(correction)
    after = router.score(features)
    np.testing.assert_allclose(after.p[:, top], np.clip(before.p[:, top] - 0.2, 1e-4, 1 - 1e-4))
    assert (after.recommended == top).sum() < (before.recommended == top).sum()
    # the explanation of the corrected service carries the correction, in every language
    row = int(np.flatnonzero(after.eligible[:, top])[0])
    record = features.drop(columns=["client_id", "decision_date"]).iloc[row].to_dict()
    answer = router.recommend(record, k=len(router.actions), language="en")
    service = next(s for s in answer.recommendations if router.action_index(s.service) == top)
    item = next(c for c in service.explanation if c.feature == SELECTION_FIELD)
    assert item.contribution == -0.2 and "lowers the estimate by 20" in item.text
    # the batch path explains as the single-client path does
    X = router.encoder.transform(features)
    values = {name: features[name].tolist() for name in router.encoder.columns_}
    many = router.explain_many(X, after.p, after.ranked, k=3, values=values, language="fi")
    records = features.drop(columns=["client_id", "decision_date"]).to_dict("records")
    for i, one_record in enumerate(records[:10]):
        one = router.recommend(one_record, k=3, language="fi")
        expected = {
            router.action_index(s.service): s.explanation
            for s in one.recommendations
            if s.explanation
        }
        expected[router.reference_index] = one.reference.explanation
        assert many[i] == expected
    # saved and loaded, the correction stays
    router.save(tmp_path / "router")
    loaded = Router.load(tmp_path / "router")
    np.testing.assert_array_equal(loaded.adjustment, correction)
    np.testing.assert_allclose(loaded.score(features).p, after.p)


def test_an_uncorrected_router_is_unchanged(trained_model: TrainedModel) -> None:
    router = copy.deepcopy(trained_model.result.router)
    router.adjustment_from(None)
    assert not np.any(router.adjustment)
    features = _caseload(trained_model, router)
    X = router.encoder.transform(features)
    np.testing.assert_array_equal(router.score(features).p, router.learner.predict(X))
