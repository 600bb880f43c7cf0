"""Agreement of the ranking with what caseworkers chose.

Not a measure of quality (caseworkers are the baseline the recommendations
should improve on), but of how different following the recommendations
would be from current practice.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from model.evaluation.inputs import as_vector


def agreement_at_k(*, ranked: npt.ArrayLike, taken: npt.ArrayLike, k: int) -> float:
    """Share of rows whose taken action is among the first ``k`` of ``ranked``.

    ``ranked`` is an ``(n, K)`` integer array of action indices in rank
    order; rows with fewer than ``K`` ranked actions are padded with ``-1``,
    which never matches. ``k`` larger than ``K`` counts all ``K``. NaN for
    no rows.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    ranked_ = np.asarray(ranked)
    if ranked_.ndim != 2:
        raise ValueError(f"ranked must be a 2-d (rows, ranks) array, got shape {ranked_.shape}")
    if ranked_.size and not np.issubdtype(ranked_.dtype, np.integer):
        raise ValueError(f"ranked must hold integer action indices, got dtype {ranked_.dtype}")
    taken_ = as_vector("taken", taken, ranked_.shape[0])
    if taken_.size and (not np.issubdtype(taken_.dtype, np.integer) or taken_.min() < 0):
        raise ValueError("taken must hold non-negative integer action indices")
    if ranked_.shape[0] == 0:
        return float("nan")
    hits = (ranked_[:, :k] == taken_[:, None]).any(axis=1)
    return float(hits.mean())
