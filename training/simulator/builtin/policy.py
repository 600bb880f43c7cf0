"""How the built-in world's caseworkers choose: habits, selection and budget.

The policy is confounded on purpose, as real assignment is: caseworkers
follow habits that depend on the profile (the long language course is the
default answer at low levels), select motivated clients, whom the data never
shows as such, into active services, and cannot grant pay subsidy once the
year's budget is spent. `WorldParams.confounding` scales the habits and
`WorldParams.motivation_selection` the selection on motivation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.features import DAYS_PER_MONTH
from training.simulator.dates import month_of
from training.simulator.state import State

if TYPE_CHECKING:
    from training.simulator.world import World


def static_policy_logits(world: World) -> np.ndarray:
    """The parts of the policy's logits that depend on the client alone."""
    params = world.params
    profiles = world.profiles
    index = world.service_index
    habit = params.confounding
    n = len(profiles.intake)
    logits = np.zeros((n, len(world.actions)), dtype=np.float64)
    tertiary = world.tertiary
    work = np.nan_to_num(profiles.prior_work_observed, nan=0.0)
    # Habits that follow the profile.
    logits[:, index["integration_training"]] += 1.0
    logits[:, index["literacy_training"]] += 0.2 + habit * 0.8 * profiles.literacy_needs
    logits[:, index["advanced_finnish"]] += 0.3
    logits[:, index["self_motivated_study"]] += -0.4
    logits[:, index["competence_centre"]] += habit * 0.6 * tertiary
    logits[:, index["vocational_training"]] += habit * 0.4 * (~tertiary)
    logits[:, index["degree_recognition"]] += -0.6
    logits[:, index["higher_education_bridging"]] += -0.8
    logits[:, index["job_search_coaching"]] += 0.2 + habit * 0.5 * (work >= 3)
    logits[:, index["pay_subsidy"]] += -0.5
    logits[:, index["rehabilitation_support"]] += 0.3 + habit * 1.0 * profiles.health_limitation
    logits[:, world.no_new_service] += 0.6
    # Selection on what the data does not show: motivated clients ask for
    # and are offered active services.
    selected = profiles.motivation * params.motivation_selection
    for code, weight in (
        ("work_trial", 0.8),
        ("job_search_coaching", 0.6),
        ("self_motivated_study", 0.8),
        ("higher_education_bridging", 0.8),
        ("competence_centre", 0.5),
        ("degree_recognition", 0.4),
    ):
        logits[:, index[code]] += weight * selected
    logits[:, world.no_new_service] -= 0.4 * selected
    return logits


def policy_logits(world: World, state: State) -> np.ndarray:
    """Logits of the historical policy over all actions (before eligibility)."""
    profiles = world.profiles
    client = state.client
    index = world.service_index
    habit = world.params.confounding
    logits = world.static_logits[client]
    finnish = np.nan_to_num(state.finnish_observed, nan=0.0)
    work = np.nan_to_num(profiles.prior_work_observed[client], nan=0.0)
    done = state.completed
    months_unemployed = state.unemployed_days / DAYS_PER_MONTH

    # First steps: the assessment, then the plan. Most clients start at
    # once; some postpone (work, child care, not yet reachable), more often
    # those who already work or know some Finnish.
    first = done[:, index["initial_assessment"]] == 0
    plan = (~first) & (done[:, index["integration_plan"]] == 0)
    logits[:, index["initial_assessment"]] += np.where(first, 3.2, -4.0)
    logits[:, index["integration_plan"]] += np.where(plan, 3.2, -4.0)
    logits[:, world.no_new_service] += np.where(
        first | plan, habit * 0.5 * ((work >= 3) | (finnish >= 2)), 0.0
    )

    # Habits: the long language course is the default answer at low levels.
    some_finnish = finnish >= 2
    logits[:, index["integration_training"]] += habit * (
        2.2 * (finnish <= 1) + 0.8 * (finnish == 2)
    )
    logits[:, index["advanced_finnish"]] += habit * 0.5 * some_finnish
    logits[:, index["self_motivated_study"]] += habit * 0.3 * some_finnish
    logits[:, index["competence_centre"]] += habit * 0.3 * some_finnish
    logits[:, index["degree_recognition"]] += habit * 0.3 * some_finnish
    logits[:, index["job_search_coaching"]] += habit * 0.4 * (finnish >= 3)
    logits[:, index["work_trial"]] += habit * 0.3 * (world.low_education[client] & (finnish >= 1))
    # Pay subsidy goes to the long-term unemployed (negative selection),
    # and its budget is spent by October: none is granted in the last quarter.
    subsidy = logits[:, index["pay_subsidy"]] + habit * 0.08 * np.minimum(months_unemployed, 24.0)
    logits[:, index["pay_subsidy"]] = np.where(month_of(state.day) >= 10, -np.inf, subsidy)
    logits[:, world.no_new_service] += habit * (
        0.4 * (finnish >= 3) + 0.3 * (state.n_services >= 4)
    )
    return logits
