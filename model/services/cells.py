"""The small-cell rule of the service report.

Two rules keep a person from being singled out without hiding large groups:

- categories of fewer than k clients are pooled into ``other`` *before*
  tabulating (`pooled_categories`). A pool that still has fewer than k
  clients is shown with every figure hidden; no category of k or more is
  pooled or hidden to protect it, so nothing large is ever hidden to
  protect something small;
- in a row of counts that is published with its total, counts of 1 to k-1
  are hidden, and when exactly one is hidden the smallest other positive count
  is hidden too, so that the total minus the shown counts does not give it
  back (`hidden_counts`). Zeros are shown: they describe no one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np

from model.fairness.suppression import MARK, check_k

OTHER: Final = "other"

__all__ = ["MARK", "OTHER", "check_k", "hidden_counts", "pooled_categories"]


def pooled_categories(counts: Mapping[str, int], k: int) -> dict[str, str]:
    """Each category's published name: itself, or ``other`` when it is pooled.

    `counts` are clients per category. Categories with 1 to k-1 clients are
    pooled with an existing ``other``; categories of k or more keep their name.
    """
    k = check_k(k)
    return {name: OTHER if 0 < count < k else name for name, count in counts.items()}


def hidden_counts(counts: np.ndarray, k: int, *, total_published: bool = True) -> np.ndarray:
    """Which counts of one row to hide (True): 1 to k-1, and one complement when needed."""
    k = check_k(k)
    values = np.asarray(counts, dtype=float)
    hidden = (values > 0) & (values < k)
    if total_published and hidden.sum() == 1:
        candidates = np.flatnonzero(~hidden & (values > 0))
        if candidates.size:
            hidden[candidates[np.argmin(values[candidates])]] = True
    return hidden
