"""What the built-in world's services do: lengths, lock-in, drop-outs, language and effects.

A full-time course locks clients in while it runs; a completed service
leaves a lasting effect on the hazards of finding work or starting
education that depends on whom it suits, and some services harm the clients
they do not suit, completed or not. docs/world.md describes the effects and
their reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from training.simulator.dates import year_of
from training.simulator.design import ServiceTables
from training.simulator.state import State

if TYPE_CHECKING:
    from training.simulator.world import World

SERVICE_TYPICAL_DAYS = {
    "initial_assessment": 30,
    "integration_plan": 14,
    "literacy_training": 300,
    "integration_training": 300,
    "advanced_finnish": 150,
    "self_motivated_study": 270,
    "competence_centre": 120,
    "vocational_training": 180,
    "degree_recognition": 90,
    "higher_education_bridging": 240,
    "job_search_coaching": 60,
    "work_trial": 90,
    "pay_subsidy": 240,
    "rehabilitation_support": 120,
}

# Lock-in while in the service, as log-multipliers of the (employment,
# education) hazards. Negative values: a full-time course keeps the client
# from taking a job while it runs.
LOCK_IN = {
    "initial_assessment": (0.0, 0.0),
    "integration_plan": (0.0, 0.0),
    "literacy_training": (-1.2, -1.0),
    "integration_training": (-1.0, -0.5),
    "advanced_finnish": (-0.6, -0.2),
    "self_motivated_study": (-0.8, 0.2),
    "competence_centre": (-0.2, 0.1),
    "vocational_training": (-0.9, -0.5),
    "degree_recognition": (-0.1, 0.0),
    "higher_education_bridging": (-0.7, 0.0),
    "job_search_coaching": (0.1, 0.0),
    "work_trial": (0.3, 0.0),
    "pay_subsidy": (-0.3, -0.5),
    "rehabilitation_support": (-0.4, -0.3),
}

# The service during which the client is in subsidised employment.
PAY_SUBSIDY = "pay_subsidy"


def service_tables(codes: tuple[str, ...], lock_in_scale: float) -> ServiceTables:
    # Typical waits (days) for a place; the queue for integration training
    # is long at times, so a planned course can start over a month later.
    max_wait = [
        45 if code == "integration_training" else 40 if code == "vocational_training" else 21
        for code in codes
    ]
    return ServiceTables(
        typical_days=np.array([SERVICE_TYPICAL_DAYS[code] for code in codes], dtype=np.float64),
        lock_in_employment=np.array([LOCK_IN[code][0] for code in codes]) * lock_in_scale,
        lock_in_education=np.array([LOCK_IN[code][1] for code in codes]) * lock_in_scale,
        max_wait_days=np.array(max_wait, dtype=np.float64),
        paid_work=np.array([code == PAY_SUBSIDY for code in codes], dtype=bool),
    )


def interruption_probability(world: World, state: State, service: np.ndarray) -> np.ndarray:
    """More drop-outs when the client is not ready: integration training without
    literacy, vocational training below A2, language study with a health
    limitation; and for parents of small children."""
    client = state.client
    profiles = world.profiles
    finnish = state.finnish_true
    p_interrupt = np.full(len(state), 0.12)
    index = world.service_index
    language_or_study = (
        (service == index["integration_training"])
        | (service == index["literacy_training"])
        | (service == index["advanced_finnish"])
        | (service == index["self_motivated_study"])
    )
    p_interrupt += 0.30 * (
        (service == index["integration_training"])
        & profiles.literacy_needs[client]
        & (state.completed[:, index["literacy_training"]] == 0)
    )
    p_interrupt += 0.35 * ((service == index["vocational_training"]) & (finnish < 2))
    p_interrupt += 0.15 * (language_or_study & profiles.health_limitation[client])
    p_interrupt += np.where(profiles.children_under_school_age[client] > 0, 0.05, 0.0)
    return p_interrupt


def finnish_after(
    world: World,
    state: State,
    service: np.ndarray,
    completed: np.ndarray,
    draw: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The Finnish level after the service, and where it was measured."""
    index = world.service_index
    client = state.client
    finnish = state.finnish_true
    tertiary = world.tertiary[client]
    literacy_gap = world.profiles.literacy_needs[client] & (
        state.completed[:, index["literacy_training"]] == 0
    )

    def is_(code: str) -> np.ndarray:
        return service == index[code]

    # Integration training takes most clients up one or two levels; fewer
    # than a third reach B1, as the outcome surveys of the course report.
    step_integration = (
        (draw < 0.82).astype(np.int64) + (draw < 0.45 + 0.12 * tertiary) + (draw < 0.04)
    )
    step_integration = np.where(literacy_gap, (draw < 0.55).astype(np.int64), step_integration)
    step = np.select(
        [is_("integration_training"), is_("literacy_training"), is_("advanced_finnish")],
        [
            step_integration,
            (draw < 0.5).astype(np.int64),
            (draw < 0.55).astype(np.int64) + (draw < 0.08),
        ],
        0,
    )
    is_language = is_("integration_training") | is_("literacy_training") | is_("advanced_finnish")
    learned = is_language & completed
    finnish_after = np.where(learned, np.minimum(finnish + step, 6), finnish)
    # The initial assessment tests the client's Finnish; so does the end
    # of a language course.
    measured = learned | (is_("initial_assessment") & completed)
    return finnish_after, measured


