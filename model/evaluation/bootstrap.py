"""A mean with a cluster-bootstrap percentile interval.

A client can have several decision points, which are not independent, so
the intervals of every estimate resample whole clients: the cluster
bootstrap (Field & Welsh 2007, "Bootstrapping clustered data", JRSS-B
69(3)) with the percentile interval (Efron & Tibshirani 1993, ch. 13).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from model.evaluation.inputs import as_vector, check_alpha

# The bootstrap draws cluster indices in blocks of at most this many cells,
# so that memory stays bounded (about 32 MB of int64) for any n and n_boot.
_BOOTSTRAP_BLOCK_CELLS: Final = 4_000_000


@dataclass(frozen=True, slots=True)
class MeanInterval:
    """A mean with a cluster-bootstrap percentile interval.

    ``value`` is the mean over all ``n`` rows (not a bootstrap average);
    ``low`` and ``high`` the ``alpha/2`` and ``1 - alpha/2`` quantiles of the
    bootstrap means, NaN when no replicates were drawn. ``n_clusters`` is
    the number of distinct clusters resampled.
    """

    value: float
    low: float
    high: float
    n: int
    n_clusters: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def bootstrap_mean_interval(
    values: npt.ArrayLike,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
) -> MeanInterval:
    """Mean of ``values`` with a cluster-bootstrap percentile interval.

    Each replicate draws ``C`` clusters with replacement from the ``C``
    distinct values of ``clusters`` and takes the mean over every row of the
    drawn clusters (a cluster drawn twice counts twice)::

        mean_b = sum_c w_bc S_c / sum_c w_bc N_c,   w_b ~ Multinomial(C, 1/C)

    with ``S_c`` and ``N_c`` the sum and row count of cluster ``c``. Working
    on per-cluster sums makes each replicate O(C) whatever the number of
    rows. ``clusters=None`` treats every row as its own cluster (the
    ordinary bootstrap). The interval is the ``(alpha/2, 1 - alpha/2)``
    percentile interval (Efron & Tibshirani 1993, ch. 13); with few clusters
    it is too narrow to trust.
    """
    check_alpha(alpha)
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    values_ = as_vector("values", values).astype(float)
    if not np.all(np.isfinite(values_)):
        raise ValueError("values must be finite; drop or impute missing values first")
    n = values_.shape[0]
    nan = float("nan")
    if n == 0:
        return MeanInterval(nan, nan, nan, n=0, n_clusters=0)

    if clusters is None:
        sums, counts = values_, np.ones(n)
    else:
        codes, uniques = pd.factorize(as_vector("clusters", clusters, n))
        if np.any(codes < 0):
            raise ValueError("clusters must not contain missing values")
        sums = np.bincount(codes, weights=values_, minlength=len(uniques))
        counts = np.bincount(codes, minlength=len(uniques)).astype(float)
    n_clusters = sums.shape[0]
    value = float(values_.mean())
    if n_boot == 0:
        return MeanInterval(value, nan, nan, n=n, n_clusters=n_clusters)

    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    block = max(1, _BOOTSTRAP_BLOCK_CELLS // n_clusters)
    equal_sizes = bool(np.all(counts == counts[0]))  # e.g. one row per cluster
    for start in range(0, n_boot, block):
        stop = min(start + block, n_boot)
        drawn = rng.integers(0, n_clusters, size=(stop - start, n_clusters))
        totals = sums[drawn].sum(axis=1)
        rows = n if equal_sizes else counts[drawn].sum(axis=1)
        means[start:stop] = totals / rows
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return MeanInterval(value, float(low), float(high), n=n, n_clusters=n_clusters)
