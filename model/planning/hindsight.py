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
the months of the period are open to them, still counted from m_i. A
service may have no limit in a month; a client's best such action, started
in their first open month, is theirs to take whatever the others get, so
only the actions that gain more than it compete for seats.
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
    seat_value: np.ndarray  # (months, A): dual value of a seat; 0 without a limit
    free: np.ndarray  # (n,): the best action without a limit (no_new_service: none)


def solve_period(
    uplift: np.ndarray,
    eligible: np.ndarray,
    actions: Sequence[str],
    arrival_month: np.ndarray,
    seats: Sequence[Mapping[str, int | None]],
    *,
    decay: float,
    max_wait: int,
) -> PeriodSolution:
    """The linear relaxation of the period programme (whole at its optimum; see above).

    `seats[t][s]` None: service s has no limit in month t (a service missing
    from the mapping has no seats). A client's best action without a limit,
    at their first open month, is always theirs to take, so only the limited
    actions that gain more than it enter the programme, scored by how much
    more; `PeriodSolution.free` holds that alternative.
    """
    actions = tuple(actions)
    n, a_count = np.shape(uplift)
    months = len(seats)
    reference = actions.index(NO_NEW_SERVICE)
    arrival_month = np.asarray(arrival_month, dtype=int)
    u = np.where(eligible, np.asarray(uplift, dtype=float), -np.inf)
    u[:, reference] = 0.0
    start = np.maximum(arrival_month, 0)
    open_at_all = (start < months) & (start - arrival_month <= max_wait)
    # The best action without a limit in the first month open to the client.
    free_action = np.full(n, reference)
    free_value = np.zeros(n)
    first = np.minimum(start, months - 1)
    for j, code in enumerate(actions):
        if j == reference:
            continue
        unlimited = np.array([seats[m].get(code, 0) is None for m in range(months)])
        value = u[:, j] * decay ** (start - arrival_month)
        better = open_at_all & unlimited[first] & (value > free_value)
        free_action[better] = j
        free_value[better] = value[better]
    rows, cols, times, gains = [], [], [], []
    for wait in range(max_wait + 1):
        t = arrival_month + wait
        ok = (t >= 0) & (t < months)
        value = u * decay**wait
        good = ok[:, None] & (value > free_value[:, None])
        good[:, reference] = False
        i, a = np.nonzero(good)
        rows.append(i)
        cols.append(a)
        times.append(t[i])
        gains.append(value[i, a] - free_value[i])
    i = np.concatenate(rows)
    a = np.concatenate(cols)
    t = np.concatenate(times)
    g = np.concatenate(gains)
    seat_value = np.zeros((months, a_count))
    if not len(i):
        return PeriodSolution(i, a, t, np.zeros(0), seat_value, free_action)
    # One seat row per limited (service, month) that some client may take.
    limit = np.array(
        [[_seats_or_nan(seats[m].get(code, 0)) for m in range(months)] for code in actions]
    ).ravel()  # (action, month), action first; NaN: no limit
    key = a * months + t
    used = np.unique(key)
    used = used[~np.isnan(limit[used])]
    slot_index = np.full(a_count * months, -1)
    slot_index[used] = np.arange(len(used))
    slot_of = slot_index[key]
    caps = limit[used]
    clients, row_of = np.unique(i, return_inverse=True)
    m_vars = len(i)
    one_each = csr_matrix(
        (np.ones(m_vars), (row_of, np.arange(m_vars))), shape=(len(clients), m_vars)
    )
    held = np.flatnonzero(slot_of >= 0)
    seat_rows = csr_matrix((np.ones(len(held)), (slot_of[held], held)), shape=(len(caps), m_vars))
    result = linprog(
        -g,
        A_ub=vstack([one_each, seat_rows]).tocsr(),
        b_ub=np.concatenate([np.ones(len(clients)), caps]),
        bounds=(0, 1),
        method="highs-ds",
    )
    if result.x is None:
        raise PlanningError(f"the period programme found no plan: {result.message}")
    duals = np.maximum(0.0, -np.asarray(result.ineqlin.marginals)[len(clients) :])
    seat_value[used % months, used // months] = duals
    return PeriodSolution(i, a, t, np.asarray(result.x), seat_value, free_action)


def _seats_or_nan(value: int | None) -> float:
    return np.nan if value is None else float(value)


def plan_period(
    uplift: np.ndarray,
    eligible: np.ndarray,
    actions: Sequence[str],
    arrival_month: np.ndarray,
    seats: Sequence[Mapping[str, int | None]],
    *,
    decay: float,
    max_wait: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(action, month) per client: the action to start and when (-1 and no_new_service: none)."""
    solved = solve_period(
        uplift, eligible, actions, arrival_month, seats, decay=decay, max_wait=max_wait
    )
    if np.any(np.abs(solved.x - np.round(solved.x)) > 1e-6):
        raise PlanningError("the period programme's answer is not whole")
    reference = tuple(actions).index(NO_NEW_SERVICE)
    action = solved.free.copy()
    when = np.where(action != reference, np.maximum(np.asarray(arrival_month), 0), -1)
    chosen = solved.x > 0.5
    action[solved.client[chosen]] = solved.action[chosen]
    when[solved.client[chosen]] = solved.month[chosen]
    return action, when
