"""Values as strict JSON holds them (model.json_values)."""

from __future__ import annotations

import json
import math

import numpy as np
import orjson
import pytest

from model.json_values import json_number, json_value


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf")]
)
def test_not_a_number_and_infinities_become_none(value: float) -> None:
    assert json_value(value) is None
    assert json_number(value) is None


def test_plain_values_are_kept_as_they_are() -> None:
    for value in ("text", "", None, True, False, 0, -3, 2.5, -0.0):
        assert json_value(value) is value


def test_numpy_scalars_become_python_numbers() -> None:
    converted = [
        json_value(v) for v in (np.float64(0.25), np.float32(0.5), np.int64(7), np.bool_(True))
    ]
    assert converted == [0.25, 0.5, 7, True]
    assert [type(v) for v in converted] == [float, float, int, bool]


def test_documents_are_converted_all_the_way_down() -> None:
    document = {
        "figures": {"auc": np.float64(0.71), "ece": math.nan},
        "bounds": ({"lambda": 1.5, "low": -math.inf, "high": np.float64(0.4)},),
        3: [np.int64(1), [math.nan, "a"]],
    }
    plain = json_value(document)
    assert plain == {
        "figures": {"auc": 0.71, "ece": None},
        "bounds": [{"lambda": 1.5, "low": None, "high": 0.4}],
        "3": [1, [None, "a"]],
    }
    assert json.loads(json.dumps(plain, allow_nan=False)) == plain
    assert orjson.loads(orjson.dumps(plain)) == plain
    assert document["figures"]["ece"] != document["figures"]["ece"]  # the input is left alone


def test_one_number_as_a_float_rounded_when_asked() -> None:
    assert json_number(None) is None
    assert json_number(3) == 3.0 and type(json_number(3)) is float
    assert json_number(np.float32(0.1)) == float(np.float32(0.1))
    assert json_number(0.123456789) == 0.123456789
    assert json_number(0.123456789, 6) == 0.123457
    assert json_number(-0.0000004, 6) == 0.0
