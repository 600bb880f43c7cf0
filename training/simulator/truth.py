"""The truth: each client's chance of the label under every action.

Only a simulated world knows what would have happened under the actions not
taken, and that is what the learners are judged on. At each decision point
the data shows, the truth holds the probability that the client finds work
or starts education within the horizon when action `a` is taken and the
historical policy continues afterwards.

Given one draw of the randomness other than the two event clocks (`Noise`),
the path a client takes while no event happens is deterministic, so that
probability is a closed-form sum over the path's segments: in each, the
hazards are constant and moving away competes with success. The truth
averages it over fresh draws of everything that happens after the decision,
shared by all actions of a decision point so that their differences are
sharp, and keeps the client's latent motivation: it is the client's chance
under each action, not a clairvoyant outcome. Its mean over the actions
actually taken equals the mean of the observed labels, up to the Monte Carlo
error of the draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.features import DAYS_PER_YEAR
from training.simulator.dates import to_dates
from training.simulator.policy import choose
from training.simulator.services import finish_service, plan_service, wait_days
from training.simulator.state import Noise, State, concatenate, draw_noise
from training.simulator.world import World

# Cells (decision point, action) evaluated at once, to bound memory.
CHUNK_CELLS = 400_000


@dataclass
class Decisions:
    """Decision points recorded by the history, one batch at a time.

    `kind` is "review" (no new service), "review_planned" (a service was
    agreed but did not start within the review's window; `wait` is the wait
    it had) or "service_start".
    """

    state: State
    action: np.ndarray
    kind: str
    day: np.ndarray
    wait: np.ndarray


def truth_table(
    world: World, decisions: list[Decisions], *, with_features: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The truth at the decision points on or before the extract date.

    With `with_features`, also the world's own features at the same points,
    sorted the same way.
    """
    if not decisions:
        return pd.DataFrame(), None
    state, action, kind, day, wait = _shown_in_data(world, decisions)
    columns = world.features(state)
    features = None
    if with_features:
        features = _sorted_by_client(
            pd.DataFrame(
                {
                    "client_id": world.profiles.client_id[state.client],
                    "decision_date": to_dates(day),
                    **columns,
                }
            )
        )
    eligible = world.eligible(columns, len(state))
    chance, chance_historical = _chances(world, state, eligible, action, kind, wait)
    frame = pd.DataFrame(
        {
            "client_id": world.profiles.client_id[state.client],
            "decision_date": to_dates(day),
        }
    )
    for j, code in enumerate(world.actions):
        frame[code] = chance[:, j]
    for j, code in enumerate(world.actions):
        frame[f"eligible_{code}"] = eligible[:, j]
    frame["historical_action"] = np.asarray(world.actions, dtype=object)[action]
    frame["p_historical"] = chance_historical
    return _sorted_by_client(frame), features


def decision_states(world: World, decisions: list[Decisions]) -> tuple[State, np.ndarray]:
    """The walkers and kinds of the truth's decision points, in the truth's row order."""
    state, _, kind, day, _ = _shown_in_data(world, decisions)
    keys = pd.DataFrame({"client_id": world.profiles.client_id[state.client], "decision_date": day})
    order = _sorted_by_client(keys.assign(row=np.arange(len(keys))))["row"].to_numpy()
    return state.take(order), kind[order]


def _sorted_by_client(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["client_id", "decision_date"], kind="mergesort").reset_index(
        drop=True
    )


