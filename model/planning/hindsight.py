"""The period programme: every month of a period planned at once with every arrival known.

With the real arrivals it is the hindsight optimum: no planner can do better
with the same expected uplifts, so it is the yard stick of a backtest (Annie
MOORE's 98 % is measured against it). With a forecast of arrivals it prices
the seats of later months (`model.planning.prices.month_prices`). Client i,
arriving in month m_i, may start action a in any month t from m_i to
m_i + max_wait, keeping `decay ** (t - m_i)` of its expected uplift; every
service has its seats in every month:

    maximise   Σ u[i, a] · decay^(t - m_i) · y[i, a, t]
    subject to Σ_(a, t) y[i, a, t] <= 1                 for every client
               Σ_i y[i, s, t] <= seats[t][s]            for every service and month

A client who arrived before the period (m_i < 0) has waited already: only
the months of the period are open to them, still counted from m_i.
Clients and (service, month) pairs form a bipartite graph, so the linear
relaxation's optimal corner is whole and HiGHS's dual simplex solves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack

from model.errors import PlanningError
from model.vocab import NO_NEW_SERVICE


@dataclass(frozen=True)
class PeriodSolution:
    """The solved programme: per (client, action, month) variable its value; per seat its dual."""

    client: np.ndarray
    action: np.ndarray
    month: np.ndarray
    x: np.ndarray
    seat_value: np.ndarray  # (months, A): dual value of a seat; 0 for no_new_service


def solve_period(
    uplift: np.ndarray,
    eligible: np.ndarray,
    actions: Sequence[str],
    arrival_month: np.ndarray,
    seats: Sequence[Mapping[str, int]],
    *,
    decay: float,
    max_wait: int,
) -> PeriodSolution:
    """The linear relaxation of the period programme (whole at its optimum; see above)."""
    actions = tuple(actions)
    n, a_count = np.shape(uplift)
    months = len(seats)
    reference = actions.index(NO_NEW_SERVICE)
    arrival_month = np.asarray(arrival_month, dtype=int)
    rows, cols, times, gains = [], [], [], []
    for wait in range(max_wait + 1):
        t = arrival_month + wait
        ok = (t >= 0) & (t < months)
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
    seat_value = np.zeros((months, a_count))
    if not len(i):
        return PeriodSolution(i, a, t, np.zeros(0), seat_value)
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
        raise PlanningError(f"the period programme found no plan: {result.message}")
    duals = np.maximum(0.0, -np.asarray(result.ineqlin.marginals)[n:])
    for (j, m), k in slot.items():
        seat_value[m, j] = duals[k]
    return PeriodSolution(i, a, t, np.asarray(result.x), seat_value)


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
    n = len(uplift)
    action = np.full(n, tuple(actions).index(NO_NEW_SERVICE))
    when = np.full(n, -1)
    solved = solve_period(
        uplift, eligible, actions, arrival_month, seats, decay=decay, max_wait=max_wait
    )
    if np.any(np.abs(solved.x - np.round(solved.x)) > 1e-6):
        raise PlanningError("the period programme's answer is not whole")
    chosen = solved.x > 0.5
    action[solved.client[chosen]] = solved.action[chosen]
    when[solved.client[chosen]] = solved.month[chosen]
    return action, when
