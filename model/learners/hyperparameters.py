"""A learner's effective hyperparameters: every constructor argument as the fitted object holds it."""

from __future__ import annotations

import inspect
from typing import Any, Final

# Constructor arguments that describe the data, not the learning.
NOT_HYPERPARAMETERS: Final = frozenset(
    {"self", "n_actions", "categorical_features", "feature_indices"}
)


def hyperparameters(estimator: object) -> dict[str, Any]:
    """Every hyperparameter `type(estimator)` takes, with the value `estimator` uses.

    Defaults are included: the values are read from the object, so what a run
    configuration left out appears with the learner's own default. A dict
    argument (LightGBM overrides) is flattened as `name.key`; an unset one
    (None) is left out.
    """
    out: dict[str, Any] = {}
    for name in inspect.signature(type(estimator).__init__).parameters:
        if name in NOT_HYPERPARAMETERS or not hasattr(estimator, name):
            continue
        value = getattr(estimator, name)
        if isinstance(value, dict):
            out.update({f"{name}.{key}": v for key, v in sorted(value.items())})
        elif value is not None:
            out[name] = value
    return out
