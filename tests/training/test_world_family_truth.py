"""The truth of drawn worlds is exact: it matches futures simulated again (docs/world.md).

The truth of a decision point is the client's chance of the label when an
action is taken now and the historical policy continues, averaged over the
randomness after the decision but keeping the client's latent traits. Here
it is checked against brute force on drawn worlds of the random family:

- for a sample of decision points and actions, the futures are simulated
  again many times with fresh randomness (durations, drop-outs, language
  gains, the next caseworkers' choices) and *sampled* event clocks, by a
  walker written independently of the truth's closed-form sums; the share
  of futures that reach work or education within the horizon must equal
  the truth within its Monte Carlo error;
- recomputing those cells from the truth's own draws gives the written
  truth, so the test compares the very numbers the learners are judged on;
- on the history itself, the mean observed label of service starts equals
  the mean truth of the action taken.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from model.features import DAYS_PER_YEAR
from model.vocab import REVIEW
from training.simulator import simulate
from training.simulator.calibration import spell_starts_within
from training.simulator.history import simulate_with_decisions
from training.simulator.policy import choose
from training.simulator.random_world import random_world
from training.simulator.services import finish_service, plan_service, wait_days
from training.simulator.state import Noise, State, draw_noise
from training.simulator.truth import path_success_probability
from training.simulator.world import World

HORIZON = 365
# Worlds with strong hidden selection, harm, subsidised work, fixed first steps,
# valid, invalid and no units, and a single cohort; small.
SEEDS = (0, 7, 1)
CLIENTS = 400
CELLS = 120  # (decision point, action) cells checked per world
FUTURES = 400  # futures simulated again per cell
TRUTH_SEED_STREAM = 13  # the truth's replicate draws: default_rng([seed, 13, r])
TRUTH_DRAWS = 48  # the truth's first draws and more of the same kind


def _per_client(world: World, rows: np.ndarray, noise: Noise) -> World:
    """A view of `world` whose clients are the clients at `rows` (one per future),
    each with its own fresh `noise`."""
    n = world.params.n_clients
    view = copy.copy(world)
    profiles = world.profiles
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(profiles):
        value = getattr(profiles, field.name)
        if isinstance(value, dict):
            fields[field.name] = {name: column[rows] for name, column in value.items()}
        else:
            fields[field.name] = value[rows]
    view.profiles = replace(profiles, **fields)
    for name, value in vars(world).items():
        if isinstance(value, np.ndarray) and value.shape[:1] == (n,):
            setattr(view, name, value[rows])
    view.params = replace(world.params, n_clients=len(rows))
    view.noise = noise
    return view


def _sampled_success(
    world: World, state: State, action: np.ndarray, at_review: np.ndarray, seed: int
) -> np.ndarray:
    """Whether each walker finds work or education within the horizon, on one
    sampled future: `action` now, the historical policy afterwards.

    Written apart from the truth: event times are sampled (an Exp(1) budget
    used up by the integrated hazard, and a moving-away time), not summed.
    """
    rng = np.random.default_rng([seed, 5])
    params = world.params
    n = len(state)
    walkers = state.take(np.arange(n))
    walkers.n_reviews = walkers.n_reviews + at_review
    window_end = walkers.day + HORIZON + 1.0
    budget = rng.exponential(size=n)
    moved_at = walkers.day + rng.exponential(size=n) * DAYS_PER_YEAR / params.move_away_per_year
    exit_day = world.profiles.intake[walkers.client] + int(
        params.max_years_in_services * DAYS_PER_YEAR
    )
    success = np.zeros(n, dtype=bool)
    ended = np.zeros(n, dtype=bool)

    def run(start: np.ndarray, end: np.ndarray, activity: np.ndarray, live: np.ndarray) -> None:
        """The event clocks over [start, end) for the live walkers."""
        employment, education = world.hazard(walkers, start.astype(np.int64), activity)
        hazard = employment + education
        length = np.clip(np.minimum(end, window_end) - start, 0.0, None)
        hit = live & ~ended & (hazard * length >= budget)
        when = start + budget / np.where(hazard > 0, hazard, 1.0)
        moved = live & ~ended & (moved_at < np.where(hit, when, start + length))
        success[hit & ~moved] = True
        ended[hit | moved] = True
        budget[live & ~ended] -= (hazard * length)[live & ~ended]
        ended[live & (start + length >= window_end)] = True

    first = True
    while not ended.all():
        live = ~ended
        if first:
            chosen, wait, leaving = action, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
            first = False
        else:
            leaving = (walkers.day >= exit_day) | (walkers.epoch >= params.max_epochs)
            chosen, _ = choose(world, walkers)
            walkers.n_reviews = walkers.n_reviews + 1
            service_or_zero = np.minimum(chosen, world.no_new_service - 1)
            wait = np.where(
                chosen < world.no_new_service, wait_days(world, walkers, service_or_zero), 0
            )
        epoch = world.noise_epoch(walkers)
        idle = np.full(n, -1)
        rate = world.unemployed_rate(walkers)
        day = walkers.day.astype(np.float64)
        # Leaving services: only the clocks run, to the end of the window.
        run(day, window_end, idle, live & leaving)
        ended |= live & leaving
        live = ~ended
        # No new service: the next review comes after the review interval.
        continuing = live & (chosen == world.no_new_service)
        interval = world.noise.review_interval[walkers.client, epoch]
        run(day, day + interval, idle, continuing)
        # A service: a wait, the service, then the gap to the next review.
        starting = live & ~continuing
        service = np.where(starting, chosen, 0)
        start = day + wait
        run(day, start, idle, starting)
        walkers.unemployed_days = walkers.unemployed_days + np.where(
            continuing, rate * interval, np.where(starting, rate * wait, 0.0)
        )
        walkers.day = np.where(starting, start, walkers.day).astype(np.int64)
        end, interrupted = plan_service(world, walkers, service, walkers.day)
        run(start, end.astype(np.float64), np.where(starting, service, -1), starting)
        paid = world.service_tables.paid_work[service]
        walkers.unemployed_days = walkers.unemployed_days + np.where(
            starting & ~paid, rate * (end - start), 0.0
        )
        walkers.n_services = walkers.n_services + starting
        finish_service(world, walkers, service, walkers.day, end, interrupted, mask=starting)
        gap = world.noise.gap[walkers.client, epoch]
        run(end.astype(np.float64), (end + gap).astype(np.float64), idle, starting)
        walkers.unemployed_days = walkers.unemployed_days + np.where(starting, rate * gap, 0.0)
        walkers.day = np.where(
            continuing, day + interval, np.where(starting, end + gap, walkers.day)
        ).astype(np.int64)
        walkers.epoch = walkers.epoch + 1
        ended |= walkers.day >= window_end
    return success


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{seed}" for seed in SEEDS])
def drawn(request: pytest.FixtureRequest) -> tuple[World, pd.DataFrame, State, np.ndarray]:
    params, design = random_world(request.param, CLIENTS)
    history, world, state, kind = simulate_with_decisions(params, design)
    return world, history.truth, state, kind


def _cells(
    truth: pd.DataFrame, actions: tuple[str, ...], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A sample of (decision point, eligible action) cells, every action represented."""
    eligible = truth[[f"eligible_{action}" for action in actions]].to_numpy(dtype=bool)
    rows, columns = np.nonzero(eligible)
    rng = np.random.default_rng(seed)
    # Equal chances per action, so that rare services are checked too.
    weight = 1.0 / np.bincount(columns, minlength=len(actions))[columns]
    pick = rng.choice(len(rows), size=min(CELLS, len(rows)), replace=False, p=weight / weight.sum())
    return rows[pick], columns[pick]


