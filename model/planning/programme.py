"""One batch of clients planned into the month's seats, as an integer programme solved with HiGHS.

Each client awaiting a decision gets at most one service (or
`no_new_service`) so that the total expected uplift is largest, subject to
every service's seats and every eligibility rule. This is the batch
assignment of Annie MOORE, the matching system of HIAS's refugee
resettlement (Ahani, Gölz, Procaccia, Teytelboym and Trapp, "Dynamic
placement in refugee resettlement", Operations Research 72(3), 2024), and of
GeoMatch's online version (Bansak and Paulson, "Outcome-driven dynamic
refugee assignment with allocation balancing", Operations Research 72(6),
2024); Polku optimises the router's causal uplift rather than a predicted
outcome, and keeps the catalogue's eligibility rules as hard constraints.

The programme, with x[i, a] = 1 when client i is planned action a:

    maximise   sum_ia (u[i, a] - price[a] - M * excess[i, a]) x[i, a]
               - balance * sum_s over[s]
    subject to sum_a x[i, a] = 1                      for every client
               sum_i x[i, s] <= seats[s]              for every limited service
               sum_i x[i, s] - over[s] <= pace * seats[s]   (only with balance > 0)
               x[i, a] = 0 where a is not eligible for i

- `u` is the expected uplift against `no_new_service` (0 for it).
- `price[a]` is what a seat of a is worth to the clients expected in later
  periods (`model.planning.prices`): a seat goes now only to a client who
  gains more than that. It suits seats that last over the periods.
- Seats that lapse at the end of the month are better kept for later by the
  clients: `waiting_value[i]` is what client i can expect from a later seat,
  net of its price (`model.planning.prices.waiting_values`), and is the
  score of `no_new_service` (keep waiting) for them, so a client takes a
  seat now only when it is worth more than waiting, and a seat goes to whom
  it helps most against their own alternative.
- `excess[i, a]` is how far a falls more than `max_shortfall` below the
  client's own best option; the large weight M makes the planner keep every
  client within the limit whenever the seats allow it, and otherwise makes
  the largest shortfall as small as it can before it looks at the total.
- `balance` charges every seat used beyond `pace` of the month's seats, so a
  batch planned early in the month does not take every seat from the clients
  who come later (GeoMatch's allocation balancing).

A client planned `no_new_service` whose own best option is a service had no
seat this month: they keep waiting and are planned again with the next
batch. Candidates are the eligible actions the router does not flag as
resting on thin evidence, plus the client's own best option and
`no_new_service`, so a plan never rests on less evidence than the
recommendation itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix, vstack

from model.errors import PlanningError
from model.vocab import NO_NEW_SERVICE

# Weight of a unit of shortfall beyond the limit: larger than any total of
# uplifts the batch could gain by breaking it (uplifts are at most 1 each).
_SHORTFALL_WEIGHT: Final = 1_000.0
# Relative optimality gap accepted from HiGHS: far below what the uplifts' own
# uncertainty can tell apart.
MIP_GAP: Final = 1e-4
DEFAULT_TIME_LIMIT: Final = 60.0


@dataclass(frozen=True)
class PlanOptions:
    """How a batch is planned; the defaults plan the month on its own."""

    prices: Mapping[str, float] | None = None
    waiting_value: np.ndarray | None = None
    balance: float = 0.0
    pace: float = 1.0
    max_shortfall: float | None = None
    time_limit: float = DEFAULT_TIME_LIMIT

    def __post_init__(self) -> None:
        if self.balance < 0:
            raise PlanningError("the balancing weight must be 0 or more")
        if not 0 < self.pace <= 1:
            raise PlanningError("the pace must be a share of the month's seats in (0, 1]")
        if self.max_shortfall is not None and self.max_shortfall < 0:
            raise PlanningError("the limit on the uplift given up must be 0 or more")
        if self.prices is not None and any(v < 0 for v in self.prices.values()):
            raise PlanningError("a seat's price must be 0 or more")
        if self.waiting_value is not None and np.any(np.asarray(self.waiting_value) < 0):
            raise PlanningError("a client's value of waiting must be 0 or more")


@dataclass(frozen=True)
class BatchPlan:
    """A planned batch: per client the planned action and their own best option (action indices)."""

    client_ids: tuple[str, ...]
    actions: tuple[str, ...]
    planned: np.ndarray
    best: np.ndarray
    uplift: np.ndarray
    seats: Mapping[str, int | None]
    objective: float

    @property
    def planned_uplift(self) -> np.ndarray:
        return self.uplift[np.arange(len(self.planned)), self.planned]

    @property
    def best_uplift(self) -> np.ndarray:
        return self.uplift[np.arange(len(self.best)), self.best]

    @property
    def given_up(self) -> np.ndarray:
        """Expected uplift each client gives up against their own best option."""
        return self.best_uplift - self.planned_uplift

    @property
    def waiting(self) -> np.ndarray:
        """Clients with no seat this month: planned `no_new_service`, but their best is a service."""
        reference = self.actions.index(NO_NEW_SERVICE)
        return (self.planned == reference) & (self.best != reference)

    def seats_used(self) -> dict[str, int]:
        counts = np.bincount(self.planned, minlength=len(self.actions))
        return {a: int(counts[j]) for j, a in enumerate(self.actions) if a != NO_NEW_SERVICE}


def own_best(uplift: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Each client's candidate with the largest uplift (ties: catalogue order)."""
    return np.argmax(np.where(candidates, np.round(uplift, 9), -np.inf), axis=1)


