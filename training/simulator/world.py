"""The world: profiles, noise and the rules that move clients along."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from model.catalogue import Catalogue, load_catalogue
from model.features import DAYS_PER_MONTH, DAYS_PER_YEAR, NONE_YET, completed_feature
from training.simulator.dates import _day, _month_of, _year_of
from training.simulator.params import WorldParams
from training.simulator.profiles import _profiles
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
        self.services = self.catalogue.service_codes
        self.actions = self.catalogue.actions
        self.n_services = len(self.services)
        self.nns = len(self.actions) - 1
        self.sidx = {code: i for i, code in enumerate(self.services)}
        self.rng = np.random.default_rng(params.seed)
        self.extract = _day(params.extract_date)
        self.profiles = _profiles(params, self.rng)
        edu = self.profiles.education_level
        self.tertiary = np.isin(edu, ("bachelor", "master_or_higher"))
        self.low_edu = np.isin(edu, ("none", "primary"))
        self.basic_edu = ~self.low_edu & (edu != "unknown")
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
            duration_z=rng.standard_normal((n, k_max)).astype(np.float32),
            interrupt_u=rng.random((n, k_max)).astype(np.float32),
            interrupt_frac=rng.uniform(0.15, 0.85, (n, k_max)).astype(np.float32),
            lang_u=rng.random((n, k_max)).astype(np.float32),
            gap=rng.integers(1, 31, (n, k_max)).astype(np.int32),
            review_interval=rng.integers(75, 150, (n, k_max)).astype(np.int32),
            wait_u=rng.random((n, k_max)).astype(np.float32),
            record_u=rng.random((n, k_max)).astype(np.float32),
        )

    def _service_tables(self) -> None:
        p = self.params
        s = self.services
        self.typical = np.array([SERVICE_TYPICAL_DAYS[c] for c in s], dtype=np.float64)
        self.lock_e = np.array([LOCK_IN[c][0] for c in s]) * p.lock_in_scale
        self.lock_u = np.array([LOCK_IN[c][1] for c in s]) * p.lock_in_scale
        # Typical waits (days) for a place; the queue for integration training
        # is long at times, so a planned course can start over a month later.
        self.wait_max = np.array(
            [
                45 if c == "integration_training" else 40 if c == "vocational_training" else 21
                for c in s
            ],
            dtype=np.float64,
        )

    # -- the hazards ----------------------------------------------------------
    def log_hazards(
        self, st: State, t: np.ndarray, activity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Log yearly hazards of (employment, education) at day t.

        `activity` is the service index the client is in, or -1 (waiting,
        between services, continuing without a new service).
        """
        pr = self.profiles
        c = st.c
        years = np.clip((t - pr.arrival[c]) / DAYS_PER_YEAR, 0.0, 6.0)
        lang = np.minimum(st.lang_true, 4).astype(np.float64)
        eta_e = pr.base_e[c] + 0.32 * lang + 0.16 * years + st.persist_e
        eta_u = pr.base_u[c] + 0.35 * np.maximum(lang - 2.0, 0.0) + 0.05 * years + st.persist_u
        busy = activity >= 0
        if busy.any():
            a = activity[busy]
            eta_e[busy] += self.lock_e[a]
            eta_u[busy] += self.lock_u[a]
        return eta_e, eta_u

    def hazard(
        self, st: State, t: np.ndarray, activity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        eta_e, eta_u = self.log_hazards(st, t, activity)
        return np.exp(eta_e) / DAYS_PER_YEAR, np.exp(eta_u) / DAYS_PER_YEAR

    # -- features as the data will show them -----------------------------------
    def features(self, st: State, names: frozenset[str] | None = None) -> dict[str, np.ndarray]:
        """The decision-point features of `model.features`, from the state.

        `names` limits the work to the features asked for (the eligibility
        rules need only a few, and the policy runs at every step of every path).
        """
        pr = self.profiles
        c = st.c
        t = st.t

        def last_service() -> np.ndarray:
            code = np.where(st.last_service >= 0, st.last_service, 0)
            return np.where(
                st.last_service >= 0, np.asarray(self.services, dtype=object)[code], NONE_YET
            )

        def last_status() -> np.ndarray:
            return np.select(
                [st.last_status == 0, st.last_status == 1], ["completed", "interrupted"], NONE_YET
            ).astype(object)

        makers: dict[str, Any] = {
            "age": lambda: (_year_of(t) - pr.birth_year[c]).astype(np.float64),
            "gender": lambda: pr.gender[c],
            "mother_tongue": lambda: pr.mother_tongue[c],
            "citizenship_region": lambda: pr.citizenship_region[c],
            "residence_basis": lambda: pr.residence_basis[c],
            "education_level": lambda: (
                self.education_text[c] if names is not None else pr.education_level[c]
            ),
            "prior_work_years": lambda: pr.prior_work_obs[c],
            "literacy_needs": lambda: pr.literacy_needs[c].astype(np.float64),
            "finnish_level_intake": lambda: pr.finnish_intake_obs[c],
            "health_limitation": lambda: pr.health_limitation[c].astype(np.float64),
            "children_under_school_age": lambda: pr.children_under_school_age[c].astype(np.float64),
            "years_since_arrival": lambda: (t - pr.arrival[c]) / DAYS_PER_YEAR,
            "months_since_intake": lambda: (t - pr.intake[c]) / DAYS_PER_MONTH,
            "finnish_level": lambda: st.lang_obs.astype(np.float64),
            "n_services": lambda: st.n_services.astype(np.float64),
            "n_interrupted": lambda: st.n_interrupted.astype(np.float64),
            "in_service": lambda: np.zeros(len(st), dtype=np.float64),
            "last_service": last_service,
            "last_service_status": last_status,
            "days_since_last_service_end": lambda: t - st.last_end,
            "n_reviews": lambda: st.n_reviews.astype(np.float64),
            "months_unemployed": lambda: st.unemp_days / DAYS_PER_MONTH,
        }
        for j, code in enumerate(self.services):
            makers[completed_feature(code)] = lambda j=j: st.completed[:, j].astype(np.float64)
        wanted = makers if names is None else [n for n in makers if n in names]
        return {name: makers[name]() for name in wanted}

    # -- the historical caseworker policy ---------------------------------------
    def _static_policy_logits(self) -> np.ndarray:
        """The parts of the policy's logits that depend on the client alone."""
        p = self.params
        pr = self.profiles
        s = self.sidx
        h = p.confounding
        n = len(pr.intake)
        logits = np.zeros((n, len(self.actions)), dtype=np.float64)
        tertiary = self.tertiary
        work = np.nan_to_num(pr.prior_work_obs, nan=0.0)
        # Habits that follow the profile.
        logits[:, s["integration_training"]] += 1.0
        logits[:, s["literacy_training"]] += 0.2 + h * 0.8 * pr.literacy_needs
        logits[:, s["advanced_finnish"]] += 0.3
        logits[:, s["self_motivated_study"]] += -0.4
        logits[:, s["competence_centre"]] += h * 0.6 * tertiary
        logits[:, s["vocational_training"]] += h * 0.4 * (~tertiary)
        logits[:, s["degree_recognition"]] += -0.6
        logits[:, s["higher_education_bridging"]] += -0.8
        logits[:, s["job_search_coaching"]] += 0.2 + h * 0.5 * (work >= 3)
        logits[:, s["pay_subsidy"]] += -0.5
        logits[:, s["rehabilitation_support"]] += 0.3 + h * 1.0 * pr.health_limitation
        logits[:, self.nns] += 0.6
        # Selection on what the data does not show: motivated clients ask for
        # and are offered active services.
        m = pr.motivation * p.motivation_selection
        for code, weight in (
            ("work_trial", 0.8),
            ("job_search_coaching", 0.6),
            ("self_motivated_study", 0.8),
            ("higher_education_bridging", 0.8),
            ("competence_centre", 0.5),
            ("degree_recognition", 0.4),
        ):
            logits[:, s[code]] += weight * m
        logits[:, self.nns] -= 0.4 * m
        return logits

    def policy_logits(self, st: State) -> np.ndarray:
        """Logits of the historical policy over all actions (before eligibility)."""
        p = self.params
        pr = self.profiles
        c = st.c
        s = self.sidx
        h = p.confounding
        logits = self.static_logits[c]
        lang = np.nan_to_num(st.lang_obs, nan=0.0)
        work = np.nan_to_num(pr.prior_work_obs[c], nan=0.0)
        done = st.completed
        months_unemp = st.unemp_days / DAYS_PER_MONTH

        # First steps: the assessment, then the plan. Most clients start at
        # once; some postpone (work, child care, not yet reachable), more often
        # those who already work or know some Finnish.
        first = done[:, s["initial_assessment"]] == 0
        plan = (~first) & (done[:, s["integration_plan"]] == 0)
        logits[:, s["initial_assessment"]] += np.where(first, 3.2, -4.0)
        logits[:, s["integration_plan"]] += np.where(plan, 3.2, -4.0)
        logits[:, self.nns] += np.where(first | plan, h * 0.5 * ((work >= 3) | (lang >= 2)), 0.0)

        # Habits: the long language course is the default answer at low levels.
        some_finnish = lang >= 2
        logits[:, s["integration_training"]] += h * (2.2 * (lang <= 1) + 0.8 * (lang == 2))
        logits[:, s["advanced_finnish"]] += h * 0.5 * some_finnish
        logits[:, s["self_motivated_study"]] += h * 0.3 * some_finnish
        logits[:, s["competence_centre"]] += h * 0.3 * some_finnish
        logits[:, s["degree_recognition"]] += h * 0.3 * some_finnish
        logits[:, s["job_search_coaching"]] += h * 0.4 * (lang >= 3)
        logits[:, s["work_trial"]] += h * 0.3 * (self.low_edu[c] & (lang >= 1))
        # Pay subsidy goes to the long-term unemployed (negative selection),
        # and its budget is spent by October: none is granted in the last quarter.
        subsidy = logits[:, s["pay_subsidy"]] + h * 0.08 * np.minimum(months_unemp, 24.0)
        logits[:, s["pay_subsidy"]] = np.where(_month_of(st.t) >= 10, -np.inf, subsidy)
        logits[:, self.nns] += h * (0.4 * (lang >= 3) + 0.3 * (st.n_services >= 4))
        return logits

    def eligible(self, cols: dict[str, np.ndarray], n: int) -> np.ndarray:
        return self.catalogue.eligibility(cols, n)

    def choose(self, st: State, noise: Noise | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The historical policy's action at a review; also the eligibility matrix."""
        cols = self.features(st, self.rule_features)
        elig = self.eligible(cols, len(st))
        logits = self.policy_logits(st)
        logits = np.where(elig, logits, -np.inf)
        k = np.minimum(st.k, self.params.max_epochs - 1)
        logits = logits + (noise or self.noise).gumbel[st.c, k]
        return np.argmax(logits, axis=1), elig

    # -- what a service does ------------------------------------------------------
    def service_plan(
        self, st: State, a: np.ndarray, start: np.ndarray, noise: Noise | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """End day and interruption flag of service `a` started at `start`."""
        k = np.minimum(st.k, self.params.max_epochs - 1)
        c = st.c
        pr = self.profiles
        nz = noise or self.noise
        z = nz.duration_z[c, k]
        duration = np.maximum(1.0, np.round(self.typical[a] * np.exp(0.25 * z)))
        lang = st.lang_true
        p_int = np.full(len(st), 0.12)
        s = self.sidx
        language_or_study = (
            (a == s["integration_training"])
            | (a == s["literacy_training"])
            | (a == s["advanced_finnish"])
            | (a == s["self_motivated_study"])
        )
        p_int += 0.30 * (
            (a == s["integration_training"])
            & pr.literacy_needs[c]
            & (st.completed[:, s["literacy_training"]] == 0)
        )
        p_int += 0.35 * ((a == s["vocational_training"]) & (lang < 2))
        p_int += 0.15 * (language_or_study & pr.health_limitation[c])
        p_int += np.where(pr.children_under_school_age[c] > 0, 0.05, 0.0)
        interrupted = nz.interrupt_u[c, k] < p_int
        frac = np.where(interrupted, nz.interrupt_frac[c, k], 1.0)
        length = np.maximum(1.0, np.round(duration * frac))
        return start + length.astype(np.int64), interrupted

    def finish_service(
        self,
        st: State,
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
        pr = self.profiles
        n = len(st)
        c = st.c
        apply = np.ones(n, dtype=bool) if mask is None else mask
        k = np.minimum(st.k, p.max_epochs - 1)
        s = self.sidx
        done = apply & ~interrupted
        lang = st.lang_true
        tertiary = self.tertiary[c]
        low_edu = self.low_edu[c]
        literacy = pr.literacy_needs[c]
        literacy_gap = literacy & (st.completed[:, s["literacy_training"]] == 0)
        u = (noise or self.noise).lang_u[c, k]

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
        st.persist_e = st.persist_e + p.effect_scale * de
        st.persist_u = st.persist_u + p.effect_scale * du

        st.lang_true = new_lang
        st.lang_obs = np.where(
            measured, np.fmax(st.lang_obs, new_lang.astype(np.float64)), st.lang_obs
        )
        rows = np.flatnonzero(done)
        st.completed[rows, a[rows]] += 1
        st.n_interrupted = st.n_interrupted + (apply & interrupted)
        st.last_service = np.where(apply, a, st.last_service)
        st.last_status = np.where(apply, np.where(interrupted, 1, 0), st.last_status)
        st.last_end = np.where(apply, end.astype(np.float64), st.last_end)
        return level_after

    # Lasting effects (log-hazard increments of employment, education) of a
    # completed service, by whom it suits; each gets the rows it applies to.
    _gains: ClassVar[dict[str, Any]] = {
        "initial_assessment": lambda w, r, c, lang, start: (0.05, 0.02),
        "integration_plan": lambda w, r, c, lang, start: (0.05, 0.02),
        "literacy_training": lambda w, r, c, lang, start: (
            np.where(w.profiles.literacy_needs[c], 0.45, 0.0),
            np.where(w.profiles.literacy_needs[c], 0.2, 0.0),
        ),
        "integration_training": lambda w, r, c, lang, start: (0.12, 0.15),
        "advanced_finnish": lambda w, r, c, lang, start: (0.10, 0.25),
        "self_motivated_study": lambda w, r, c, lang, start: (
            np.where(w.basic_edu[c], 0.15, 0.0),
            np.where(w.basic_edu[c], 0.85, 0.0),
        ),
        "competence_centre": lambda w, r, c, lang, start: (0.40, 3.0),
        "vocational_training": lambda w, r, c, lang, start: (
            np.where(lang >= 2, np.where(w.tertiary[c], 0.10, 0.70), 0.0),
            0.15,
        ),
        "degree_recognition": lambda w, r, c, lang, start: (
            np.where(w.tertiary[c], 0.75, 0.0),
            np.where(w.tertiary[c], 0.2, 0.0),
        ),
        "higher_education_bridging": lambda w, r, c, lang, start: (
            0.05,
            np.where(_year_of(start) - w.profiles.birth_year[c] < 40, 1.25, 0.4),
        ),
        "job_search_coaching": lambda w, r, c, lang, start: (
            np.where((lang >= 3) | ((w.prior_work_true[c] >= 3) & (lang >= 2)), 0.50, 0.05),
            0.0,
        ),
        "work_trial": lambda w, r, c, lang, start: (np.where(lang >= 2, 0.40, 0.10), 0.0),
        "pay_subsidy": lambda w, r, c, lang, start: (0.85, 0.0),
        "rehabilitation_support": lambda w, r, c, lang, start: (
            np.where(w.profiles.health_limitation[c], 0.65, -0.10),
            np.where(w.profiles.health_limitation[c], 0.3, 0.0),
        ),
    }

    def wait_days(self, st: State, a: np.ndarray, noise: Noise | None = None) -> np.ndarray:
        k = np.minimum(st.k, self.params.max_epochs - 1)
        u = (noise or self.noise).wait_u[st.c, k]
        return (1 + np.floor(u * self.wait_max[a])).astype(np.int64)

    def unemployed_rate(self, st: State) -> np.ndarray:
        """1 where time without work counts as unemployment, 0 for inactive clients."""
        return (~self.profiles.inactive[st.c]).astype(np.float64)