def _shown_in_data(
    world: World, decisions: list[Decisions]
) -> tuple[State, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The recorded decisions dated on or before the extract, as one batch."""
    state = concatenate([d.state for d in decisions])
    action = np.concatenate([d.action for d in decisions])
    kind = np.concatenate([np.full(len(d.action), d.kind, dtype=object) for d in decisions])
    day = np.concatenate([d.day for d in decisions])
    wait = np.concatenate([d.wait for d in decisions])
    keep = day <= world.extract_day
    state = state.take(np.flatnonzero(keep))
    return state, action[keep], kind[keep], day[keep], wait[keep]


def _chances(
    world: World,
    state: State,
    eligible: np.ndarray,
    action: np.ndarray,
    kind: np.ndarray,
    wait: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(n, A) chance under each eligible action (NaN elsewhere), and under the historical one.

    The chance averages over everything still to be drawn after the decision
    (durations, drop-outs, language gains, the next caseworkers' choices).
    """
    params = world.params
    n = len(state)
    replicates = max(1, params.truth_replicates)
    at_review = kind != "service_start"
    chance = np.where(eligible, 0.0, np.nan)
    chance_historical = np.zeros(n)
    # The historical action as it really happened: a planned service that
    # waited for its place, or a service whose rule no longer admits the
    # client on the day it starts (the caseworker chose it when it did).
    admitted = eligible[np.arange(n), action]
    planned = np.flatnonzero((kind == "review_planned") | ~admitted)
    cell_rows, cell_actions = np.nonzero(eligible)
    for replicate in range(replicates):
        noise = draw_noise(
            params.n_clients,
            params.max_epochs,
            len(world.actions),
            np.random.default_rng([params.seed, 13, replicate]),
        )
        for lo in range(0, len(cell_rows), CHUNK_CELLS):
            rows = cell_rows[lo : lo + CHUNK_CELLS]
            actions = cell_actions[lo : lo + CHUNK_CELLS]
            chance[rows, actions] += path_success_probability(
                world,
                state.take(rows),
                actions,
                np.zeros(len(rows), dtype=np.int64),
                params.horizon_days,
                at_review[rows],
                noise,
            )
        if len(planned):
            chance_historical[planned] += path_success_probability(
                world,
                state.take(planned),
                action[planned],
                wait[planned],
                params.horizon_days,
                at_review[planned],
                noise,
            )
    chance /= replicates
    chance_historical /= replicates
    direct = np.setdiff1d(np.arange(n), planned)
    chance_historical[direct] = chance[direct, action[direct]]
    return chance, chance_historical


# --------------------------------------------------------------------------
# Probability of success along a deterministic path
# --------------------------------------------------------------------------


def segment_success(
    hazard: np.ndarray, move_rate: float, length: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """P(success in the segment | alive at its start) and P(alive at its end)."""
    rate = hazard + move_rate
    length = np.maximum(length, 0.0)
    alive = np.exp(-rate * length)
    success = np.where(rate > 0, hazard / np.where(rate > 0, rate, 1.0) * (1.0 - alive), 0.0)
    return success, alive


class _Survival:
    """Success and survival accumulated along the segments of one step of the paths."""

    def __init__(
        self,
        world: World,
        walkers: State,
        window_end: np.ndarray,
        success: np.ndarray,
        alive: np.ndarray,
    ) -> None:
        self.world = world
        self.walkers = walkers
        self.window_end = window_end
        self.success = success
        self.alive = alive
        self.move_rate = world.params.move_away_per_year / DAYS_PER_YEAR

    def segment(self, start: np.ndarray, end: np.ndarray, activity: np.ndarray) -> None:
        """Add the segment [start, end), cut at the window's end, under `activity`."""
        employment, education = self.world.hazard(self.walkers, start.astype(np.int64), activity)
        length = np.minimum(end, self.window_end) - start
        success, alive = segment_success(employment + education, self.move_rate, length)
        self.success += self.alive * success
        self.alive *= alive


def path_success_probability(
    world: World,
    state: State,
    first_action: np.ndarray,
    first_wait: np.ndarray,
    horizon_days: int,
    at_review: np.ndarray | None = None,
    noise: Noise | None = None,
) -> np.ndarray:
    """P(label) when `first_action` is taken at state.day and the historical policy follows.

    The window is [day, day + horizon_days + 1) in continuous time, so that a
    spell dated `horizon_days` after the decision still counts, as the label
    does. `at_review` marks decisions made at a plan review: that review
    counts among the reviews the later decisions see. Each step of the loop
    is one epoch of every path still inside its window.
    """
    params = world.params
    noise = noise if noise is not None else world.noise
    state = state.take(np.arange(len(state)))  # work on a copy
    n = len(state)
    window_end = state.day.astype(np.float64) + horizon_days + 1
    exit_day = world.profiles.intake[state.client] + int(
        params.max_years_in_services * DAYS_PER_YEAR
    )
    success = np.zeros(n)
    alive = np.ones(n)
    if at_review is not None:
        state.n_reviews = state.n_reviews + at_review.astype(state.n_reviews.dtype)
    on_path = np.ones(n, dtype=bool)
    first = True
    while True:
        rows = np.flatnonzero(on_path)
        if not len(rows):
            break
        walkers = state.take(rows)
        survival = _Survival(world, walkers, window_end[rows], success[rows], alive[rows])
        if first:
            action = first_action.astype(np.int64)[rows]
            wait = first_wait.astype(np.int64)[rows]
            leaving = np.zeros(len(rows), dtype=bool)
            first = False
        else:
            action, wait, leaving = _review(world, walkers, exit_day[rows], noise)
        next_review = _follow_epoch(world, walkers, survival, action, wait, leaving, noise)
        state.put(rows, walkers)
        success[rows] = survival.success
        alive[rows] = survival.alive
        on_path[rows] = ~leaving & (next_review < survival.window_end)
    return success


def _review(
    world: World, walkers: State, exit_day: np.ndarray, noise: Noise
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A plan review on the path: the case leaves integration services, or the
    policy picks the next action (and its wait, for a service)."""
    leaving = (walkers.day.astype(np.float64) >= exit_day) | (
        walkers.epoch >= world.params.max_epochs
    )
    action, _ = choose(world, walkers, noise)
    walkers.n_reviews = walkers.n_reviews + 1
    no_service = world.no_new_service
    wait = np.where(
        action < no_service,
        wait_days(world, walkers, np.minimum(action, no_service - 1), noise),
        0,
    )
    return action, wait, leaving


def _follow_epoch(
    world: World,
    walkers: State,
    survival: _Survival,
    action: np.ndarray,
    wait: np.ndarray,
    leaving: np.ndarray,
    noise: Noise,
) -> np.ndarray:
    """Follow the walkers from a decision to their next review; return its day.

    Three segments: waiting for a place (or continuing without a new
    service, or, on leaving services, the rest of the window), the service
    itself, then the days to the next review.
    """
    continuing = (action == world.no_new_service) & ~leaving
    in_service = ~continuing & ~leaving
    epoch = world.noise_epoch(walkers)
    unemployed_rate = world.unemployed_rate(walkers)
    idle = np.full(len(walkers), -1)

    decided = walkers.day.astype(np.float64)
    interval = noise.review_interval[walkers.client, epoch]
    start = np.where(
        continuing, decided + interval, np.where(leaving, survival.window_end, decided + wait)
    )
    survival.segment(decided, start, idle)
    walkers.unemployed_days = walkers.unemployed_days + np.where(
        leaving, 0.0, unemployed_rate * (start - decided)
    )

    service = np.where(in_service, action, 0)
    walkers.day = np.where(in_service, start, walkers.day).astype(np.int64)
    end, interrupted = plan_service(world, walkers, service, walkers.day, noise)
    service_end = np.where(in_service, end, start)
    survival.segment(start, service_end, np.where(in_service, action, -1))
    paid_work = in_service & world.service_tables.paid_work[service]
    walkers.unemployed_days = walkers.unemployed_days + np.where(
        in_service & ~paid_work, unemployed_rate * (service_end - start), 0.0
    )
    walkers.n_services = walkers.n_services + in_service
    finish_service(
        world, walkers, service, walkers.day, end, interrupted, mask=in_service, noise=noise
    )

    gap = noise.gap[walkers.client, epoch]
    next_review = np.where(in_service, service_end + gap, service_end)
    survival.segment(service_end, next_review, idle)
    walkers.unemployed_days = walkers.unemployed_days + np.where(
        in_service, unemployed_rate * gap, 0.0
    )
    walkers.day = np.where(leaving, walkers.day, next_review).astype(np.int64)
    walkers.epoch = walkers.epoch + 1
    return next_review