def test_truth_matches_futures_simulated_again(
    drawn: tuple[World, pd.DataFrame, State, np.ndarray],
) -> None:
    world, truth, state, kind = drawn
    params = world.params
    rows, actions = _cells(truth, world.actions, params.seed)
    written = truth[list(world.actions)].to_numpy(dtype=np.float64)[rows, actions]
    cells = state.take(rows)
    at_review = kind[rows] != "service_start"

    # The truth's own draws give the written truth back; more of the same
    # draws give the chance it estimates, precisely enough to test.
    replicate = np.array(
        [
            path_success_probability(
                world,
                cells,
                actions,
                np.zeros(len(rows), dtype=np.int64),
                params.horizon_days,
                at_review,
                draw_noise(
                    params.n_clients,
                    params.max_epochs,
                    len(world.actions),
                    np.random.default_rng([params.seed, TRUTH_SEED_STREAM, r]),
                ),
            )
            for r in range(TRUTH_DRAWS)
        ]
    )
    own = replicate[: params.truth_replicates].mean(axis=0)
    np.testing.assert_allclose(own, written, rtol=0.0, atol=1e-12)

    # Futures simulated again: each cell FUTURES times, with fresh randomness.
    repeat = np.tile(np.arange(len(rows)), FUTURES)
    futures = cells.take(repeat)
    clients = futures.client
    fresh = draw_noise(
        len(repeat),
        params.max_epochs,
        len(world.actions),
        np.random.default_rng([params.seed, 99]),
    )
    view = _per_client(world, clients, fresh)
    futures.client = np.arange(len(repeat))
    hit = _sampled_success(view, futures, actions[repeat], at_review[repeat], params.seed)
    share = np.bincount(repeat, weights=hit, minlength=len(rows)) / FUTURES

    chance = replicate.mean(axis=0)
    variance = share * (1 - share) / FUTURES + replicate.var(axis=0, ddof=1) / TRUTH_DRAWS
    z = (share - chance) / np.sqrt(np.maximum(variance, 1e-6))
    gap = float((share - chance).mean())
    gap_se = float(np.sqrt(variance.sum()) / len(rows))
    assert abs(gap) < 4 * gap_se + 1e-3, (gap, gap_se)
    assert float(np.mean(z**2)) < 1.6, np.sort(np.abs(z))[-5:]
    assert float(np.abs(z).max()) < 5.0, np.sort(np.abs(z))[-5:]


@pytest.mark.parametrize("seed", (2, 7))
def test_observed_labels_of_service_starts_match_the_truth(seed: int) -> None:
    """The history's own clocks agree with the truth of what was done: on service
    starts (chosen without looking at the outcome), mean label = mean p_historical."""
    params, design = random_world(seed, 2500)
    history = simulate(params, design=design)
    truth = history.truth
    episodes = history.episodes
    starts = episodes.loc[episodes["service"] != REVIEW, ["client_id", "start_date"]]
    started = pd.MultiIndex.from_frame(starts.drop_duplicates())
    keys = pd.MultiIndex.from_arrays([truth["client_id"], truth["decision_date"]])
    complete = truth["decision_date"] + pd.Timedelta(days=HORIZON) <= pd.Timestamp(
        params.extract_date
    )
    rows = truth.loc[keys.isin(started) & complete.to_numpy()]
    label = spell_starts_within(
        history.outcomes, rows["client_id"], rows["decision_date"], days=HORIZON
    )
    diff = label.astype(float) - rows["p_historical"].to_numpy()
    centred = pd.Series(diff - diff.mean()).groupby(rows["client_id"].to_numpy()).sum()
    se = float(np.sqrt(np.sum(centred.to_numpy() ** 2)) / len(diff))
    assert len(diff) > 2000
    assert abs(float(diff.mean())) < 4 * se, (float(diff.mean()), se)
