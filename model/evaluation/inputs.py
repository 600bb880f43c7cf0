"""Argument checks shared by the evaluation figures.

Each ``as_*`` function returns its argument as a numpy array of the expected
shape and kind, or raises ``ValueError`` with a message that says what is
wrong; the ``check_*`` functions only raise. The conventions they enforce
are listed in the package docstring (:mod:`model.evaluation`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def as_matrix(name: str, values: npt.ArrayLike, *, dtype: Any = float) -> np.ndarray:
    """``values`` as a 2-d ``(rows, actions)`` array of ``dtype``."""
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-d (rows, actions) array, got shape {array.shape}")
    return array


def as_vector(name: str, values: npt.ArrayLike, n: int | None = None) -> np.ndarray:
    """``values`` as a 1-d array, of ``n`` rows when ``n`` is given."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array, got shape {array.shape}")
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} rows where {n} were expected")
    return array


def as_actions(name: str, values: npt.ArrayLike, *, n: int, n_actions: int) -> np.ndarray:
    """A vector of ``n`` action indices: integers (or whole floats) in ``0..n_actions-1``."""
    array = as_vector(name, values, n)
    if array.size == 0:
        return array.astype(np.intp)
    whole_floats = np.issubdtype(array.dtype, np.floating) and np.all(array == np.round(array))
    if not (np.issubdtype(array.dtype, np.integer) or whole_floats):
        raise ValueError(f"{name} must hold integer action indices, got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= n_actions:
        raise ValueError(
            f"{name} must hold action indices in 0..{n_actions - 1}, "
            f"found values from {array.min()} to {array.max()}"
        )
    return array.astype(np.intp)


def check_same_shape(reference_name: str, reference: np.ndarray, **others: np.ndarray) -> None:
    """Raise unless every array of ``others`` has the shape of ``reference``."""
    for name, array in others.items():
        if array.shape != reference.shape:
            raise ValueError(
                f"{name} has shape {array.shape} but {reference_name} has {reference.shape}"
            )


def as_labels(y: npt.ArrayLike, n: int | None = None) -> np.ndarray:
    """Outcome labels as a float vector of 0s and 1s."""
    labels = as_vector("y", y, n).astype(float)
    if labels.size and not np.all((labels == 0) | (labels == 1)):
        raise ValueError("y must hold 0/1 labels")
    return labels


def as_probabilities(name: str, p: npt.ArrayLike, n: int) -> np.ndarray:
    """``n`` finite probabilities in [0, 1] as a float vector."""
    probs = as_vector(name, p, n).astype(float)
    if probs.size and not (np.all(np.isfinite(probs)) and probs.min() >= 0 and probs.max() <= 1):
        raise ValueError(f"{name} must hold finite probabilities in [0, 1]")
    return probs


def check_alpha(alpha: float) -> None:
    """Raise unless ``alpha`` (one minus an interval's level) lies in (0, 1)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")


def logged_inputs(
    *,
    y: npt.ArrayLike,
    taken: npt.ArrayLike,
    propensity: npt.ArrayLike,
    recommended: npt.ArrayLike,
    clip: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A logged policy's rows, checked, for the off-policy estimators.

    Returns ``(y, taken, recommended, p)`` with ``p`` the propensity of the
    recommended action clipped from below at ``clip``, on the rows whose
    taken action is the recommended one (1 elsewhere, where no estimator
    uses it).
    """
    propensity_ = as_matrix("propensity", propensity)
    n, n_actions = propensity_.shape
    y_ = as_labels(y, n)
    taken_ = as_actions("taken", taken, n=n, n_actions=n_actions)
    recommended_ = as_actions("recommended", recommended, n=n, n_actions=n_actions)
    if not 0 < clip <= 1:
        raise ValueError(f"clip must lie in (0, 1], got {clip}")
    p_rec = propensity_[np.arange(n), recommended_]
    matched = taken_ == recommended_
    if np.any(matched & np.isnan(p_rec)):
        raise ValueError(
            "propensity is missing for a taken action that was also recommended; "
            "the propensity model must give every taken action a probability"
        )
    # Only matched rows use p; elsewhere a missing propensity is harmless.
    p_clipped = np.maximum(np.where(matched, p_rec, 1.0), clip)
    return y_, taken_, recommended_, p_clipped
