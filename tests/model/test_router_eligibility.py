"""`Router.eligibility_row` (remembered rule answers) agrees with `Catalogue.eligibility`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from model.errors import DataContractError
from model.router import Router
from tests.support.trained_model import TrainedModel


def _columns(record: dict[str, Any]) -> dict[str, np.ndarray]:
    return {
        name: np.asarray([v], dtype=object if isinstance(v, str) or v is None else None)
        for name, v in record.items()
    }


def _records(trained_model: TrainedModel, n: int) -> list[dict[str, Any]]:
    frame = trained_model.result.dp.frame.head(n).drop(columns=["client_id", "decision_date"])
    return frame.to_dict("records")


def _rule_features(router: Router) -> list[str]:
    return sorted(
        {name for service in router.catalogue.services for name in service.eligibility.features}
    )


def _variants(record: dict[str, Any], names: list[str], rng: np.random.Generator) -> dict[str, Any]:
    """The record with some rule inputs written differently or missing."""
    out = dict(record)
    for name in rng.choice(names, size=3, replace=False):
        value = out[name]
        choices: list[Any] = [None, float("nan"), "unknown", "", value]
        if isinstance(value, bool | np.bool_):
            choices += [int(value), str(bool(value)).lower(), not value]
        elif isinstance(value, int | float | np.number):
            choices += [float(value) + 1, str(value), -1.0, 0]
        elif isinstance(value, str):
            choices += [f" {value} ", value.upper(), "A2", "B1", "bachelor"]
        out[name] = choices[int(rng.integers(len(choices)))]
    return out


def _vector(router: Router, record: dict[str, Any]) -> np.ndarray | str:
    try:
        return router.catalogue.eligibility(_columns(record), 1)
    except DataContractError as exc:
        return str(exc)


def _row(router: Router, record: dict[str, Any]) -> np.ndarray | str:
    try:
        return router.eligibility_row(record)
    except DataContractError as exc:
        return str(exc)


def test_remembered_answers_equal_the_vector_rules(trained_model: TrainedModel) -> None:
    router = trained_model.result.router
    names = _rule_features(router)
    rng = np.random.default_rng(7)
    records = _records(trained_model, 400)
    records += [_variants(r, names, rng) for r in records]
    for _ in range(2):  # the second pass answers from memory
        for record in records:
            expected, got = _vector(router, record), _row(router, record)
            if isinstance(expected, str):
                assert got == expected
            else:
                np.testing.assert_array_equal(got, expected)
    assert router.rule_answers.remembered, "answers were remembered"


def test_a_missing_rule_feature_is_named_as_before(trained_model: TrainedModel) -> None:
    router = trained_model.result.router
    record = _records(trained_model, 1)[0]
    del record["finnish_level"]
    with pytest.raises(DataContractError, match="finnish_level"):
        router.eligibility_row(record)
    assert _row(router, record) == _vector(router, record)
