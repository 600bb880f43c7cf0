"""The doubly-robust average effect of one action against a reference action.

What the outcomes say a service does compared with no new service, once
the propensities are accounted for: the figure an evaluator compares with a
trial's known effect (docs/evaluation.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from model.evaluation.bootstrap import MeanInterval, bootstrap_mean_interval
from model.evaluation.inputs import as_matrix
from model.evaluation.policy_value import dr_terms


@dataclass(frozen=True, slots=True)
class AverageEffect(MeanInterval):
    """A doubly-robust average effect of one action against a reference action.

    Over the ``n`` rows where both actions were eligible; ``n_taken`` and
    ``n_reference`` rows there took the action and the reference. ``value``,
    ``low`` and ``high`` are NaN when either count is below the minimum the
    caller asked for: an average effect resting on a handful of clients is
    neither stable nor safe to publish.
    """

    n_taken: int = 0
    n_reference: int = 0


def effect_terms(
    *,
    y: npt.ArrayLike,
    taken: npt.ArrayLike,
    mu: npt.ArrayLike,
    propensity: npt.ArrayLike,
    action: int,
    reference: int,
    clip: float = 0.01,
) -> np.ndarray:
    """Per-row doubly-robust (AIPW) terms of the effect of ``action`` against ``reference``::

        psi_i = mu[i, a] - mu[i, r]
                + 1[taken_i = a] (y_i - mu[i, a]) / max(propensity[i, a], clip)
                - 1[taken_i = r] (y_i - mu[i, r]) / max(propensity[i, r], clip)

    the difference of two :func:`~model.evaluation.policy_value.dr_terms`
    (Robins, Rotnitzky & Zhao 1994; Kennedy 2023, "Towards optimal doubly
    robust estimation of heterogeneous causal effects", EJS, whose DR-learner
    regresses these same pseudo-outcomes). Their mean estimates the average
    effect over the rows given; with randomised assignment, where the
    propensities are known, it is unbiased whatever the outcome model.
    """
    propensity_ = as_matrix("propensity", propensity)
    n, n_actions = propensity_.shape
    for name, value in (("action", action), ("reference", reference)):
        if not 0 <= value < n_actions:
            raise ValueError(f"{name} must be an action index in 0..{n_actions - 1}, got {value}")
    return dr_terms(
        y=y,
        taken=taken,
        mu=mu,
        propensity=propensity_,
        recommended=np.full(n, action),
        clip=clip,
    ) - dr_terms(
        y=y,
        taken=taken,
        mu=mu,
        propensity=propensity_,
        recommended=np.full(n, reference),
        clip=clip,
    )


def average_effect(
    *,
    y: npt.ArrayLike,
    taken: npt.ArrayLike,
    mu: npt.ArrayLike,
    propensity: npt.ArrayLike,
    action: int,
    reference: int,
    clusters: npt.ArrayLike | None,
    min_count: int = 1,
    n_boot: int = 200,
    seed: int = 0,
    clip: float = 0.01,
    alpha: float = 0.05,
) -> AverageEffect:
    """Doubly-robust average effect of ``action`` against ``reference``, with a
    cluster-bootstrap interval (see :func:`effect_terms`).

    The caller passes only the rows where both actions were eligible. NaN
    figures when fewer than ``min_count`` rows took either action. Like
    :func:`~model.evaluation.policy_value.dr_policy_value`, the interval
    holds the fitted models fixed, and it assumes no hidden confounding:
    with observational data it is a statement about the adjusted contrast,
    not proof of a causal effect.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    taken_ = np.asarray(taken)
    n_taken = int(np.sum(taken_ == action))
    n_reference = int(np.sum(taken_ == reference))
    if min(n_taken, n_reference) < min_count:
        nan = float("nan")
        n = int(taken_.shape[0]) if taken_.ndim else 0
        n_clusters = 0 if clusters is None else len(pd.unique(np.asarray(clusters, dtype=object)))
        return AverageEffect(nan, nan, nan, n, n_clusters, n_taken, n_reference)
    terms = effect_terms(
        y=y,
        taken=taken_,
        mu=mu,
        propensity=propensity,
        action=action,
        reference=reference,
        clip=clip,
    )
    interval = bootstrap_mean_interval(terms, clusters, n_boot=n_boot, seed=seed, alpha=alpha)
    return AverageEffect(
        interval.value,
        interval.low,
        interval.high,
        interval.n,
        interval.n_clusters,
        n_taken,
        n_reference,
    )
