"""Ranking candidate actions for a decision point.

Only eligible actions are candidates; `no_new_service` always is. Actions are
ordered by predicted probability of a good outcome. An action that the
historical caseworkers almost never chose for clients like this one rests on
little evidence: it is flagged and never put first while a better-supported
action exists (the overlap guard). Ties break by catalogue order, so the same
input always gives the same ranking.
"""

from __future__ import annotations

import numpy as np

# Below this estimated historical probability an action counts as thin support
# ("clients like this one almost never received it"). Measured on 50 000-client
# simulated worlds: with the default confounding the guard costs no policy
# value up to 0.01; with twice the confounding, capture is 0.74 at 0.002, 0.68
# at 0.005 and 0.42 at 0.01, because rigid historical habits leave good
# actions with little evidence.
DEFAULT_MIN_SUPPORT = 0.002


def rank_actions(
    p: np.ndarray,
    eligible: np.ndarray,
    support: np.ndarray,
    *,
    min_support: float = DEFAULT_MIN_SUPPORT,
) -> np.ndarray:
    """(n, A) action indices in rank order; ineligible actions are -1 at the end."""
    n, a_count = p.shape
    # Round so that floating noise does not decide ties; catalogue order does.
    score = np.where(eligible, np.round(p, 9), -np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(a_count), (n, a_count)), -score), axis=1)
    thin = support < min_support
    first = order[:, 0]
    rows = np.arange(n)
    first_thin = thin[rows, first] & eligible[rows, first]
    if first_thin.any():
        for i in np.flatnonzero(first_thin):
            candidates = [a for a in order[i] if eligible[i, a] and not thin[i, a]]
            if candidates:
                best = candidates[0]
                order[i] = [best, *[a for a in order[i] if a != best]]
    ranked = np.where(np.take_along_axis(eligible, order, axis=1), order, -1)
    # Keep -1 padding at the end (ineligible actions sort last already).
    return ranked
