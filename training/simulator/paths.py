"""Probability of success along a deterministic path."""

from __future__ import annotations

import numpy as np

from model.features import DAYS_PER_YEAR
from training.simulator.state import Noise, State
from training.simulator.world import World


def segment_success(h: np.ndarray, mu: float, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(success in the segment | alive at its start) and P(alive at its end)."""
    rate = h + mu
    length = np.maximum(length, 0.0)
    alive = np.exp(-rate * length)
    p = np.where(rate > 0, h / np.where(rate > 0, rate, 1.0) * (1.0 - alive), 0.0)
    return p, alive


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

    The window is [t, t + horizon_days + 1) in continuous time, so that a spell
    dated `horizon_days` after the decision still counts, as the label does.
    `at_review` marks decisions made at a plan review: that review counts
    among the reviews the later decisions see.
    """
    p = world.params
    noise = noise or world.noise
    mu = p.move_away_per_year / DAYS_PER_YEAR
    k_last = p.max_epochs - 1
    state = state.take(np.arange(len(state)))  # work on a copy
    n = len(state)
    end_window = state.day.astype(np.float64) + horizon_days + 1
    exit_day = world.profiles.intake[state.client] + int(p.max_years_in_services * DAYS_PER_YEAR)
    prob = np.zeros(n)
    alive = np.ones(n)
    action = first_action.astype(np.int64).copy()
    wait = first_wait.astype(np.int64).copy()
    if at_review is not None:
        state.n_reviews = state.n_reviews + at_review.astype(state.n_reviews.dtype)
    active = np.ones(n, dtype=bool)
    first = True
    subsidy_code = world.service_index["pay_subsidy"]

    while True:
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        sub = state.take(idx)
        window = end_window[idx]
        p_acc = prob[idx]
        alive_acc = alive[idx]

        def segment(
            seg_start: np.ndarray,
            seg_end: np.ndarray,
            activity: np.ndarray,
            sub: State = sub,
            window: np.ndarray = window,
            p_acc: np.ndarray = p_acc,
            alive_acc: np.ndarray = alive_acc,
        ) -> None:
            h_e, h_u = world.hazard(sub, seg_start.astype(np.int64), activity)
            length = np.minimum(seg_end, window) - seg_start
            ps, al = segment_success(h_e + h_u, mu, length)
            p_acc += alive_acc * ps
            alive_acc *= al

        t0 = sub.day.astype(np.float64)
        if first:
            act = action[idx]
            wt = wait[idx]
            leaving = np.zeros(len(idx), dtype=bool)
            first = False
        else:
            # A plan review: the case leaves integration services, or the
            # policy picks the next action.
            leaving = (t0 >= exit_day[idx]) | (sub.epoch >= p.max_epochs)
            act, _ = world.choose(sub, noise)
            sub.n_reviews = sub.n_reviews + 1
            wt = np.where(
                act < world.no_new_service,
                world.wait_days(sub, np.minimum(act, world.no_new_service - 1), noise),
                0,
            )
        nns = (act == world.no_new_service) & ~leaving
        svc = ~nns & ~leaving
        kk = np.minimum(sub.epoch, k_last)
        rate_u = world.unemployed_rate(sub)
        none = np.full(len(idx), -1)

        # Waiting for a place, or continuing without a new service, or (on
        # leaving services) the rest of the window.
        interval = noise.review_interval[sub.client, kk]
        t1 = np.where(nns, t0 + interval, np.where(leaving, window, t0 + wt))
        segment(t0, t1, none)
        sub.unemployed_days = sub.unemployed_days + np.where(leaving, 0.0, rate_u * (t1 - t0))
        # The service itself, then the days to the next review.
        a_safe = np.where(svc, act, 0)
        sub.day = np.where(svc, t1, sub.day).astype(np.int64)
        end, interrupted = world.service_plan(sub, a_safe, sub.day, noise)
        t2 = np.where(svc, end, t1)
        segment(t1, t2, np.where(svc, act, -1))
        paid_work = svc & (act == subsidy_code)
        sub.unemployed_days = sub.unemployed_days + np.where(
            svc & ~paid_work, rate_u * (t2 - t1), 0.0
        )
        sub.n_services = sub.n_services + svc
        world.finish_service(sub, a_safe, sub.day, end, interrupted, mask=svc, noise=noise)
        gap = noise.gap[sub.client, kk]
        t3 = np.where(svc, t2 + gap, t2)
        segment(t2, t3, none)
        sub.unemployed_days = sub.unemployed_days + np.where(svc, rate_u * gap, 0.0)
        sub.day = np.where(leaving, sub.day, t3).astype(np.int64)
        sub.epoch = sub.epoch + 1
        state.put(idx, sub)
        prob[idx] = p_acc
        alive[idx] = alive_acc
        active[idx] = ~leaving & (t3 < window)
    return prob
