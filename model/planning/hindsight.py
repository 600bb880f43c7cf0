"""The hindsight optimum: a whole period planned at once with every arrival known.

No planner can do better with the same expected uplifts, so it is the yard
stick of a backtest (Annie MOORE's 98 % is measured against it). Client i,
arriving in month m_i, may start action a in any month t from m_i to
m_i + max_wait, keeping `decay ** (t - m_i)` of its expected uplift; every
service has its seats in every month:

    maximise   Σ u[i, a] · decay^(t - m_i) · y[i, a, t]
    subject to Σ_(a, t) y[i, a, t] <= 1                 for every client
               Σ_i y[i, s, t] <= seats[t][s]            for every service and month

Clients and (service, month) pairs form a bipartite graph, so the linear
relaxation's optimal corner is whole and HiGHS's dual simplex solves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack

from model.errors import PlanningError
from model.vocab import NO_NEW_SERVICE


def plan_period(
    uplift: np.ndarray,
    eligible: np.ndarray,
    actions: Sequence[str],
    arrival_month: np.ndarray,
    seats: Sequence[Mapping[str, int]],
    *,
    decay: float,
    max_wait: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(action, month) per client: the action to start and when (-1 and no_new_service: none)."""
    actions = tuple(actions)
    n, a_count = np.shape(uplift)
    months = len(seats)
    reference = actions.index(NO_NEW_SERVICE)
    action = np.full(n, reference)
    when = np.full(n, -1)
    rows, cols, times, gains = [], [], [], []
    for wait in range(max_wait + 1):
        t = arrival_month + wait
        ok = t < months
        good = eligible & (uplift > 0) & ok[:, None]
        good[:, reference] = False
        i, a = np.nonzero(good)
        rows.append(i)
        cols.append(a)
        times.append(t[i])
        gains.append(uplift[i, a] * decay**wait)
    i = np.concatenate(rows)
    a = np.concatenate(cols)
    t = np.concatenate(times)
    g = np.concatenate(gains)
    if not len(i):
        return action, when
    limited = [j for j in range(a_count) if j != reference]
    slot = {(j, m): k for k, (j, m) in enumerate((j, m) for j in limited for m in range(months))}
    slot_of = np.array([slot[(int(x), int(y))] for x, y in zip(a, t, strict=True)])
    caps = np.array([float(seats[m].get(actions[j], 0)) for j in limited for m in range(months)])
    m_vars = len(i)
    one_each = csr_matrix((np.ones(m_vars), (i, np.arange(m_vars))), shape=(n, m_vars))
    seat_rows = csr_matrix(
        (np.ones(m_vars), (slot_of, np.arange(m_vars))), shape=(len(caps), m_vars)
    )
    result = linprog(
        -g,
        A_ub=vstack([one_each, seat_rows]).tocsr(),
        b_ub=np.concatenate([np.ones(n), caps]),
        bounds=(0, 1),
        method="highs-ds",
    )
    if result.x is None:
        raise PlanningError(f"the hindsight programme found no plan: {result.message}")
    if np.any(np.abs(result.x - np.round(result.x)) > 1e-6):
        raise PlanningError("the hindsight programme's answer is not whole")
    chosen = result.x > 0.5
    action[i[chosen]] = a[chosen]
    when[i[chosen]] = t[chosen]
    return action, when
