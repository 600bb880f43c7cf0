"""What a service does to a client: its wait, length, drop-out, language gain and effects.

A planned service starts after a wait for a place, runs for about its
typical length, and may be interrupted. While it runs it *locks in* (the
world's hazards read the service the client is in). Once it ends it may
raise the client's Finnish, and it leaves *lasting effects* on the hazards
of finding work or starting education. The mechanism is the same in every
world; the numbers (lengths, waits, who drops out, who gains Finnish, whom
a service suits) come from the world's design.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from training.simulator.state import Noise, State

if TYPE_CHECKING:
    from training.simulator.world import World


def wait_days(
    world: World, state: State, service: np.ndarray, noise: Noise | None = None
) -> np.ndarray:
    """Days from the review to the start of the planned `service`."""
    noise = noise if noise is not None else world.noise
    draw = noise.wait_uniform[state.client, world.noise_epoch(state)]
    return (1 + np.floor(draw * world.service_tables.max_wait_days[service])).astype(np.int64)


def plan_service(
    world: World,
    state: State,
    service: np.ndarray,
    start: np.ndarray,
    noise: Noise | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """End day and interruption flag of `service` started at `start`."""
    epoch = world.noise_epoch(state)
    client = state.client
    noise = noise if noise is not None else world.noise
    spread = noise.duration_normal[client, epoch]
    duration = np.maximum(
        1.0, np.round(world.service_tables.typical_days[service] * np.exp(0.25 * spread))
    )
    p_interrupt = world.design.interruption_probability(world, state, service)
    interrupted = noise.interrupt_uniform[client, epoch] < p_interrupt
    share_done = np.where(interrupted, noise.interrupt_fraction[client, epoch], 1.0)
    length = np.maximum(1.0, np.round(duration * share_done))
    return start + length.astype(np.int64), interrupted


def finish_service(
    world: World,
    state: State,
    service: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    interrupted: np.ndarray,
    mask: np.ndarray | None = None,
    noise: Noise | None = None,
) -> np.ndarray:
    """Apply a finished service to the rows of `mask` (all by default).

    Returns the Finnish level reached where a language service was
    completed or an assessment tested it, NaN elsewhere.
    """
    apply = np.ones(len(state), dtype=bool) if mask is None else mask
    completed = apply & ~interrupted
    noise = noise if noise is not None else world.noise
    draw = noise.language_uniform[state.client, world.noise_epoch(state)]
    finnish_after, measured = world.design.finnish_after(world, state, service, completed, draw)
    level_after = np.where(measured, finnish_after.astype(np.float64), np.nan)
    employment, education = world.design.lasting_effects(
        world, state, service, start, apply, completed
    )
    scale = world.params.effect_scale
    state.lasting_employment = state.lasting_employment + scale * employment
    state.lasting_education = state.lasting_education + scale * education

    state.finnish_true = finnish_after
    state.finnish_observed = np.where(
        measured,
        np.fmax(state.finnish_observed, finnish_after.astype(np.float64)),
        state.finnish_observed,
    )
    rows = np.flatnonzero(completed)
    state.completed[rows, service[rows]] += 1
    state.n_interrupted = state.n_interrupted + (apply & interrupted)
    state.last_service = np.where(apply, service, state.last_service)
    state.last_status = np.where(apply, np.where(interrupted, 1, 0), state.last_status)
    state.last_end = np.where(apply, end.astype(np.float64), state.last_end)
    return level_after
