"""The hindsight optimum over a period, against brute force on small cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from model.planning.hindsight import plan_period, solve_period
from model.vocab import NO_NEW_SERVICE

ACTIONS = ("course", NO_NEW_SERVICE)


def test_a_later_client_who_gains_more_gets_the_seat_and_the_first_waits_for_the_next() -> None:
    uplift = np.array([[0.10, 0.0], [0.30, 0.0]])
    action, when = plan_period(
        uplift,
        np.ones((2, 2), bool),
        ACTIONS,
        np.array([0, 0]),
        [{"course": 1}, {"course": 1}],
        decay=0.5,
        max_wait=1,
    )
    assert action.tolist() == [0, 0]
    assert when.tolist() == [1, 0]


@pytest.mark.parametrize("seed", range(8))
def test_no_assignment_of_seats_over_the_months_does_better(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, months = 4, 2
    uplift = np.column_stack([rng.uniform(-0.1, 0.4, n), np.zeros(n)])
    arrival = rng.integers(0, months, n)
    seats = [{"course": int(rng.integers(0, 3))} for _ in range(months)]
    action, when = plan_period(
        uplift, np.ones((n, 2), bool), ACTIONS, arrival, seats, decay=0.8, max_wait=1
    )
    for m in range(months):
        assert np.sum((action == 0) & (when == m)) <= seats[m]["course"]
    got = sum(uplift[i, 0] * 0.8 ** (when[i] - arrival[i]) for i in range(n) if action[i] == 0)
    best = 0.0
    for choice in itertools.product([-1, 0, 1], repeat=n):
        if any(c >= 0 and not (arrival[i] <= c <= arrival[i] + 1) for i, c in enumerate(choice)):
            continue
        if any(choice.count(m) > seats[m]["course"] for m in range(months)):
            continue
        best = max(
            best,
            sum(uplift[i, 0] * 0.8 ** (c - arrival[i]) for i, c in enumerate(choice) if c >= 0),
        )
    assert got == pytest.approx(best, abs=1e-9)


def test_a_client_who_arrived_before_the_period_keeps_only_the_rest_of_their_wait() -> None:
    # Arrived two months before the period with a wait of at most 2: only the
    # first month is open, at 0.5 ** 2 of the uplift.
    uplift = np.array([[0.40, 0.0], [0.20, 0.0]])
    action, when = plan_period(
        uplift,
        np.ones((2, 2), bool),
        ACTIONS,
        np.array([-2, 0]),
        [{"course": 1}, {"course": 1}],
        decay=0.5,
        max_wait=2,
    )
    assert when.tolist() == [0, 1]
    assert action.tolist() == [0, 0]
    _, late = plan_period(
        uplift[:1],
        np.ones((1, 2), bool),
        ACTIONS,
        np.array([-3]),
        [{"course": 1}],
        decay=0.5,
        max_wait=2,
    )
    assert late.tolist() == [-1]


def test_a_service_without_a_limit_is_each_clients_to_take_so_a_seat_goes_to_who_lacks_one() -> (
    None
):
    actions = ("course", "coaching", NO_NEW_SERVICE)
    # a gains almost as much from coaching (no limit) as from the one course
    # seat; b has nothing else.
    uplift = np.array([[0.30, 0.25, 0.0], [0.28, 0.0, 0.0]])
    action, when = plan_period(
        uplift,
        np.ones((2, 3), bool),
        actions,
        np.array([0, 0]),
        [{"course": 1, "coaching": None}],
        decay=0.8,
        max_wait=1,
    )
    assert [actions[j] for j in action] == ["coaching", "course"]
    assert when.tolist() == [0, 0]


@pytest.mark.parametrize("seed", range(8))
def test_with_a_service_without_a_limit_no_assignment_does_better(seed: int) -> None:
    actions = ("course", "coaching", NO_NEW_SERVICE)
    rng = np.random.default_rng(seed)
    n, months, decay = 4, 2, 0.8
    uplift = np.column_stack([rng.uniform(-0.1, 0.4, n), rng.uniform(-0.1, 0.3, n), np.zeros(n)])
    arrival = rng.integers(0, months, n)
    seats = [{"course": int(rng.integers(0, 3)), "coaching": None} for _ in range(months)]
    action, when = plan_period(
        uplift, np.ones((n, 3), bool), actions, arrival, seats, decay=decay, max_wait=1
    )
    for m in range(months):
        assert np.sum((action == 0) & (when == m)) <= seats[m]["course"]
    got = sum(
        uplift[i, action[i]] * decay ** (when[i] - arrival[i]) for i in range(n) if when[i] >= 0
    )
    options = [None] + [(a, w) for a in (0, 1) for w in (0, 1)]
    best = 0.0
    for choice in itertools.product(options, repeat=n):
        if any(c is not None and arrival[i] + c[1] >= months for i, c in enumerate(choice)):
            continue
        if any(
            sum(1 for i, c in enumerate(choice) if c == (0, m - arrival[i])) > seats[m]["course"]
            for m in range(months)
        ):
            continue
        best = max(
            best,
            sum(uplift[i, c[0]] * decay ** c[1] for i, c in enumerate(choice) if c is not None),
        )
    assert got == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_seat_values_are_an_optimal_dual_of_each_months_seats(seed: int) -> None:
    """Strong duality: seats at their values plus each client's best net column is the optimum."""
    actions = ("course", "coaching", "mentoring", NO_NEW_SERVICE)
    rng = np.random.default_rng(seed)
    n, months, decay, wait = 40, 3, 0.85, 2
    uplift = np.column_stack([rng.uniform(-0.1, 0.4, (n, 3)), np.zeros(n)])
    eligible = rng.random((n, 4)) < 0.8
    arrival = rng.integers(-1, months, n)
    seats = [
        {"course": int(rng.integers(0, 4)), "coaching": int(rng.integers(0, 6)), "mentoring": None}
        for _ in range(months)
    ]
    solved = solve_period(uplift, eligible, actions, arrival, seats, decay=decay, max_wait=wait)
    u = np.where(eligible, uplift, -np.inf)
    u[:, 3] = 0.0
    start = np.maximum(arrival, 0)
    free = np.where(
        solved.free == 3, 0.0, u[np.arange(n), solved.free] * decay ** (start - arrival)
    )
    gain = u[solved.client, solved.action] * decay ** (solved.month - arrival[solved.client])
    gain -= free[solved.client]
    primal = float(gain @ solved.x)
    assert np.all(solved.seat_value[:, 2] == 0) and np.all(solved.seat_value[:, 3] == 0)
    net = gain - solved.seat_value[solved.month, solved.action]
    each = np.zeros(n)
    np.maximum.at(each, solved.client, net)
    caps = np.array([[m["course"], m["coaching"]] for m in seats], dtype=float)
    dual = each.sum() + float((solved.seat_value[:, :2] * caps).sum())
    assert dual == pytest.approx(primal, abs=1e-7)
