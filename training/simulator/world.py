"""A drawn world: its clients, its randomness and the chance of success.

`World` draws the client profiles and the per-epoch randomness from the
parameters' seed, and holds what every path needs: the world's design
(`training.simulator.design`), its catalogue, the service constants and the
caseworker policy's profile-dependent part. It answers two questions about
a batch of walkers:

- the *hazards* of finding work and of starting education on a given day.
  They are piecewise constant: profile (with whatever the design adds to it,
  latent motivation included), the Finnish level reached, years since
  arrival, the lasting effects of the services completed so far, and the
  lock-in of the service the client is in now;
- the *features* a decision point shows in the data, computed from the state
  exactly as `model.features` derives them from the written tables.

What a service does lives in `services`, how caseworkers choose in `policy`,
and the numbers of both in the design.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model.catalogue import Catalogue
from model.features import DAYS_PER_MONTH, DAYS_PER_YEAR, NONE_YET, completed_feature
from training.simulator.builtin import BuiltinDesign
from training.simulator.dates import day_number, year_of
from training.simulator.design import Design
from training.simulator.params import WorldParams
from training.simulator.profiles import Profiles
from training.simulator.state import Noise, State, draw_noise


class World:
    """A drawn world: profiles, noise and the rules that move clients along."""

    params: WorldParams
    profiles: Profiles
    noise: Noise
    # Per-client flags the services' effects and the policy read.
    tertiary: np.ndarray
    low_education: np.ndarray
    basic_education: np.ndarray
    prior_work_true: np.ndarray  # years, 0 where unknown

    def __init__(
        self,
        params: WorldParams,
        catalogue: Catalogue | None = None,
        design: Design | None = None,
    ) -> None:
        self.params = params
        self.design = design or BuiltinDesign()
        self.catalogue = catalogue or self.design.catalogue()
        self.design.check_catalogue(self.catalogue)
        self.service_codes = self.catalogue.service_codes
        self.actions = self.catalogue.actions
        self.n_services = len(self.service_codes)
        # "No new service" is the last action, after every service.
        self.no_new_service = len(self.actions) - 1
        self.service_index = {code: i for i, code in enumerate(self.service_codes)}
        self.service_tables = self.design.service_tables(self.service_codes, params)
        self.extract_day = day_number(params.extract_date)
        rng = np.random.default_rng(params.seed)
        self.profiles = self.design.draw_profiles(params, rng)
        education = self.profiles.education_level
        self.tertiary = np.isin(education, ("bachelor", "master_or_higher"))
        self.low_education = np.isin(education, ("none", "primary"))
        self.basic_education = ~self.low_education & (education != "unknown")
        self.prior_work_true = np.nan_to_num(self.profiles.prior_work_true)
        self.education_text = education.astype(str)
        self.rule_features = frozenset().union(*(sv.eligibility.features for sv in self.catalogue))
        self.static_logits = self.design.static_policy_logits(self)
        self.noise = draw_noise(params.n_clients, params.max_epochs, len(self.actions), rng)

    def noise_epoch(self, state: State) -> np.ndarray:
        """The walkers' epochs as indices into the noise (the last one repeats)."""
        return np.minimum(state.epoch, self.params.max_epochs - 1)

    def eligible(self, columns: dict[str, np.ndarray], n: int) -> np.ndarray:
        """(n, A) eligibility of every action under the catalogue's rules."""
        return self.catalogue.eligibility(columns, n)

    def unemployed_rate(self, state: State) -> np.ndarray:
        """1 where time without work counts as unemployment, 0 for inactive clients."""
        return (~self.profiles.inactive[state.client]).astype(np.float64)

    # -- the hazards ----------------------------------------------------------
    def log_hazards(
        self, state: State, day: np.ndarray, activity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Log yearly hazards of (employment, education) on `day`.

        `activity` is the service index the client is in, or -1 (waiting,
        between services, continuing without a new service).
        """
        profiles = self.profiles
        client = state.client
        years = np.clip((day - profiles.arrival[client]) / DAYS_PER_YEAR, 0.0, 6.0)
        finnish = np.minimum(state.finnish_true, 4).astype(np.float64)
        employment = (
            profiles.base_employment[client]
            + 0.32 * finnish
            + 0.16 * years
            + state.lasting_employment
        )
        education = (
            profiles.base_education[client]
            + 0.35 * np.maximum(finnish - 2.0, 0.0)
            + 0.05 * years
            + state.lasting_education
        )
        busy = activity >= 0
        if busy.any():
            service = activity[busy]
            employment[busy] += self.service_tables.lock_in_employment[service]
            education[busy] += self.service_tables.lock_in_education[service]
        return employment, education

    def hazard(
        self, state: State, day: np.ndarray, activity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Daily hazards of (employment, education) on `day`."""
        employment, education = self.log_hazards(state, day, activity)
        return np.exp(employment) / DAYS_PER_YEAR, np.exp(education) / DAYS_PER_YEAR

    # -- features as the data will show them -----------------------------------
    def features(self, state: State, names: frozenset[str] | None = None) -> dict[str, np.ndarray]:
        """The decision-point features of `model.features`, from the state.

        `names` limits the work to the features asked for (the eligibility
        rules need only a few, and the policy runs at every step of every path).
        """
        profiles = self.profiles
        client = state.client
        day = state.day

        def last_service() -> np.ndarray:
            code = np.where(state.last_service >= 0, state.last_service, 0)
            codes = np.asarray(self.service_codes, dtype=object)
            return np.where(state.last_service >= 0, codes[code], NONE_YET)

        def last_status() -> np.ndarray:
            return np.select(
                [state.last_status == 0, state.last_status == 1],
                ["completed", "interrupted"],
                NONE_YET,
            ).astype(object)

        def education_level() -> np.ndarray:
            # The eligibility rules compare plain strings.
            text = self.education_text if names is not None else profiles.education_level
            return text[client]

        makers: dict[str, Any] = {
            "age": lambda: (year_of(day) - profiles.birth_year[client]).astype(np.float64),
            "gender": lambda: profiles.gender[client],
            "mother_tongue": lambda: profiles.mother_tongue[client],
            "citizenship_region": lambda: profiles.citizenship_region[client],
            "residence_basis": lambda: profiles.residence_basis[client],
            "education_level": education_level,
            "prior_work_years": lambda: profiles.prior_work_observed[client],
            "literacy_needs": lambda: profiles.literacy_needs[client].astype(np.float64),
            "finnish_level_intake": lambda: profiles.finnish_intake_observed[client],
            "health_limitation": lambda: profiles.health_limitation[client].astype(np.float64),
            "children_under_school_age": lambda: profiles.children_under_school_age[client].astype(
                np.float64
            ),
            "years_since_arrival": lambda: (day - profiles.arrival[client]) / DAYS_PER_YEAR,
            "months_since_intake": lambda: (day - profiles.intake[client]) / DAYS_PER_MONTH,
            "finnish_level": lambda: state.finnish_observed.astype(np.float64),
            "n_services": lambda: state.n_services.astype(np.float64),
            "n_interrupted": lambda: state.n_interrupted.astype(np.float64),
            "in_service": lambda: np.zeros(len(state), dtype=np.float64),
            "last_service": last_service,
            "last_service_status": last_status,
            "days_since_last_service_end": lambda: day - state.last_end,
            "n_reviews": lambda: state.n_reviews.astype(np.float64),
            "months_unemployed": lambda: state.unemployed_days / DAYS_PER_MONTH,
        }
        for name in self.design.extra_features:
            makers[name] = lambda name=name: self.design.extra_feature(self, state, name)
        for j, code in enumerate(self.service_codes):
            makers[completed_feature(code)] = lambda j=j: state.completed[:, j].astype(np.float64)
        wanted = makers if names is None else [name for name in makers if name in names]
        return {name: makers[name]() for name in wanted}
