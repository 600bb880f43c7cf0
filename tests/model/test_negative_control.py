"""Selection on readiness measured in the waits before planned services (a negative control)."""

from __future__ import annotations

import numpy as np
import pytest

from model.negative_control import chance_adjustment, cloglog, wait_selection

ACTIONS = ("course", "coaching", "training", "no_new_service")
HORIZON = 365.0


def _waits(*, seed: int, selection: float, n: int = 40_000) -> dict[str, np.ndarray]:
    """Reviews whose plan depends on a readiness U no column shows (coaching for the ready).

    In the wait no service has begun, so events come from the client's
    hazard alone: exp(x + 0.6 U) per year. The learner's chance without a
    service is known exactly from x (the prognostic score).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(-1.0, 0.5, n)
    readiness = rng.normal(0.0, 1.0, n)
    logits = np.column_stack(
        [np.zeros(n), selection * readiness, 0.3 * x, -selection * readiness + 0.5]
    )
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    plans = (probabilities.cumsum(axis=1) > rng.random(n)[:, None]).argmax(axis=1)
    hazard = np.exp(x + 0.6 * readiness) / HORIZON
    wait = rng.integers(10, 120, n).astype(float)
    time_to_event = rng.exponential(1.0 / hazard)
    event = time_to_event < wait
    exposure = np.where(event, time_to_event, wait)
    prognostic = 1.0 - np.exp(-np.exp(x))
    multiplier = np.exp(0.6 * readiness)
    truth = np.array(
        [np.log(multiplier[plans == a].mean() / multiplier.mean()) for a in range(len(ACTIONS))]
    )
    return {
        "plans": plans,
        "prognostic": prognostic,
        "events": event.astype(float),
        "exposure_days": exposure,
        "truth": truth,
    }


def _selection(world: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
    return wait_selection(
        actions=ACTIONS,
        plans=world["plans"],
        eligible=np.ones((len(world["plans"]), len(ACTIONS)), dtype=bool),
        prognostic=world["prognostic"],
        events=world["events"],
        exposure_days=world["exposure_days"],
    )


def test_the_ready_clients_plan_shows_in_their_waits() -> None:
    world = _waits(seed=1, selection=1.2)
    found = _selection(world)
    truth = world["truth"]
    assert truth[1] > 0.3 and truth[3] < -0.3  # coaching takes the ready, no service the rest
    for j in range(len(ACTIONS)):
        assert abs(found.log_ratio[j] - truth[j]) < 3.0 * found.standard_error[j] + 0.02
    shrunk = found.shrunk()
    assert shrunk[1] > 0.2 and shrunk[3] < -0.2
    assert np.all(np.abs(shrunk) <= np.abs(found.log_ratio) + 1e-12)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_without_selection_the_waits_move_nothing_beyond_noise(seed: int) -> None:
    world = _waits(seed=seed, selection=0.0)
    shrunk = _selection(world).shrunk()
    assert np.all(np.abs(shrunk) < 0.05)


def test_too_few_plans_measure_nothing() -> None:
    world = _waits(seed=5, selection=1.2, n=100)
    found = _selection(world)
    assert np.isnan(found.log_ratio).sum() >= 3
    assert np.all(found.shrunk() == 0.0) or np.isfinite(found.log_ratio).sum() >= 2


def test_the_chance_of_ready_takers_is_brought_to_an_average_clients() -> None:
    # Takers twice as ready: 1 - (1 - p) ** 0.5 is what an average client would reach.
    p = np.array([[0.36, 0.5], [0.19, 0.5]])
    eligible = np.array([[True, True], [True, False]])
    adjustment = chance_adjustment(p, eligible, np.array([np.log(2.0), 0.0]))
    assert adjustment[0] == pytest.approx(((0.36 - 0.2) + (0.19 - 0.1)) / 2)
    assert adjustment[1] == pytest.approx(0.0)


def test_the_prognostic_score_is_the_complementary_log_log() -> None:
    assert cloglog(np.array([1.0 - np.exp(-1.0)]))[0] == pytest.approx(0.0)
    assert np.all(np.isfinite(cloglog(np.array([0.0, 1.0]))))
