"""What a seat is worth to the clients who come later: prices from the linear relaxation.

A batch planned on its own gives every seat to someone now, even when a
client expected next month would gain much more from it. Annie MOORE
(Ahani et al., Operations Research 2024) prices each place by the dual value
of its capacity in the linear relaxation of the assignment over the current
cases and a forecast of the arrivals still to come; the weekly integer
programme then charges that price for every place it uses, so a place goes
now only to a case that gains more than the place is worth later.

Here the relaxation pools the seats of this month and the later months of
the horizon, and the clients awaiting a decision now with the forecast
arrivals of those months (each forecast client stands for `weight` clients;
a month like a past one is a plain forecast). The price of a service is the
dual value of its pooled seats: 0 where the seats suffice for everyone who
would gain from them.

`month_prices` prices every month's seats on their own instead, with the
period programme (`model.planning.hindsight`) over the same clients: a
seat lapses with its month, a wait is bounded and each month waited costs
its share of the uplift, so a month that the forecast expects to be quiet
gets cheap seats even when the months around it are full. With it,
`waiting_values_by_month` weighs each later month's seat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack

from model.errors import PlanningError
from model.planning.hindsight import solve_period
from model.vocab import NO_NEW_SERVICE

# Share of a start's expected uplift kept when it comes a month later: time out
# of work lowers the chance of finding it, and a plan goes stale. A planning
# assumption, set per run (`polku plan --wait-decay`).
DEFAULT_WAIT_DECAY: Final = 0.85


def seat_prices(
    uplift: np.ndarray,
    eligible: np.ndarray,
    actions: Sequence[str],
    seats: Sequence[Mapping[str, int | None]],
    *,
    weight: np.ndarray | None = None,
) -> dict[str, float]:
    """The price of a seat of every limited service over the horizon.

    `uplift` and `eligible` (n, A) hold the clients now and the forecast
    ones; `weight` (n,) how many clients each row stands for (1 by default);
    `seats` one mapping per month of the horizon (this month first). A
    service without a limit in any month of the horizon has price 0.
    """
    actions = tuple(actions)
    n, a_count = np.shape(uplift)
    if np.shape(eligible) != (n, a_count):
        raise PlanningError("eligible must have the shape of uplift")
    if not seats:
        raise PlanningError("the horizon needs at least one month of seats")
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=float)
    if w.shape != (n,) or np.any(w < 0):
        raise PlanningError("weight must hold one non-negative number per client")
    reference = actions.index(NO_NEW_SERVICE)
    pooled: dict[int, float] = {}
    for j, code in enumerate(actions):
        if j == reference:
            continue
        values = [month.get(code) for month in seats]
        if all(v is not None for v in values):
            pooled[j] = float(sum(v for v in values if v is not None))
    prices = {code: 0.0 for j, code in enumerate(actions) if j != reference}
    if not pooled or n == 0:
        return prices
    u = np.where(eligible, np.asarray(uplift, dtype=float), -np.inf)
    u[:, reference] = 0.0
    # Only limited services a client prefers to every unlimited one compete for seats.
    limited = np.zeros(a_count, dtype=bool)
    limited[list(pooled)] = True
    free_value = np.where(limited, -np.inf, u).max(axis=1)
    worth = limited & (u > free_value[:, None])
    open_rows = np.flatnonzero(worth.any(axis=1))
    if not len(open_rows):
        return prices
    rows, cols = np.nonzero(worth[open_rows])
    gain = u[open_rows[rows], cols] - free_value[open_rows[rows]]
    m = len(rows)
    index = {j: k for k, j in enumerate(pooled)}
    seat_rows = np.array([index[int(j)] for j in cols])
    at_most_one = csr_matrix((np.ones(m), (rows, np.arange(m))), shape=(len(open_rows), m))
    seat_matrix = csr_matrix((np.ones(m), (seat_rows, np.arange(m))), shape=(len(pooled), m))
    result = linprog(
        -gain,
        A_ub=vstack([at_most_one, seat_matrix]).tocsr(),
        b_ub=np.concatenate([w[open_rows], np.array(list(pooled.values()))]),
        bounds=(0, None),
        method="highs-ds",
    )
    if result.status != 0:
        raise PlanningError(f"the pricing programme found no answer: {result.message}")
    duals = -np.asarray(result.ineqlin.marginals)[len(open_rows) :]
    for j, k in index.items():
        prices[actions[j]] = max(0.0, float(duals[k]))
    return prices


def waiting_values(
    uplift: np.ndarray,
    candidates: np.ndarray,
    actions: Sequence[str],
    prices: Mapping[str, float],
    *,
    decay: float,
) -> np.ndarray:
    """Per client: the most a seat next month may give them, net of its price (0 or more).

    A start a month later keeps `decay` of the expected uplift (waiting
    costs); the seat costs its price, the value it has for the clients the
    forecast expects. When seats lapse at the end of every month, this is
    what the month's programme weighs a seat now against.
    """
    actions = tuple(actions)
    reference = actions.index(NO_NEW_SERVICE)
    price = np.array(
        [prices.get(code, 0.0) if j != reference else 0.0 for j, code in enumerate(actions)]
    )
    net = np.where(candidates, decay * np.asarray(uplift, dtype=float) - price, -np.inf)
    net[:, reference] = 0.0
    return np.maximum(0.0, net.max(axis=1))


def month_prices(
    uplift: np.ndarray,
    eligible: np.ndarray,
    actions: Sequence[str],
    arrival_month: np.ndarray,
    seats: Sequence[Mapping[str, int | None]],
    *,
    decay: float,
    max_wait: int,
) -> list[dict[str, float]]:
    """The price of a seat in every month of the horizon, month by month (this month first).

    A month's price of a service is the dual value of its seats in the period
    programme (`model.planning.hindsight`) over the clients waiting now
    (`arrival_month` 0 or less: the months they have waited, with `uplift`
    as at their arrival) and the forecast arrivals of the later months
    (`arrival_month` k for the k-th month after this one). Unlike the pooled
    relaxation of `seat_prices`, a seat lapses with its month and a client's
    wait is bounded and costs `decay` a month. A service without a limit in
    a month (None) has price 0 in it.
    """
    solved = solve_period(
        uplift, eligible, actions, arrival_month, seats, decay=decay, max_wait=max_wait
    )
    reference = tuple(actions).index(NO_NEW_SERVICE)
    return [
        {code: float(solved.seat_value[m, j]) for j, code in enumerate(actions) if j != reference}
        for m in range(len(seats))
    ]


def waiting_values_by_month(
    uplift: np.ndarray,
    candidates: np.ndarray,
    actions: Sequence[str],
    prices: Sequence[Mapping[str, float]],
    *,
    decay: float,
    months_left: np.ndarray,
) -> np.ndarray:
    """Per client: the most a seat in one of the next months may give them, net of its price.

    `uplift` is the expected uplift of a start now; `prices[k - 1]` the
    price of a seat k months later, when the start keeps `decay ** k` of it;
    a client can wait at most `months_left` more months (0: no later seat).
    """
    actions = tuple(actions)
    reference = actions.index(NO_NEW_SERVICE)
    u = np.asarray(uplift, dtype=float)
    left = np.asarray(months_left)
    best = np.zeros(len(u))
    for k, month in enumerate(prices, start=1):
        price = np.array(
            [month.get(code, 0.0) if j != reference else 0.0 for j, code in enumerate(actions)]
        )
        net = np.where(candidates, decay**k * u - price, -np.inf)
        net[:, reference] = 0.0
        best = np.where(left >= k, np.maximum(best, net.max(axis=1)), best)
    return best
