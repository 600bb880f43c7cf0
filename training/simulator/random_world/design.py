"""`RandomDesign`: a drawn `WorldSpec` as a design the simulator's machinery asks.

The machinery is the built-in world's (docs/world.md); what changes is
read from the spec: the services and their numbers, whom each suits or
harms, the caseworkers' intercepts, habits, selection on hidden readiness
(the latent `motivation`, which also raises the hazards) and unit habits,
and the extra columns with their terms in the hazards.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from model.catalogue import Catalogue, parse_catalogue
from model.features import FeatureKind
from model.vocab import UNKNOWN
from training.simulator.dates import month_of
from training.simulator.design import Design, ServiceTables
from training.simulator.profiles import Profiles, draw_profiles
from training.simulator.random_world.columns import draw_values
from training.simulator.random_world.files import (
    CATALOGUE_FILE,
    CONFIG_FILE,
    catalogue_text,
    config_text,
)
from training.simulator.random_world.groups import (
    DYNAMIC_CUES,
    EXTRA,
    client_group,
    dynamic_cue,
    static_cue,
)
from training.simulator.random_world.spec import NEVER_CLOSED, WorldSpec
from training.simulator.random_world.summary import design_summary

if TYPE_CHECKING:
    from training.simulator.history import History
    from training.simulator.params import WorldParams
    from training.simulator.state import State
    from training.simulator.world import World

# Stream of the seed's randomness for the extra columns and the units.
COLUMNS_STREAM = 107
# Logit of a fixed first step while it is due, and once it is done.
FIRST_STEP_DUE, FIRST_STEP_DONE = 3.2, -4.0


class RandomDesign(Design):
    """One world of the random family, drawn as `spec`."""

    scenario = "random"

    def __init__(self, spec: WorldSpec) -> None:
        self.spec = spec
        self.services = spec.services
        # Per-service numbers in catalogue order (the spec's).
        self._p_interrupt = self._column("p_interrupt")
        gains = np.array([service.language_gain for service in self.services], dtype=np.float64)
        self._gain_one, self._gain_two = gains[:, 0], gains[:, 1]
        self._teaches = self._gain_one > 0
        self._measures = self._column("measures_finnish", bool)
        self._closed_from = self._column("closed_from_month", np.int64)

    def _column(self, field: str, dtype: Any = np.float64) -> np.ndarray:
        return np.array([getattr(service, field) for service in self.services], dtype=dtype)

    # -- the catalogue and the columns -------------------------------------------
    @property
    def extra_features(self) -> dict[str, FeatureKind]:
        kinds: dict[str, FeatureKind] = {}
        if self.spec.units is not None:
            kinds[self.spec.units.column] = "categorical"
        for column in self.spec.extras:
            kinds[column.name] = column.kind
        return kinds

    def catalogue(self) -> Catalogue:
        return parse_catalogue(
            catalogue_text(self.spec), source=CATALOGUE_FILE, extras=self.extra_features
        )

    def files(self, params: WorldParams) -> dict[str, str]:
        return {
            CATALOGUE_FILE: catalogue_text(self.spec),
            CONFIG_FILE: config_text(self.spec, params, self.extra_features),
        }

    def describe(self) -> dict[str, Any]:
        return self.spec.to_json()

    def summarise(self, history: History, params: WorldParams) -> dict[str, Any]:
        return design_summary(history, params, self.spec)

    # -- the clients --------------------------------------------------------------
    def draw_profiles(self, params: WorldParams, rng: np.random.Generator) -> Profiles:
        """The built-in drawing on this world's mix, plus extra columns and units.

        Prognostic columns and invalid units add their terms to the static
        log hazards; units are assigned by residence basis, never by readiness.
        """
        profiles = draw_profiles(params, rng, self.spec.mix)
        n = params.n_clients
        columns_rng = np.random.default_rng([params.seed, COLUMNS_STREAM])
        employment = profiles.base_employment.copy()
        education = profiles.base_education.copy()
        extras: dict[str, Any] = {}
        traits: dict[str, np.ndarray] = {}
        units = self.spec.units
        if units is not None:
            unit = np.zeros(n, dtype=np.int64)
            for basis, shares in units.assignment.items():
                rows = np.flatnonzero(profiles.residence_basis == basis)
                p = np.asarray(shares) / sum(shares)
                unit[rows] = columns_rng.choice(len(units.names), size=len(rows), p=p)
            traits["unit"] = unit
            extras[units.column] = np.asarray(units.names, dtype=object)[unit]
            employment += np.asarray(units.employment_shift)[unit]
        for column in self.spec.extras:
            values = draw_values(column, n, columns_rng)
            extras[column.name] = values.written
            traits[f"{EXTRA}{column.name}"] = values.group
            traits[f"observed_{EXTRA}{column.name}"] = values.observed_group
            employment += column.employment_coefficient * values.score
            education += column.education_coefficient * values.score
        return replace(
            profiles,
            base_employment=employment,
            base_education=education,
            extras=extras,
            traits=traits,
        )

    def extra_feature(self, world: World, state: State, name: str) -> np.ndarray:
        values = world.profiles.extras[name][state.client]
        kind = self.extra_features[name]
        if kind == "categorical":
            return np.where(values == None, UNKNOWN, values).astype(object)  # noqa: E711
        if kind == "boolean":
            return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan))
        return np.asarray(values, dtype=np.float64)

    # -- the services -------------------------------------------------------------
    def check_catalogue(self, catalogue: Catalogue) -> None:
        if catalogue.service_codes != self.spec.codes:
            raise ValueError("a drawn world simulates its own catalogue only")

    def service_tables(self, codes: tuple[str, ...], params: WorldParams) -> ServiceTables:
        if codes != self.spec.codes:
            raise ValueError("a drawn world simulates its own catalogue only")
        return ServiceTables(
            typical_days=self._column("typical_days"),
            lock_in_employment=self._column("lock_in_employment") * params.lock_in_scale,
            lock_in_education=self._column("lock_in_education") * params.lock_in_scale,
            max_wait_days=self._column("max_wait_days"),
            paid_work=self._column("paid_work", bool),
        )

    def interruption_probability(
        self, world: World, state: State, service: np.ndarray
    ) -> np.ndarray:
        """The service's base drop-out, more for its unsuited group and for parents."""
        p_interrupt = self._p_interrupt[service].copy()
        for j, drawn in enumerate(self.services):
            rows = np.flatnonzero(service == j)
            if drawn.unsuited and len(rows):
                group = client_group(drawn.unsuited, world, state, rows, state.day[rows])
                p_interrupt[rows] += drawn.unsuited_interrupt * group
        children = world.profiles.children_under_school_age[state.client]
        return p_interrupt + np.where(children > 0, 0.05, 0.0)

    def finnish_after(
        self,
        world: World,
        state: State,
        service: np.ndarray,
        completed: np.ndarray,
        draw: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Language services add one level (or two) by their chances; fewer without literacy."""
        finnish = state.finnish_true
        one, two = self._gain_one[service], self._gain_two[service]
        literacy_gap = world.profiles.literacy_needs[state.client] & (finnish == 0)
        step = np.where(
            literacy_gap,
            (draw < 0.6 * one).astype(np.int64),
            (draw < one).astype(np.int64) + (draw < two),
        )
        learned = self._teaches[service] & completed
        after = np.where(learned, np.minimum(finnish + step, 6), finnish)
        measured = learned | (self._measures[service] & completed)
        return after, measured

    def lasting_effects(
        self,
        world: World,
        state: State,
        service: np.ndarray,
        start: np.ndarray,
        apply: np.ndarray,
        completed: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The effect for the group the service suits, or for the others; harm even
        on drop-out where the design says so."""
        employment = np.zeros(len(state))
        education = np.zeros(len(state))
        for j, drawn in enumerate(self.services):
            rows = np.flatnonzero(apply & (service == j))
            if not len(rows):
                continue
            effect = drawn.effect
            group = client_group(effect.modifier, world, state, rows, start[rows])
            emp = np.where(group, effect.employment_in, effect.employment_out)
            edu = np.where(group, effect.education_in, effect.education_out)
            done = completed[rows]
            harm_only = effect.harm_if_interrupted & ~done
            employment[rows] = np.where(done, emp, np.where(harm_only, np.minimum(emp, 0.0), 0.0))
            education[rows] = np.where(done, edu, np.where(harm_only, np.minimum(edu, 0.0), 0.0))
        return employment, education

    # -- the caseworkers ----------------------------------------------------------
    def static_policy_logits(self, world: World) -> np.ndarray:
        """Intercepts, habits on static cues, selection on readiness and unit habits."""
        spec = self.spec
        params = world.params
        profiles = world.profiles
        index = {action: j for j, action in enumerate(world.actions)}
        logits = np.zeros((len(profiles.intake), len(world.actions)), dtype=np.float64)
        for action, intercept in spec.intercepts.items():
            logits[:, index[action]] += intercept
        for habit in spec.habits:
            if habit.cue not in DYNAMIC_CUES:
                logits[:, index[habit.action]] += (
                    params.confounding * habit.weight * static_cue(habit.cue, world)
                )
        readiness = profiles.motivation * params.motivation_selection
        for action, weight in spec.selection.items():
            logits[:, index[action]] += weight * readiness
        if spec.units is not None:
            logits += np.asarray(spec.units.habits)[profiles.traits["unit"]]
        return logits

    def policy_logits(self, world: World, state: State) -> np.ndarray:
        """The static part, the fixed first steps, habits on the case so far, closed months."""
        logits = world.static_logits[state.client]
        index = {action: j for j, action in enumerate(world.actions)}
        habit = world.params.confounding
        due = np.ones(len(state), dtype=bool)
        for step in (1, 2):
            for j, drawn in enumerate(self.services):
                if drawn.first_step == step:
                    undone = state.completed[:, j] == 0
                    logits[:, j] += np.where(due & undone, FIRST_STEP_DUE, FIRST_STEP_DONE)
                    due = due & ~undone
        cues: dict[str, np.ndarray] = {}
        for rule in self.spec.habits:
            if rule.cue in DYNAMIC_CUES:
                if rule.cue not in cues:
                    cues[rule.cue] = dynamic_cue(rule.cue, world, state)
                logits[:, index[rule.action]] += habit * rule.weight * cues[rule.cue]
        closed = np.flatnonzero(self._closed_from < NEVER_CLOSED)
        if len(closed):
            month = month_of(state.day)
            for service in closed:
                shut = month >= self._closed_from[service]
                logits[:, service] = np.where(shut, -np.inf, logits[:, service])
        return logits