def plan_batch(
    client_ids: Sequence[str],
    uplift: np.ndarray,
    eligible: np.ndarray,
    actions: Sequence[str],
    seats: Mapping[str, int | None],
    *,
    best: np.ndarray | None = None,
    thin: np.ndarray | None = None,
    options: PlanOptions | None = None,
) -> BatchPlan:
    """Plan a batch: `uplift` and `eligible` are (n, A) in `actions` order.

    `best` is each client's own best option (action index; the router's
    first-ranked action), by default the eligible action with the largest
    uplift; `thin` (n, A) marks candidates resting on thin evidence.
    `seats` gives every service's seats this month, None for no limit; a
    service missing from it has no limit. Raises `PlanningError` for a client
    twice, shapes that do not match, or a service that is not an action.
    """
    options = options or PlanOptions()
    actions = tuple(actions)
    ids = tuple(str(c) for c in client_ids)
    n, a_count = len(ids), len(actions)
    _check(ids, uplift, eligible, actions, seats, thin, best)
    reference = actions.index(NO_NEW_SERVICE)
    u = np.array(uplift, dtype=float)
    u[:, reference] = 0.0
    u = np.where(eligible, u, 0.0)
    if best is None:
        best = own_best(u, eligible)
    best = np.asarray(best, dtype=int)
    candidates = np.array(eligible, dtype=bool)
    if thin is not None:
        candidates &= ~thin
    candidates[np.arange(n), best] = True
    candidates[:, reference] = True
    if n == 0:
        return BatchPlan(ids, actions, np.zeros(0, int), best, u, dict(seats), 0.0)
    price = np.zeros(a_count)
    for code, value in (options.prices or {}).items():
        if code in actions and code != NO_NEW_SERVICE:
            price[actions.index(code)] = value
    score = u - price
    if options.waiting_value is not None:
        if np.shape(options.waiting_value) != (n,):
            raise PlanningError("waiting_value must hold one number per client")
        score[:, reference] = np.asarray(options.waiting_value, dtype=float)
    if options.max_shortfall is not None:
        excess = np.maximum(0.0, u[np.arange(n), best][:, None] - u - options.max_shortfall)
        score = score - _SHORTFALL_WEIGHT * excess
    score = np.where(candidates, score, -np.inf)
    limited = [
        (j, int(seats[a]))  # type: ignore[arg-type]
        for j, a in enumerate(actions)
        if a != NO_NEW_SERVICE and seats.get(a) is not None
    ]
    planned = _solve(score, limited, options)
    total = float(score[np.arange(n), planned].sum())
    return BatchPlan(ids, actions, planned, best, u, dict(seats), total)


