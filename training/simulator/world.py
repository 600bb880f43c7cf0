"""The world: profiles, noise and the rules that move clients along."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from model.catalogue import Catalogue, load_catalogue
from model.features import DAYS_PER_MONTH, DAYS_PER_YEAR, NONE_YET, completed_feature
from training.simulator.dates import day_number, month_of, year_of
from training.simulator.params import WorldParams
from training.simulator.profiles import draw_profiles
from training.simulator.state import Noise, State

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
LANGUAGE_SERVICES = ("literacy_training", "integration_training", "advanced_finnish")

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


class World:
    """A drawn world: profiles, noise and the rules that move clients along."""

    def __init__(self, params: WorldParams, catalogue: Catalogue | None = None) -> None:
        self.params = params
        self.catalogue = catalogue or load_catalogue()
        missing = set(SERVICE_TYPICAL_DAYS) - set(self.catalogue.service_codes)
        if missing:
            raise ValueError(f"the simulator needs the default services; missing {sorted(missing)}")
        self.service_codes = self.catalogue.service_codes
        self.actions = self.catalogue.actions
        self.n_services = len(self.service_codes)
        self.no_new_service = len(self.actions) - 1
        self.service_index = {code: i for i, code in enumerate(self.service_codes)}
        self.rng = np.random.default_rng(params.seed)
        self.extract_day = day_number(params.extract_date)
        self.profiles = draw_profiles(params, self.rng)
        edu = self.profiles.education_level
        self.tertiary = np.isin(edu, ("bachelor", "master_or_higher"))
        self.low_education = np.isin(edu, ("none", "primary"))
        self.basic_education = ~self.low_education & (edu != "unknown")
        self.prior_work_true = np.nan_to_num(self.profiles.prior_work_true)
        self.education_text = edu.astype(str)
        self.rule_features = frozenset().union(*(sv.eligibility.features for sv in self.catalogue))
        self.static_logits = self._static_policy_logits()
        self.noise = self.draw_noise(self.rng)
        self._service_tables()

    # -- set-up --------------------------------------------------------------
    def draw_noise(self, rng: np.random.Generator) -> Noise:
        """One draw of all per-client, per-epoch randomness."""
        n, k_max, a = self.params.n_clients, self.params.max_epochs, len(self.actions)
        return Noise(
            gumbel=-np.log(
                -np.log(rng.random((n, k_max, a), dtype=np.float32) + np.float32(1e-12))
            ),
            duration_normal=rng.standard_normal((n, k_max)).astype(np.float32),
            interrupt_uniform=rng.random((n, k_max)).astype(np.float32),
            interrupt_fraction=rng.uniform(0.15, 0.85, (n, k_max)).astype(np.float32),
            language_uniform=rng.random((n, k_max)).astype(np.float32),
            gap=rng.integers(1, 31, (n, k_max)).astype(np.int32),
            review_interval=rng.integers(75, 150, (n, k_max)).astype(np.int32),
            wait_uniform=rng.random((n, k_max)).astype(np.float32),
            record_uniform=rng.random((n, k_max)).astype(np.float32),
        )

    def _service_tables(self) -> None:
        p = self.params
        s = self.service_codes
        self.typical_days = np.array([SERVICE_TYPICAL_DAYS[c] for c in s], dtype=np.float64)
        self.lock_in_employment = np.array([LOCK_IN[c][0] for c in s]) * p.lock_in_scale
        self.lock_in_education = np.array([LOCK_IN[c][1] for c in s]) * p.lock_in_scale
        # Typical waits (days) for a place; the queue for integration training
        # is long at times, so a planned course can start over a month later.
        self.max_wait_days = np.array(
            [
                45 if c == "integration_training" else 40 if c == "vocational_training" else 21
                for c in s
            ],
            dtype=np.float64,
        )

    # -- the hazards ----------------------------------------------------------
    def log_hazards(
        self, state: State, t: np.ndarray, activity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Log yearly hazards of (employment, education) at day t.

        `activity` is the service index the client is in, or -1 (waiting,
        between services, continuing without a new service).
        """
        profiles = self.profiles
        c = state.client
        years = np.clip((t - profiles.arrival[c]) / DAYS_PER_YEAR, 0.0, 6.0)
        lang = np.minimum(state.finnish_true, 4).astype(np.float64)
        eta_e = profiles.base_employment[c] + 0.32 * lang + 0.16 * years + state.lasting_employment
        eta_u = (
            profiles.base_education[c]
            + 0.35 * np.maximum(lang - 2.0, 0.0)
            + 0.05 * years
            + state.lasting_education
        )
        busy = activity >= 0
        if busy.any():
            a = activity[busy]
            eta_e[busy] += self.lock_in_employment[a]
            eta_u[busy] += self.lock_in_education[a]
        return eta_e, eta_u

    def hazard(
        self, state: State, t: np.ndarray, activity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        eta_e, eta_u = self.log_hazards(state, t, activity)
        return np.exp(eta_e) / DAYS_PER_YEAR, np.exp(eta_u) / DAYS_PER_YEAR

    # -- features as the data will show them -----------------------------------
    def features(self, state: State, names: frozenset[str] | None = None) -> dict[str, np.ndarray]:
        """The decision-point features of `model.features`, from the state.

        `names` limits the work to the features asked for (the eligibility
        rules need only a few, and the policy runs at every step of every path).
        """
        profiles = self.profiles
        c = state.client
        t = state.day

        def last_service() -> np.ndarray:
            code = np.where(state.last_service >= 0, state.last_service, 0)
            return np.where(
                state.last_service >= 0,
                np.asarray(self.service_codes, dtype=object)[code],
                NONE_YET,
            )

        def last_status() -> np.ndarray:
            return np.select(
                [state.last_status == 0, state.last_status == 1],
                ["completed", "interrupted"],
                NONE_YET,
            ).astype(object)

        makers: dict[str, Any] = {
            "age": lambda: (year_of(t) - profiles.birth_year[c]).astype(np.float64),
            "gender": lambda: profiles.gender[c],
            "mother_tongue": lambda: profiles.mother_tongue[c],
            "citizenship_region": lambda: profiles.citizenship_region[c],
            "residence_basis": lambda: profiles.residence_basis[c],
            "education_level": lambda: (
                self.education_text[c] if names is not None else profiles.education_level[c]
            ),
            "prior_work_years": lambda: profiles.prior_work_observed[c],
            "literacy_needs": lambda: profiles.literacy_needs[c].astype(np.float64),
            "finnish_level_intake": lambda: profiles.finnish_intake_observed[c],
            "health_limitation": lambda: profiles.health_limitation[c].astype(np.float64),
            "children_under_school_age": lambda: profiles.children_under_school_age[c].astype(
                np.float64
            ),
            "years_since_arrival": lambda: (t - profiles.arrival[c]) / DAYS_PER_YEAR,
            "months_since_intake": lambda: (t - profiles.intake[c]) / DAYS_PER_MONTH,
            "finnish_level": lambda: state.finnish_observed.astype(np.float64),
            "n_services": lambda: state.n_services.astype(np.float64),
            "n_interrupted": lambda: state.n_interrupted.astype(np.float64),
            "in_service": lambda: np.zeros(len(state), dtype=np.float64),
            "last_service": last_service,
            "last_service_status": last_status,
            "days_since_last_service_end": lambda: t - state.last_end,
            "n_reviews": lambda: state.n_reviews.astype(np.float64),
            "months_unemployed": lambda: state.unemployed_days / DAYS_PER_MONTH,
        }
        for j, code in enumerate(self.service_codes):
            makers[completed_feature(code)] = lambda j=j: state.completed[:, j].astype(np.float64)
        wanted = makers if names is None else [n for n in makers if n in names]
        return {name: makers[name]() for name in wanted}

    # -- the historical caseworker policy ---------------------------------------
    def _static_policy_logits(self) -> np.ndarray:
        """The parts of the policy's logits that depend on the client alone."""
        p = self.params
        profiles = self.profiles
        s = self.service_index
        h = p.confounding
        n = len(profiles.intake)
        logits = np.zeros((n, len(self.actions)), dtype=np.float64)
        tertiary = self.tertiary
        work = np.nan_to_num(profiles.prior_work_observed, nan=0.0)
        # Habits that follow the profile.
        logits[:, s["integration_training"]] += 1.0
        logits[:, s["literacy_training"]] += 0.2 + h * 0.8 * profiles.literacy_needs
        logits[:, s["advanced_finnish"]] += 0.3
        logits[:, s["self_motivated_study"]] += -0.4
        logits[:, s["competence_centre"]] += h * 0.6 * tertiary
        logits[:, s["vocational_training"]] += h * 0.4 * (~tertiary)
        logits[:, s["degree_recognition"]] += -0.6
        logits[:, s["higher_education_bridging"]] += -0.8
        logits[:, s["job_search_coaching"]] += 0.2 + h * 0.5 * (work >= 3)
        logits[:, s["pay_subsidy"]] += -0.5
        logits[:, s["rehabilitation_support"]] += 0.3 + h * 1.0 * profiles.health_limitation
        logits[:, self.no_new_service] += 0.6
        # Selection on what the data does not show: motivated clients ask for
        # and are offered active services.
        m = profiles.motivation * p.motivation_selection
        for code, weight in (
            ("work_trial", 0.8),
            ("job_search_coaching", 0.6),
            ("self_motivated_study", 0.8),
            ("higher_education_bridging", 0.8),
            ("competence_centre", 0.5),
            ("degree_recognition", 0.4),
        ):
            logits[:, s[code]] += weight * m
        logits[:, self.no_new_service] -= 0.4 * m
        return logits

    def policy_logits(self, state: State) -> np.ndarray:
        """Logits of the historical policy over all actions (before eligibility)."""
        p = self.params
        profiles = self.profiles
        c = state.client
        s = self.service_index
        h = p.confounding
        logits = self.static_logits[c]
        lang = np.nan_to_num(state.finnish_observed, nan=0.0)
        work = np.nan_to_num(profiles.prior_work_observed[c], nan=0.0)
        done = state.completed
        months_unemp = state.unemployed_days / DAYS_PER_MONTH

        # First steps: the assessment, then the plan. Most clients start at
        # once; some postpone (work, child care, not yet reachable), more often
        # those who already work or know some Finnish.
        first = done[:, s["initial_assessment"]] == 0
        plan = (~first) & (done[:, s["integration_plan"]] == 0)
        logits[:, s["initial_assessment"]] += np.where(first, 3.2, -4.0)
        logits[:, s["integration_plan"]] += np.where(plan, 3.2, -4.0)
        logits[:, self.no_new_service] += np.where(
            first | plan, h * 0.5 * ((work >= 3) | (lang >= 2)), 0.0
        )

        # Habits: the long language course is the default answer at low levels.
        some_finnish = lang >= 2
        logits[:, s["integration_training"]] += h * (2.2 * (lang <= 1) + 0.8 * (lang == 2))
        logits[:, s["advanced_finnish"]] += h * 0.5 * some_finnish
        logits[:, s["self_motivated_study"]] += h * 0.3 * some_finnish
        logits[:, s["competence_centre"]] += h * 0.3 * some_finnish
        logits[:, s["degree_recognition"]] += h * 0.3 * some_finnish
        logits[:, s["job_search_coaching"]] += h * 0.4 * (lang >= 3)
        logits[:, s["work_trial"]] += h * 0.3 * (self.low_education[c] & (lang >= 1))
        # Pay subsidy goes to the long-term unemployed (negative selection),
        # and its budget is spent by October: none is granted in the last quarter.
        subsidy = logits[:, s["pay_subsidy"]] + h * 0.08 * np.minimum(months_unemp, 24.0)
        logits[:, s["pay_subsidy"]] = np.where(month_of(state.day) >= 10, -np.inf, subsidy)
        logits[:, self.no_new_service] += h * (0.4 * (lang >= 3) + 0.3 * (state.n_services >= 4))
        return logits

    def eligible(self, cols: dict[str, np.ndarray], n: int) -> np.ndarray:
        return self.catalogue.eligibility(cols, n)

    def choose(self, state: State, noise: Noise | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The historical policy's action at a review; also the eligibility matrix."""
        cols = self.features(state, self.rule_features)
        elig = self.eligible(cols, len(state))
        logits = self.policy_logits(state)
        logits = np.where(elig, logits, -np.inf)
        k = np.minimum(state.epoch, self.params.max_epochs - 1)
        logits = logits + (noise or self.noise).gumbel[state.client, k]
        return np.argmax(logits, axis=1), elig

    # -- what a service does ------------------------------------------------------
    def service_plan(
        self, state: State, a: np.ndarray, start: np.ndarray, noise: Noise | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """End day and interruption flag of service `a` started at `start`."""
        k = np.minimum(state.epoch, self.params.max_epochs - 1)
        c = state.client
        profiles = self.profiles
        noise = noise or self.noise
        z = noise.duration_normal[c, k]
        duration = np.maximum(1.0, np.round(self.typical_days[a] * np.exp(0.25 * z)))
        lang = state.finnish_true
        p_int = np.full(len(state), 0.12)
        s = self.service_index
        language_or_study = (
            (a == s["integration_training"])
            | (a == s["literacy_training"])
            | (a == s["advanced_finnish"])
            | (a == s["self_motivated_study"])
        )
        p_int += 0.30 * (
            (a == s["integration_training"])
            & profiles.literacy_needs[c]
            & (state.completed[:, s["literacy_training"]] == 0)
        )
        p_int += 0.35 * ((a == s["vocational_training"]) & (lang < 2))
        p_int += 0.15 * (language_or_study & profiles.health_limitation[c])
        p_int += np.where(profiles.children_under_school_age[c] > 0, 0.05, 0.0)
        interrupted = noise.interrupt_uniform[c, k] < p_int
        frac = np.where(interrupted, noise.interrupt_fraction[c, k], 1.0)
        length = np.maximum(1.0, np.round(duration * frac))
        return start + length.astype(np.int64), interrupted

    def finish_service(
        self,
        state: State,
        a: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        interrupted: np.ndarray,
        mask: np.ndarray | None = None,
        noise: Noise | None = None,
    ) -> np.ndarray:
        """Apply a finished service to the rows of `mask` (all by default).

        Returns the Finnish level reached where a language service was
        completed, NaN elsewhere.
        """
        p = self.params
        profiles = self.profiles
        n = len(state)
        c = state.client
        apply = np.ones(n, dtype=bool) if mask is None else mask
        k = np.minimum(state.epoch, p.max_epochs - 1)
        s = self.service_index
        done = apply & ~interrupted
        lang = state.finnish_true
        tertiary = self.tertiary[c]
        low_edu = self.low_education[c]
        literacy = profiles.literacy_needs[c]
        literacy_gap = literacy & (state.completed[:, s["literacy_training"]] == 0)
        u = (noise or self.noise).language_uniform[c, k]

        def is_(code: str) -> np.ndarray:
            return a == s[code]

        # Language: integration training takes most clients up one or two
        # levels; fewer than a third reach B1 (Finnish National Agency for
        # Education, integration training outcome surveys).
        step_it = (u < 0.82).astype(np.int64) + (u < 0.45 + 0.12 * tertiary) + (u < 0.04)
        step_it = np.where(literacy_gap, (u < 0.55).astype(np.int64), step_it)
        gain = np.select(
            [is_("integration_training"), is_("literacy_training"), is_("advanced_finnish")],
            [step_it, (u < 0.5).astype(np.int64), (u < 0.55).astype(np.int64) + (u < 0.08)],
            0,
        )
        is_language = (
            is_("integration_training") | is_("literacy_training") | is_("advanced_finnish")
        )
        learned = is_language & done
        new_lang = np.where(learned, np.minimum(lang + gain, 6), lang)
        # The initial assessment tests the client's Finnish; so does the end
        # of a language course.
        measured = learned | (is_("initial_assessment") & done)
        level_after = np.where(measured, new_lang.astype(np.float64), np.nan)

        # Lasting effects (log-hazard increments) of a completed service, by
        # whom it suits. Harm: vocational training below A2 and self-motivated
        # study without basic education leave clients discouraged, completed or not.
        de = np.zeros(n)
        du = np.zeros(n)
        for code, gain in self._gains.items():
            rows = np.flatnonzero(done & (a == s[code]))
            if len(rows):
                e_gain, u_gain = gain(self, rows, c[rows], lang[rows], start[rows])
                de[rows] = e_gain
                du[rows] = u_gain
        harm_voc = apply & is_("vocational_training") & (lang < 2)
        harm_sms = apply & is_("self_motivated_study") & low_edu
        de = de - 0.45 * harm_voc - 0.30 * harm_sms
        du = du - 0.20 * harm_voc - 0.30 * harm_sms
        state.lasting_employment = state.lasting_employment + p.effect_scale * de
        state.lasting_education = state.lasting_education + p.effect_scale * du

        state.finnish_true = new_lang
        state.finnish_observed = np.where(
            measured,
            np.fmax(state.finnish_observed, new_lang.astype(np.float64)),
            state.finnish_observed,
        )
        rows = np.flatnonzero(done)
        state.completed[rows, a[rows]] += 1
        state.n_interrupted = state.n_interrupted + (apply & interrupted)
        state.last_service = np.where(apply, a, state.last_service)
        state.last_status = np.where(apply, np.where(interrupted, 1, 0), state.last_status)
        state.last_end = np.where(apply, end.astype(np.float64), state.last_end)
        return level_after

    # Lasting effects (log-hazard increments of employment, education) of a
    # completed service, by whom it suits; each gets the rows it applies to.
    _gains: ClassVar[dict[str, Any]] = {
        "initial_assessment": lambda world, r, c, lang, start: (0.05, 0.02),
        "integration_plan": lambda world, r, c, lang, start: (0.05, 0.02),
        "literacy_training": lambda world, r, c, lang, start: (
            np.where(world.profiles.literacy_needs[c], 0.45, 0.0),
            np.where(world.profiles.literacy_needs[c], 0.2, 0.0),
        ),
        "integration_training": lambda world, r, c, lang, start: (0.12, 0.15),
        "advanced_finnish": lambda world, r, c, lang, start: (0.10, 0.25),
        "self_motivated_study": lambda world, r, c, lang, start: (
            np.where(world.basic_education[c], 0.15, 0.0),
            np.where(world.basic_education[c], 0.85, 0.0),
        ),
        "competence_centre": lambda world, r, c, lang, start: (0.40, 3.0),
        "vocational_training": lambda world, r, c, lang, start: (
            np.where(lang >= 2, np.where(world.tertiary[c], 0.10, 0.70), 0.0),
            0.15,
        ),
        "degree_recognition": lambda world, r, c, lang, start: (
            np.where(world.tertiary[c], 0.75, 0.0),
            np.where(world.tertiary[c], 0.2, 0.0),
        ),
        "higher_education_bridging": lambda world, r, c, lang, start: (
            0.05,
            np.where(year_of(start) - world.profiles.birth_year[c] < 40, 1.25, 0.4),
        ),
        "job_search_coaching": lambda world, r, c, lang, start: (
            np.where((lang >= 3) | ((world.prior_work_true[c] >= 3) & (lang >= 2)), 0.50, 0.05),
            0.0,
        ),
        "work_trial": lambda world, r, c, lang, start: (np.where(lang >= 2, 0.40, 0.10), 0.0),
        "pay_subsidy": lambda world, r, c, lang, start: (0.85, 0.0),
        "rehabilitation_support": lambda world, r, c, lang, start: (
            np.where(world.profiles.health_limitation[c], 0.65, -0.10),
            np.where(world.profiles.health_limitation[c], 0.3, 0.0),
        ),
    }

    def wait_days(self, state: State, a: np.ndarray, noise: Noise | None = None) -> np.ndarray:
        k = np.minimum(state.epoch, self.params.max_epochs - 1)
        u = (noise or self.noise).wait_uniform[state.client, k]
        return (1 + np.floor(u * self.max_wait_days[a])).astype(np.int64)

    def unemployed_rate(self, state: State) -> np.ndarray:
        """1 where time without work counts as unemployment, 0 for inactive clients."""
        return (~self.profiles.inactive[state.client]).astype(np.float64)
