"""Client groups a drawn world's services suit, and the cues its caseworkers read.

A *group* is a yes/no property of a walker that decides whom a service
helps (or harms) and who drops out of it. It reads the truth: the client's
true Finnish level and work history, whatever the data records. A *cue* is
what a caseworker sees: the same kind of property, but from the recorded
profile and the state as the data shows it, so that habits on cues are
confounding the learners can adjust for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.features import DAYS_PER_MONTH, DAYS_PER_YEAR
from training.simulator.dates import year_of
from training.simulator.state import State

if TYPE_CHECKING:
    from training.simulator.world import World

# Prefix of a group read from a prognostic extra column: "extra:<column>".
EXTRA = "extra:"

GROUPS = (
    "everyone",
    "young",
    "older",
    "tertiary",
    "not_tertiary",
    "low_education",
    "recent_arrival",
    "literacy_needs",
    "literacy_gap",
    "health_limited",
    "finnish_a2",
    "finnish_b1",
    "low_finnish",
    "experienced",
    "long_unemployed",
    "parent",
)


def client_group(
    name: str, world: World, state: State, rows: np.ndarray, start: np.ndarray
) -> np.ndarray:
    """Whether the walkers at `rows` belong to the group `name`, for a service
    starting on `start` (one day per row)."""
    profiles = world.profiles
    client = state.client[rows]
    finnish = state.finnish_true[rows]
    if name == "everyone":
        return np.ones(len(rows), dtype=bool)
    if name in ("young", "older"):
        age = year_of(start) - profiles.birth_year[client]
        return age < 30 if name == "young" else age >= 45
    if name == "tertiary":
        return world.tertiary[client]
    if name == "not_tertiary":
        return ~world.tertiary[client]
    if name == "low_education":
        return world.low_education[client]
    if name == "recent_arrival":
        return (start - profiles.arrival[client]) / DAYS_PER_YEAR <= 2.0
    if name == "literacy_needs":
        return profiles.literacy_needs[client]
    if name == "literacy_gap":
        return profiles.literacy_needs[client] & (finnish == 0)
    if name == "health_limited":
        return profiles.health_limitation[client]
    if name == "finnish_a2":
        return finnish >= 2
    if name == "finnish_b1":
        return finnish >= 3
    if name == "low_finnish":
        return finnish < 2
    if name == "experienced":
        return world.prior_work_true[client] >= 3
    if name == "long_unemployed":
        return state.unemployed_days[rows] / DAYS_PER_MONTH >= 12
    if name == "parent":
        return profiles.children_under_school_age[client] > 0
    if name.startswith(EXTRA):
        return profiles.traits[name][client]
    raise ValueError(f"unknown client group {name!r}")


# Cues that depend on the client alone (the policy's static part) ...
STATIC_CUES = (
    "young",
    "tertiary",
    "low_education",
    "literacy_needs",
    "health_limited",
    "experienced",
    "parent",
    "humanitarian",
    "work_migrant",
)
# ... and cues that change along the case (read at every review).
DYNAMIC_CUES = (
    "low_finnish",
    "some_finnish",
    "good_finnish",
    "long_unemployed",
    "many_services",
    "recent_arrival",
)


def static_cue(name: str, world: World) -> np.ndarray:
    """The cue `name` of every client, as the caseworker sees it (0 or 1)."""
    profiles = world.profiles
    if name == "young":
        value = year_of(profiles.intake) - profiles.birth_year < 30
    elif name == "tertiary":
        value = world.tertiary
    elif name == "low_education":
        value = world.low_education
    elif name == "literacy_needs":
        value = profiles.literacy_needs
    elif name == "health_limited":
        value = profiles.health_limitation
    elif name == "experienced":
        value = np.nan_to_num(profiles.prior_work_observed, nan=0.0) >= 3
    elif name == "parent":
        value = profiles.children_under_school_age > 0
    elif name == "humanitarian":
        value = profiles.residence_basis == "humanitarian"
    elif name == "work_migrant":
        value = profiles.residence_basis == "work"
    elif name.startswith(EXTRA):
        value = profiles.traits[f"observed_{name}"]
    else:
        raise ValueError(f"unknown static cue {name!r}")
    return np.asarray(value, dtype=np.float64)


def dynamic_cue(name: str, world: World, state: State) -> np.ndarray:
    """The cue `name` of every walker at its review, as the data shows it (0 or 1)."""
    finnish = np.nan_to_num(state.finnish_observed, nan=0.0)
    if name == "low_finnish":
        value = finnish <= 1
    elif name == "some_finnish":
        value = finnish == 2
    elif name == "good_finnish":
        value = finnish >= 3
    elif name == "long_unemployed":
        value = state.unemployed_days / DAYS_PER_MONTH >= 12
    elif name == "many_services":
        value = state.n_services >= 3
    elif name == "recent_arrival":
        value = (state.day - world.profiles.arrival[state.client]) / DAYS_PER_YEAR <= 1.0
    else:
        raise ValueError(f"unknown dynamic cue {name!r}")
    return np.asarray(value, dtype=np.float64)