def _solve(score: np.ndarray, limited: list[tuple[int, int]], options: PlanOptions) -> np.ndarray:
    """The best action of every client under the seats; `score` is -inf where not a candidate.

    A client's best action without a seat limit is always theirs to take, so
    only the limited actions that score higher than it are left to the
    programme. The constraint matrix is an incidence matrix of clients and
    services (totally unimodular), so the optimal vertex of the linear
    relaxation is already whole: HiGHS's dual simplex solves it far faster
    than branch and bound (bench/RESULTS.md). A fractional answer, should
    one ever come, goes to HiGHS's branch and bound (`milp`).
    """
    n, a_count = score.shape
    is_limited = np.zeros(a_count, dtype=bool)
    for j, _ in limited:
        is_limited[j] = True
    free_score = np.where(is_limited, -np.inf, score)
    free_best = np.argmax(free_score, axis=1)
    free_value = free_score[np.arange(n), free_best]
    worth = is_limited & (score > free_value[:, None])
    planned = free_best.copy()
    open_clients = np.flatnonzero(worth.any(axis=1))
    if not len(open_clients):
        return planned
    sub = worth[open_clients]
    sub_rows, sub_cols = np.nonzero(sub)
    rows = np.concatenate([sub_rows, np.arange(len(open_clients))])
    cols = np.concatenate([sub_cols, free_best[open_clients]])
    gain = score[open_clients[rows], cols] - free_value[open_clients[rows]]
    n_open, m = len(open_clients), len(rows)
    k_of = np.full(a_count, -1)
    for k, (j, _) in enumerate(limited):
        k_of[j] = k
    caps = np.array([c for _, c in limited], dtype=float)
    n_over = len(limited) if options.balance > 0 else 0
    n_vars = m + n_over
    one_each = csr_matrix((np.ones(m), (rows, np.arange(m))), shape=(n_open, n_vars))
    var = np.arange(len(sub_rows))
    seat_matrix = csr_matrix(
        (np.ones(len(var)), (k_of[sub_cols], var)), shape=(len(limited), n_vars)
    )
    upper_rows, upper_bounds = [seat_matrix], [caps]
    if n_over:
        over = csr_matrix(
            (-np.ones(n_over), (np.arange(n_over), m + np.arange(n_over))), shape=(n_over, n_vars)
        )
        upper_rows.append(seat_matrix + over)
        upper_bounds.append(options.pace * caps)
    c = np.concatenate([-gain, np.full(n_over, options.balance)])
    upper = np.concatenate([np.ones(m), np.full(n_over, np.inf)])
    a_ub, b_ub = vstack(upper_rows).tocsr(), np.concatenate(upper_bounds)
    result = linprog(
        c,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=one_each,
        b_eq=np.ones(n_open),
        bounds=np.column_stack([np.zeros(n_vars), upper]),
        method="highs-ds",
        options={"time_limit": options.time_limit},
    )
    x = result.x
    if x is None or np.any(np.abs(x[:m] - np.round(x[:m])) > 1e-6):
        x = _branch_and_bound(c, a_ub, b_ub, one_each, n_open, m, upper, options)
    chosen = x[:m] > 0.5
    planned[open_clients[rows[chosen]]] = cols[chosen]
    return planned


def _branch_and_bound(
    c: np.ndarray,
    a_ub: csr_matrix,
    b_ub: np.ndarray,
    one_each: csr_matrix,
    n_open: int,
    m: int,
    upper: np.ndarray,
    options: PlanOptions,
) -> np.ndarray:
    result = milp(
        c,
        constraints=[
            LinearConstraint(one_each, np.ones(n_open), np.ones(n_open)),
            LinearConstraint(a_ub, -np.inf, b_ub),
        ],
        integrality=np.concatenate([np.ones(m), np.zeros(len(c) - m)]),
        bounds=Bounds(np.zeros(len(c)), upper),
        options={"time_limit": options.time_limit, "mip_rel_gap": MIP_GAP},
    )
    if result.x is None:
        raise PlanningError(f"the planning programme found no plan: {result.message}")
    return np.asarray(result.x)


def _check(
    ids: tuple[str, ...],
    uplift: np.ndarray,
    eligible: np.ndarray,
    actions: tuple[str, ...],
    seats: Mapping[str, int | None],
    thin: np.ndarray | None,
    best: np.ndarray | None,
) -> None:
    n, a_count = len(ids), len(actions)
    if NO_NEW_SERVICE not in actions:
        raise PlanningError(f"the actions must include {NO_NEW_SERVICE}")
    for name, matrix in (("uplift", uplift), ("eligible", eligible), ("thin", thin)):
        if matrix is not None and np.shape(matrix) != (n, a_count):
            raise PlanningError(f"{name} must be one row per client and one column per action")
    if best is not None and np.shape(best) != (n,):
        raise PlanningError("best must hold one action per client")
    if not np.all(np.isfinite(uplift[np.asarray(eligible, dtype=bool)])):
        raise PlanningError("an eligible action's uplift is missing or not finite")
    seen: dict[str, int] = {}
    for row, client in enumerate(ids, start=1):
        if client in seen:
            raise PlanningError(
                f"a client appears twice in the batch (rows {seen[client]} and {row})"
            )
        seen[client] = row
    for code, value in seats.items():
        if code not in actions or code == NO_NEW_SERVICE:
            raise PlanningError(
                f"seats are given for {code!r}, which is not a service of the catalogue"
            )
        if value is not None and value < 0:
            raise PlanningError(f"seats for {code!r} are negative ({value})")