def lasting_effects(
    world: World,
    state: State,
    service: np.ndarray,
    start: np.ndarray,
    apply: np.ndarray,
    completed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The log-hazard increments a finished service leaves.

    A completed service helps by whom it suits (`LASTING_EFFECTS`). Harm:
    vocational training below A2 and self-motivated study without basic
    education leave clients discouraged, completed or not.
    """
    index = world.service_index
    client = state.client
    finnish = state.finnish_true
    n = len(state)
    employment = np.zeros(n)
    education = np.zeros(n)
    for code, effect in LASTING_EFFECTS.items():
        rows = np.flatnonzero(completed & (service == index[code]))
        if len(rows):
            employment[rows], education[rows] = effect(
                world, client[rows], finnish[rows], start[rows]
            )
    harm_vocational = apply & (service == index["vocational_training"]) & (finnish < 2)
    harm_study = apply & (service == index["self_motivated_study"]) & world.low_education[client]
    employment = employment - 0.45 * harm_vocational - 0.30 * harm_study
    education = education - 0.20 * harm_vocational - 0.30 * harm_study
    return employment, education


# The lasting effect of completing a service: a function of the world, the
# clients who completed it, their Finnish (rank) and the service's start day,
# giving the log-hazard increments of (employment, education).
LastingEffect = Callable[
    ["World", np.ndarray, np.ndarray, np.ndarray],
    tuple[np.ndarray | float, np.ndarray | float],
]

LASTING_EFFECTS: dict[str, LastingEffect] = {
    "initial_assessment": lambda world, client, finnish, start: (0.05, 0.02),
    "integration_plan": lambda world, client, finnish, start: (0.05, 0.02),
    "literacy_training": lambda world, client, finnish, start: (
        np.where(world.profiles.literacy_needs[client], 0.45, 0.0),
        np.where(world.profiles.literacy_needs[client], 0.2, 0.0),
    ),
    "integration_training": lambda world, client, finnish, start: (0.12, 0.15),
    "advanced_finnish": lambda world, client, finnish, start: (0.10, 0.25),
    "self_motivated_study": lambda world, client, finnish, start: (
        np.where(world.basic_education[client], 0.15, 0.0),
        np.where(world.basic_education[client], 0.85, 0.0),
    ),
    "competence_centre": lambda world, client, finnish, start: (0.40, 3.0),
    "vocational_training": lambda world, client, finnish, start: (
        np.where(finnish >= 2, np.where(world.tertiary[client], 0.10, 0.70), 0.0),
        0.15,
    ),
    "degree_recognition": lambda world, client, finnish, start: (
        np.where(world.tertiary[client], 0.75, 0.0),
        np.where(world.tertiary[client], 0.2, 0.0),
    ),
    "higher_education_bridging": lambda world, client, finnish, start: (
        0.05,
        np.where(year_of(start) - world.profiles.birth_year[client] < 40, 1.25, 0.4),
    ),
    "job_search_coaching": lambda world, client, finnish, start: (
        np.where(
            (finnish >= 3) | ((world.prior_work_true[client] >= 3) & (finnish >= 2)), 0.50, 0.05
        ),
        0.0,
    ),
    "work_trial": lambda world, client, finnish, start: (np.where(finnish >= 2, 0.40, 0.10), 0.0),
    "pay_subsidy": lambda world, client, finnish, start: (0.85, 0.0),
    "rehabilitation_support": lambda world, client, finnish, start: (
        np.where(world.profiles.health_limitation[client], 0.65, -0.10),
        np.where(world.profiles.health_limitation[client], 0.3, 0.0),
    ),
}
