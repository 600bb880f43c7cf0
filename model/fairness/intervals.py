"""95 % intervals for the fairness report's group rates and the gaps between groups.

Two kinds of figure, two methods:

- **Means over decision points** (the observed rate, the mean prediction, the
  expected outcomes under history and under Polku, the gain): a client can
  have several decision points, so rows are not independent. Their interval
  is the cluster-bootstrap percentile interval that resamples whole clients
  (`model.evaluation.bootstrap_mean_interval`; Efron & Tibshirani 1993,
  ch. 13; Field & Welsh 2007, "Bootstrapping clustered data", JRSS B 69).
  The interval of a gap between two groups resamples the clients of each
  group independently (the groups partition the clients) and takes the
  percentiles of the difference of the two means.
- **Override rates** (overrides out of decisions): the Wilson score interval
  (Wilson 1927, "Probable inference, the law of succession, and statistical
  inference", JASA 22), which keeps its coverage near 95 % for small counts
  and rates near 0 or 1, where the normal approximation fails (Brown, Cai &
  DasGupta 2001). The gap between two groups' override rates gets Newcombe's
  hybrid score interval for a difference of independent proportions
  (Newcombe 1998, "Interval estimation for the difference between
  independent proportions", Statistics in Medicine 17, method 10), built
  from the two Wilson intervals. Both treat decisions as independent, which
  they nearly are (a client rarely has more than one decision).

A gap's interval is for the difference between the two groups that define
it (the highest and the lowest published value): it says how sure the
difference between those two groups is, not how sure it is that they are the
highest and the lowest.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from model.evaluation import bootstrap_mean_interval

Interval = tuple[float, float]
NO_INTERVAL: Interval = (float("nan"), float("nan"))


def _z(alpha: float) -> float:
    return float(norm.ppf(1 - alpha / 2))


def wilson_interval(successes: int, n: int, alpha: float = 0.05) -> Interval:
    """The Wilson score interval of a proportion `successes / n` (NaN when n is 0)."""
    if n <= 0:
        return NO_INTERVAL
    z = _z(alpha)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05) -> Interval:
    """Newcombe's hybrid score interval of ``x1/n1 - x2/n2`` (independent proportions)."""
    if n1 <= 0 or n2 <= 0:
        return NO_INTERVAL
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, alpha)
    l2, u2 = wilson_interval(x2, n2, alpha)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


def mean_interval(
    values: np.ndarray, clients: np.ndarray, *, n_boot: int, seed: int, alpha: float
) -> Interval:
    """Cluster-bootstrap interval of the mean of the finite `values` (clients resampled)."""
    finite = np.isfinite(values)
    if not finite.any() or n_boot <= 0:
        return NO_INTERVAL
    result = bootstrap_mean_interval(
        values[finite], clients[finite], n_boot=n_boot, seed=seed, alpha=alpha
    )
    return result.low, result.high


def _replicate_means(
    values: np.ndarray, clients: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """`n_boot` cluster-bootstrap replicates of the mean of `values`."""
    codes, uniques = pd.factorize(clients)
    sums = np.bincount(codes, weights=values, minlength=len(uniques))
    counts = np.bincount(codes, minlength=len(uniques)).astype(float)
    weights = rng.multinomial(len(uniques), np.full(len(uniques), 1 / len(uniques)), n_boot)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ sums) / (weights @ counts)


def difference_interval(
    values: np.ndarray,
    clients: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    *,
    n_boot: int,
    seed: int,
    alpha: float,
) -> Interval:
    """Interval of mean(values | first) − mean(values | second), each group's clients resampled.

    `first` and `second` are row masks of two groups with no client in common.
    """
    finite = np.isfinite(values)
    a, b = first & finite, second & finite
    if n_boot <= 0 or not a.any() or not b.any():
        return NO_INTERVAL
    rng = np.random.default_rng(seed)
    replicates = _replicate_means(values[a], clients[a], n_boot, rng) - _replicate_means(
        values[b], clients[b], n_boot, rng
    )
    replicates = replicates[np.isfinite(replicates)]
    if not replicates.size:
        return NO_INTERVAL
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
