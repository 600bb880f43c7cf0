"""Values as strict JSON holds them.

Figures come out of numpy and pandas as numpy scalars, and a figure that
could not be computed is NaN; strict JSON has neither NaN, infinities nor
numpy types. `json_value` turns a value, or a whole document of mappings,
lists and tuples, into plain Python that `json.dumps(..., allow_nan=False)`
and orjson write as it is: NaN and infinities become None (JSON null), numpy
scalars Python numbers, tuples lists and mapping keys text. `json_number` does
the same for one number and can round it (the fairness report publishes its
rates to six decimals).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def json_value(value: Any) -> Any:
    """`value` as strict JSON holds it: NaN and infinities as None, numpy scalars as
    Python numbers, mappings (keys as text), lists and tuples converted all the way down.
    Anything else (text, True/False, None, Python ints) is returned as it is."""
    # Plain floats and text first: the request path converts many of them.
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, np.generic):
        return json_value(value.item())
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    return value


def json_number(value: Any, digits: int | None = None) -> float | None:
    """One figure as a JSON number: a float rounded to `digits` decimals when given,
    None when it is missing, NaN or infinite."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return number if digits is None else round(number, digits)
