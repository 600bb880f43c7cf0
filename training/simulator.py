"""The built-in world: a seeded simulator of an Espoo-like integration caseload.

Why a simulator: real client data cannot leave a municipality, and only a
simulated world knows what *would* have happened under every action, which is
what the learners must be judged on (SPEC §5).

How the world works
-------------------
Each client has a profile drawn to match public figures (see `_profiles`) and
a latent *motivation* that the data never shows. From intake, the client's
case moves through *epochs*: at a plan review the historical caseworker policy
picks the next action; a service is started after a waiting time, runs for a
while (or is interrupted), and the next review follows its end; "no new
service" means the next review comes a few months later.

Finding work or starting education is a competing-risks process in continuous
time. Its hazard is piecewise constant: it depends on the profile, motivation,
the Finnish level reached, years since arrival, the lasting effects of the
services completed so far, and the service the client is in now (lock-in: a
full-time course lowers the chance of taking a job while it runs). Moving away
is a constant competing hazard.

Truth
-----
Randomness other than the two event clocks (success and moving away) is drawn
up front per client and epoch: the caseworker's choices (Gumbel noise on the
policy's logits), durations, interruptions, language gains, waits and review
intervals. Given one such draw, the path a client takes when no event happens
is deterministic, so the probability that the label occurs within the horizon
when action `a` is taken and the historical policy continues afterwards is a
closed-form sum over the path's segments. The `truth` table averages that
probability over fresh draws of everything that happens after the decision
(`truth_replicates` draws, shared by all actions of a decision point), keeping
the client's latent traits (motivation): it is the client's chance under each
action, not a clairvoyant outcome. Its mean over the actions actually taken
equals the mean of the observed labels, up to Monte Carlo error of the draws.

The historical policy is confounded on purpose: caseworkers assign by profile
and habit (long language courses by default), select motivated clients into
some services, face waiting times, and the pay-subsidy budget runs out each
autumn. Service effects are heterogeneous, including harm (vocational
training below A2, self-motivated study without basic education) and lock-in.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from model.catalogue import Catalogue, load_catalogue
from model.features import DAYS_PER_MONTH, DAYS_PER_YEAR, NONE_YET, completed_feature
from model.vocab import CEFR_LEVELS, NO_NEW_SERVICE, REVIEW

# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldParams:
    """Everything that defines a world; written to `world.json` beside the data."""

    n_clients: int = 10_000
    seed: int = 1
    # Strength of the historical policy's profile-driven habits (0 = assignment
    # ignores the profile apart from eligibility and the fixed first steps).
    confounding: float = 1.0
    # How strongly caseworkers select motivated clients into some services.
    motivation_selection: float = 1.0
    # Effect of (unobserved) motivation on the outcome hazards.
    motivation_effect: float = 0.5
    # Scales every service's lasting effect and lock-in.
    effect_scale: float = 1.0
    lock_in_scale: float = 1.0
    # Share of plan reviews whose agreed service the case system records.
    planned_service_recorded: float = 0.5
    move_away_per_year: float = 0.04
    first_intake: str = "2018-01-01"
    extract_date: str = "2025-12-31"
    horizon_days: int = 365
    max_years_in_services: float = 4.0
    max_epochs: int = 18
    # Draws of the randomness after a decision that the truth averages over.
    truth_replicates: int = 6

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------
# Profile distributions, with their sources
# --------------------------------------------------------------------------

# Residence basis of the 2021 inflow to Finland (Migri / Statistics Finland,
# first residence permits and EU registrations 2021): free mobility 28 %, work
# 27 %, family 33 %, humanitarian 10 %; the remaining 2 % study and other.
# Temporary protection (Ukraine, from March 2022) comes on top as its own stream.
RESIDENCE_MIX = {
    "eu": 0.28,
    "work": 0.27,
    "family": 0.33,
    "humanitarian": 0.10,
    "study": 0.015,
    "other": 0.005,
}
TEMPORARY_PROTECTION_FROM = "2022-03-01"
TEMPORARY_PROTECTION_SHARE = 0.18  # of intakes after that date

# Mother tongues: Espoo's largest foreign-language groups (City of Espoo,
# population by language 2023: Russian, Estonian, Arabic, English, Chinese,
# Somali, Ukrainian, Persian, ...), conditioned on residence basis so that
# humanitarian migrants speak Arabic, Somali, Persian, Kurdish, Dari more
# often and EU movers Estonian, English, Spanish. Region of citizenship follows
# the language.
LANGUAGES_BY_BASIS: dict[str, dict[str, float]] = {
    "eu": {
        "et": 0.30,
        "en": 0.12,
        "es": 0.09,
        "ru": 0.08,
        "pl": 0.07,
        "ro": 0.06,
        "de": 0.06,
        "sv": 0.05,
        "fr": 0.05,
        "it": 0.05,
        "lv": 0.07,
    },
    "work": {
        "en": 0.20,
        "ru": 0.13,
        "zh": 0.14,
        "hi": 0.13,
        "vi": 0.08,
        "uk": 0.06,
        "tr": 0.05,
        "es": 0.05,
        "tl": 0.06,
        "ne": 0.05,
        "fa": 0.05,
    },
    "family": {
        "ru": 0.20,
        "ar": 0.10,
        "en": 0.09,
        "zh": 0.08,
        "so": 0.07,
        "th": 0.06,
        "vi": 0.06,
        "fa": 0.06,
        "tr": 0.05,
        "hi": 0.05,
        "et": 0.06,
        "sq": 0.06,
        "uk": 0.06,
    },
    "humanitarian": {
        "ar": 0.32,
        "so": 0.16,
        "fa": 0.14,
        "ku": 0.12,
        "prs": 0.10,
        "ti": 0.08,
        "ps": 0.08,
    },
    "study": {"zh": 0.25, "en": 0.20, "hi": 0.15, "vi": 0.15, "ru": 0.10, "fa": 0.15},
    "other": {"ru": 0.3, "en": 0.3, "ar": 0.2, "fa": 0.2},
    "temporary_protection": {"uk": 0.80, "ru": 0.20},
}
REGION_OF_LANGUAGE = {
    "et": "eu_efta",
    "es": "eu_efta",
    "pl": "eu_efta",
    "ro": "eu_efta",
    "de": "eu_efta",
    "sv": "eu_efta",
    "fr": "eu_efta",
    "it": "eu_efta",
    "lv": "eu_efta",
    "ru": "europe_other",
    "uk": "europe_other",
    "sq": "europe_other",
    "tr": "europe_other",
    "ar": "middle_east",
    "fa": "middle_east",
    "ku": "middle_east",
    "prs": "asia",
    "ps": "asia",
    "so": "africa",
    "ti": "africa",
    "zh": "asia",
    "hi": "asia",
    "vi": "asia",
    "th": "asia",
    "tl": "asia",
    "ne": "asia",
    "en": "americas",
}
# English speakers come from several regions.
ENGLISH_REGIONS = {"americas": 0.35, "asia": 0.30, "africa": 0.15, "europe_other": 0.20}

# Education by residence basis (Statistics Finland, education of the
# foreign-born 2021; Migri profiles of humanitarian arrivals): labour migrants
# are mostly tertiary-educated, humanitarian arrivals often have little schooling.
EDUCATION_LEVELS_ORDER = (
    "none",
    "primary",
    "secondary",
    "vocational",
    "bachelor",
    "master_or_higher",
    "unknown",
)
EDUCATION_BY_BASIS: dict[str, tuple[float, ...]] = {
    "eu": (0.01, 0.06, 0.26, 0.24, 0.22, 0.16, 0.05),
    "work": (0.00, 0.03, 0.14, 0.18, 0.35, 0.27, 0.03),
    "family": (0.06, 0.17, 0.27, 0.14, 0.17, 0.12, 0.07),
    "humanitarian": (0.22, 0.30, 0.20, 0.08, 0.08, 0.04, 0.08),
    "study": (0.00, 0.00, 0.25, 0.05, 0.45, 0.23, 0.02),
    "other": (0.05, 0.15, 0.30, 0.15, 0.15, 0.10, 0.10),
    "temporary_protection": (0.01, 0.05, 0.20, 0.22, 0.28, 0.20, 0.04),
}

# Share of men by residence basis; family migrants are mostly women.
MALE_SHARE = {
    "eu": 0.55,
    "work": 0.62,
    "family": 0.33,
    "humanitarian": 0.56,
    "study": 0.52,
    "other": 0.5,
    "temporary_protection": 0.30,
}

# Finnish at intake: most start from nothing; Estonian speakers are a step ahead.
FINNISH_AT_INTAKE = (0.68, 0.15, 0.07, 0.03, 0.01, 0.0, 0.0)  # A0..C2
FINNISH_UNKNOWN_SHARE = 0.05

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


# --------------------------------------------------------------------------
# The world's state, as arrays
# --------------------------------------------------------------------------


@dataclass
class Profiles:
    """Static client attributes, one array entry per client."""

    client_id: np.ndarray
    intake: np.ndarray  # int days since 1970-01-01
    arrival: np.ndarray
    birth_year: np.ndarray
    gender: np.ndarray
    mother_tongue: np.ndarray
    citizenship_region: np.ndarray
    residence_basis: np.ndarray
    education_level: np.ndarray
    prior_work_true: np.ndarray
    prior_work_obs: np.ndarray
    literacy_needs: np.ndarray  # bool
    finnish_intake_true: np.ndarray  # int rank
    finnish_intake_obs: np.ndarray  # float rank, NaN unknown
    health_limitation: np.ndarray  # bool
    children_under_school_age: np.ndarray
    inactive: np.ndarray  # bool: outside the labour force (home care) rather than unemployed
    motivation: np.ndarray
    base_e: np.ndarray  # static part of the log employment hazard (per year)
    base_u: np.ndarray  # static part of the log education hazard

    def take(self, idx: np.ndarray) -> Profiles:
        return Profiles(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})


STATE_FIELDS = (
    "c",
    "t",
    "k",
    "completed",
    "n_interrupted",
    "n_services",
    "n_reviews",
    "last_service",
    "last_status",
    "last_end",
    "lang_obs",
    "lang_true",
    "unemp_days",
    "persist_e",
    "persist_u",
)


@dataclass
class State:
    """Dynamic state of a batch of walkers (a client at a time, on a path)."""

    c: np.ndarray  # client index
    t: np.ndarray  # current day (int64)
    k: np.ndarray  # epoch (index into the per-epoch noise)
    completed: np.ndarray  # (n, S) completed episodes per service
    n_interrupted: np.ndarray
    n_services: np.ndarray
    n_reviews: np.ndarray
    last_service: np.ndarray  # -1: none
    last_status: np.ndarray  # 0 completed, 1 interrupted, -1 none
    last_end: np.ndarray  # float day, NaN none
    lang_obs: np.ndarray  # float rank, NaN unknown
    lang_true: np.ndarray  # int rank
    unemp_days: np.ndarray  # float
    persist_e: np.ndarray
    persist_u: np.ndarray

    def take(self, idx: np.ndarray) -> State:
        return State(**{name: getattr(self, name)[idx].copy() for name in STATE_FIELDS})

    def put(self, idx: np.ndarray, other: State) -> None:
        for name in STATE_FIELDS:
            getattr(self, name)[idx] = getattr(other, name)

    def __len__(self) -> int:
        return len(self.c)


@dataclass
class Noise:
    """Pre-drawn randomness per client and epoch, shared by every counterfactual."""

    gumbel: np.ndarray  # (n, K, A) float32
    duration_z: np.ndarray  # (n, K)
    interrupt_u: np.ndarray
    interrupt_frac: np.ndarray
    lang_u: np.ndarray
    gap: np.ndarray  # days from a service's end to the next review
    review_interval: np.ndarray  # days to the next review after "no new service"
    wait_u: np.ndarray
    record_u: np.ndarray


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
            gumbel=-np.log(-np.log(rng.random((n, k_max, a), dtype=np.float32) + np.float32(1e-12))),
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
            return np.where(st.last_service >= 0, np.asarray(self.services, dtype=object)[code], NONE_YET)

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
            "education_level": lambda: (self.education_text[c] if names is not None else pr.education_level[c]),
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
        is_language = is_("integration_training") | is_("literacy_training") | is_("advanced_finnish")
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
        st.lang_obs = np.where(measured, np.fmax(st.lang_obs, new_lang.astype(np.float64)), st.lang_obs)
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


# --------------------------------------------------------------------------
# Probability of success along a deterministic path
# --------------------------------------------------------------------------


def _segment_success(h: np.ndarray, mu: float, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(success in the segment | alive at its start) and P(alive at its end)."""
    rate = h + mu
    length = np.maximum(length, 0.0)
    alive = np.exp(-rate * length)
    p = np.where(rate > 0, h / np.where(rate > 0, rate, 1.0) * (1.0 - alive), 0.0)
    return p, alive


def path_success_probability(
    world: World,
    st: State,
    first_action: np.ndarray,
    first_wait: np.ndarray,
    horizon_days: int,
    at_review: np.ndarray | None = None,
    noise: Noise | None = None,
) -> np.ndarray:
    """P(label) when `first_action` is taken at st.t and the historical policy follows.

    The window is [t, t + horizon_days + 1) in continuous time, so that a spell
    dated `horizon_days` after the decision still counts, as the label does.
    `at_review` marks decisions made at a plan review: that review counts
    among the reviews the later decisions see.
    """
    p = world.params
    nz = noise or world.noise
    mu = p.move_away_per_year / DAYS_PER_YEAR
    k_last = p.max_epochs - 1
    st = st.take(np.arange(len(st)))  # work on a copy
    n = len(st)
    end_window = st.t.astype(np.float64) + horizon_days + 1
    exit_day = world.profiles.intake[st.c] + int(p.max_years_in_services * DAYS_PER_YEAR)
    prob = np.zeros(n)
    alive = np.ones(n)
    action = first_action.astype(np.int64).copy()
    wait = first_wait.astype(np.int64).copy()
    if at_review is not None:
        st.n_reviews = st.n_reviews + at_review.astype(st.n_reviews.dtype)
    active = np.ones(n, dtype=bool)
    first = True
    subsidy_code = world.sidx["pay_subsidy"]

    while True:
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        sub = st.take(idx)
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
            ps, al = _segment_success(h_e + h_u, mu, length)
            p_acc += alive_acc * ps
            alive_acc *= al

        t0 = sub.t.astype(np.float64)
        if first:
            act = action[idx]
            wt = wait[idx]
            leaving = np.zeros(len(idx), dtype=bool)
            first = False
        else:
            # A plan review: the case leaves integration services, or the
            # policy picks the next action.
            leaving = (t0 >= exit_day[idx]) | (sub.k >= p.max_epochs)
            act, _ = world.choose(sub, nz)
            sub.n_reviews = sub.n_reviews + 1
            wt = np.where(act < world.nns, world.wait_days(sub, np.minimum(act, world.nns - 1), nz), 0)
        nns = (act == world.nns) & ~leaving
        svc = ~nns & ~leaving
        kk = np.minimum(sub.k, k_last)
        rate_u = world.unemployed_rate(sub)
        none = np.full(len(idx), -1)

        # Waiting for a place, or continuing without a new service, or (on
        # leaving services) the rest of the window.
        interval = nz.review_interval[sub.c, kk]
        t1 = np.where(nns, t0 + interval, np.where(leaving, window, t0 + wt))
        segment(t0, t1, none)
        sub.unemp_days = sub.unemp_days + np.where(leaving, 0.0, rate_u * (t1 - t0))
        # The service itself, then the days to the next review.
        a_safe = np.where(svc, act, 0)
        sub.t = np.where(svc, t1, sub.t).astype(np.int64)
        end, interrupted = world.service_plan(sub, a_safe, sub.t, nz)
        t2 = np.where(svc, end, t1)
        segment(t1, t2, np.where(svc, act, -1))
        paid_work = svc & (act == subsidy_code)
        sub.unemp_days = sub.unemp_days + np.where(svc & ~paid_work, rate_u * (t2 - t1), 0.0)
        sub.n_services = sub.n_services + svc
        world.finish_service(sub, a_safe, sub.t, end, interrupted, mask=svc, noise=nz)
        gap = nz.gap[sub.c, kk]
        t3 = np.where(svc, t2 + gap, t2)
        segment(t2, t3, none)
        sub.unemp_days = sub.unemp_days + np.where(svc, rate_u * gap, 0.0)
        sub.t = np.where(leaving, sub.t, t3).astype(np.int64)
        sub.k = sub.k + 1
        st.put(idx, sub)
        prob[idx] = p_acc
        alive[idx] = alive_acc
        active[idx] = ~leaving & (t3 < window)
    return prob


# --------------------------------------------------------------------------
# Drawing the history
# --------------------------------------------------------------------------


@dataclass
class History:
    clients: pd.DataFrame
    episodes: pd.DataFrame
    outcomes: pd.DataFrame
    truth: pd.DataFrame


def simulate(
    params: WorldParams, catalogue: Catalogue | None = None, progress: Any = None
) -> History:
    """Draw a world and its history; return the three tables and the truth."""
    world = World(params, catalogue)
    return _History(world, progress).run()


def simulate_with_features(
    params: WorldParams, catalogue: Catalogue | None = None
) -> tuple[History, pd.DataFrame]:
    """`simulate`, plus the world's own features at its decision points.

    The second frame has `client_id`, `decision_date`, then every feature of
    `World.features` as the simulator computes it from its internal state, row
    for row with `History.truth`. `model.decision_points` derives the same
    features from the written tables; tests/test_simulator.py checks that the
    two agree.
    """
    run = _History(World(params, catalogue), None, keep_features=True)
    history = run.run()
    features = run.features if run.features is not None else pd.DataFrame()
    return history, features


class _History:
    def __init__(self, world: World, progress: Any, *, keep_features: bool = False) -> None:
        self.w = world
        self.progress = progress
        self.keep_features = keep_features
        self.features: pd.DataFrame | None = None
        self.episodes: list[dict[str, np.ndarray]] = []
        self.spells: list[dict[str, np.ndarray]] = []
        self.dps: list[dict[str, Any]] = []

    def note(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what)

    def run(self) -> History:
        w = self.w
        p = w.params
        pr = w.profiles
        n = p.n_clients
        mu = p.move_away_per_year / DAYS_PER_YEAR
        rng = np.random.default_rng([p.seed, 7])
        clock_success = rng.exponential(size=n)  # remaining Exp(1) budget
        self.move_time = pr.intake + rng.exponential(size=n) / mu
        move_day = np.floor(self.move_time).astype(np.int64)
        type_u = rng.random(n)
        st = State(
            c=np.arange(n),
            t=pr.intake.copy(),
            k=np.zeros(n, dtype=np.int64),
            completed=np.zeros((n, w.n_services), dtype=np.int16),
            n_interrupted=np.zeros(n, dtype=np.int64),
            n_services=np.zeros(n, dtype=np.int64),
            n_reviews=np.zeros(n, dtype=np.int64),
            last_service=np.full(n, -1, dtype=np.int64),
            last_status=np.full(n, -1, dtype=np.int64),
            last_end=np.full(n, np.nan),
            lang_obs=pr.finnish_intake_obs.copy(),
            lang_true=pr.finnish_intake_true.copy(),
            unemp_days=np.zeros(n),
            persist_e=np.zeros(n),
            persist_u=np.zeros(n),
        )
        self.success_day = np.full(n, -1, dtype=np.int64)
        self.success_kind = np.full(n, "", dtype=object)
        self.clock = clock_success
        self.move_day = move_day
        self.type_u = type_u
        self.subsidy: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        exit_day = pr.intake + int(p.max_years_in_services * DAYS_PER_YEAR)
        alive = np.ones(n, dtype=bool)  # no success, not moved, before the extract

        for _epoch in range(p.max_epochs + 1):
            idx = np.flatnonzero(alive)
            if not len(idx):
                break
            self.note(f"epoch {_epoch}: {len(idx)} open cases")
            sub = st.take(idx)
            # Out of integration services: only the outcome clock runs on.
            leaving = (sub.t >= exit_day[idx]) | (sub.k >= p.max_epochs)
            if leaving.any():
                j = idx[leaving]
                self.segment(
                    st, j, st.t[j], np.full(len(j), w.extract + 1), np.full(len(j), -1), alive
                )
                alive[j] = False
                idx = idx[~leaving]
                sub = st.take(idx)
            # Reviews after the extract date are not in the data.
            beyond = sub.t > w.extract
            if beyond.any():
                alive[idx[beyond]] = False
                idx = idx[~beyond]
                sub = st.take(idx)
            if not len(idx):
                continue
            action, _ = w.choose(sub)
            review_day = sub.t.copy()
            record = (
                w.noise.record_u[sub.c, np.minimum(sub.k, p.max_epochs - 1)]
                < p.planned_service_recorded
            )
            self.episodes.append(
                dict(
                    c=idx,
                    service=np.full(len(idx), -2),
                    start=review_day,
                    end=review_day,
                    status=np.full(len(idx), 0),
                    level=np.full(len(idx), np.nan),
                    planned=np.where(record, action, -9),
                )
            )
            review_state = sub.take(np.arange(len(idx)))
            sub.n_reviews = sub.n_reviews + 1
            rate_u = w.unemployed_rate(sub)
            nns = action == w.nns
            # -- no new service: the case continues until the next review
            if nns.any():
                j = idx[nns]
                s_nns = sub.take(np.flatnonzero(nns))
                nxt = (
                    review_day[nns]
                    + w.noise.review_interval[s_nns.c, np.minimum(s_nns.k, p.max_epochs - 1)]
                )
                self.decision(
                    review_state.take(np.flatnonzero(nns)),
                    np.full(len(j), w.nns),
                    "review",
                    review_day[nns],
                )
                st.put(j, s_nns)
                self.segment(st, j, review_day[nns], nxt, np.full(len(j), -1), alive)
                st.unemp_days[j] += rate_u[nns] * (nxt - review_day[nns])
                st.t[j] = nxt
                st.k[j] += 1
            # -- a service: wait for a place, run it, review after its end
            svc = ~nns
            if svc.any():
                j = idx[svc]
                s_svc = sub.take(np.flatnonzero(svc))
                a = action[svc]
                wait = w.wait_days(s_svc, a)
                start = review_day[svc] + wait
                st.put(j, s_svc)
                self.segment(st, j, review_day[svc], start, np.full(len(j), -1), alive)
                started = alive[j] & (start <= w.extract)
                # A review is a decision of its own when no service starts within
                # 30 days: the wait was long, or work or a move came first.
                long_wait = (wait > 30) | ~started
                if long_wait.any():
                    rs = review_state.take(np.flatnonzero(svc)[long_wait])
                    self.decision(
                        rs,
                        a[long_wait],
                        "review_planned",
                        review_day[svc][long_wait],
                        wait=wait[long_wait],
                    )
                # The data ends before the planned start: the case is not followed further.
                alive[j[~started]] = False
                if not started.any():
                    continue
                j2 = j[started]
                a2 = a[started]
                s2 = st.take(j2)
                s2.unemp_days = s2.unemp_days + w.unemployed_rate(s2) * (
                    start[started] - review_day[svc][started]
                )
                s2.t = start[started]
                self.decision(s2.take(np.arange(len(j2))), a2, "service_start", start[started])
                end, interrupted = w.service_plan(s2, a2, start[started])
                st.put(j2, s2)
                self.segment(st, j2, start[started], end, a2, alive)
                finished = alive[j2] & (end <= w.extract)
                subsidy = np.asarray(w.services)[a2] == "pay_subsidy"
                # Episodes cut by success, a move or the extract date.
                stop_day = np.where(
                    self.success_day[j2] >= 0,
                    self.success_day[j2],
                    np.minimum(self.move_day[j2], w.extract + 1),
                )
                cut = ~finished
                ep_end = np.where(cut, np.where(stop_day <= w.extract, stop_day, -1), end)
                ep_status = np.where(
                    cut, np.where(stop_day <= w.extract, 1, 2), np.where(interrupted, 1, 0)
                )
                s2 = st.take(j2)
                s2.n_services = s2.n_services + 1
                level = w.finish_service(s2, a2, start[started], end, interrupted)
                self.episodes.append(
                    dict(
                        c=j2,
                        service=a2,
                        start=start[started],
                        end=ep_end,
                        status=ep_status,
                        level=np.where(finished, level, np.nan),
                        planned=np.full(len(j2), -9),
                    )
                )
                if subsidy.any():
                    self.subsidy.append(
                        (
                            j2[subsidy],
                            start[started][subsidy],
                            np.where(ep_end[subsidy] >= 0, ep_end[subsidy], -1),
                        )
                    )
                s2.unemp_days = s2.unemp_days + np.where(
                    subsidy, 0.0, w.unemployed_rate(s2) * (end - start[started])
                )
                gap = w.noise.gap[s2.c, np.minimum(s2.k, p.max_epochs - 1)]
                nxt = end + gap
                st.put(j2, s2)
                self.segment(st, j2, end, nxt, np.full(len(j2), -1), alive)
                st.unemp_days[j2] += w.unemployed_rate(st.take(j2)) * gap
                st.t[j2] = nxt
                st.k[j2] += 1
            alive &= st.t <= w.extract
        self.note("truth")
        return self.tables()

    # -- event clocks ------------------------------------------------------
    def segment(
        self,
        st: State,
        idx: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        activity: np.ndarray,
        alive: np.ndarray,
    ) -> None:
        """Run the success and move clocks over [start, end) for clients still open."""
        w = self.w
        live = alive[idx]
        if not live.any():
            return
        idx = idx[live]
        start = start[live].astype(np.float64)
        end = end[live].astype(np.float64)
        activity = activity[live]
        sub = st.take(idx)
        h_e, h_u = w.hazard(sub, start.astype(np.int64), activity)
        h = h_e + h_u
        length = np.maximum(end - start, 0.0)
        need = self.clock[idx]
        hit = h * length >= need
        t_hit = start + np.where(hit, need / np.where(h > 0, h, 1.0), np.inf)
        moved_first = self.move_time[idx] < np.minimum(t_hit, end)
        success = hit & ~moved_first
        self.clock[idx] = np.where(hit, 0.0, need - h * length)
        day = np.floor(np.where(success, t_hit, 0.0)).astype(np.int64)
        if success.any():
            s_idx = idx[success]
            self.success_day[s_idx] = day[success]
            share_e = h_e[success] / h[success]
            self.success_kind[s_idx] = np.where(
                self.type_u[s_idx] < share_e, "employed", "education"
            )
            alive[s_idx] = False
        gone = moved_first & ~success
        alive[idx[gone]] = False
        alive[idx[moved_first]] = False

    # -- decision points and their truth -------------------------------------------
    def decision(
        self,
        st: State,
        action: np.ndarray,
        kind: str,
        day: np.ndarray,
        wait: np.ndarray | None = None,
    ) -> None:
        self.dps.append(
            dict(
                state=st,
                action=action,
                kind=kind,
                day=day,
                wait=wait if wait is not None else np.zeros(len(st), dtype=np.int64),
            )
        )

    def tables(self) -> History:
        clients = _clients_frame(self.w.profiles)
        episodes = self._episodes_frame()
        outcomes = self._outcomes_frame()
        truth = self._truth()
        return History(clients, episodes, outcomes, truth)

    def _episodes_frame(self) -> pd.DataFrame:
        w = self.w
        parts = self.episodes
        c = np.concatenate([e["c"] for e in parts])
        service = np.concatenate([e["service"] for e in parts])
        start = np.concatenate([e["start"] for e in parts])
        end = np.concatenate([e["end"] for e in parts])
        status = np.concatenate([e["status"] for e in parts])
        level = np.concatenate([e["level"] for e in parts])
        planned = np.concatenate([e["planned"] for e in parts])
        codes = np.asarray([*w.actions], dtype=object)
        service_code = np.where(service == -2, REVIEW, codes[np.maximum(service, 0)])
        planned_code = np.where(planned >= 0, codes[np.maximum(planned, 0)], None)
        levels = np.asarray(CEFR_LEVELS, dtype=object)
        frame = pd.DataFrame(
            {
                "client_id": w.profiles.client_id[c],
                "service": service_code,
                "start_date": _to_dates(start),
                "end_date": _to_dates(np.where(end >= 0, end, -1), missing=-1),
                "status": np.asarray(["completed", "interrupted", "ongoing"], dtype=object)[status],
                "language_level_after": np.where(
                    np.isnan(level), None, levels[np.nan_to_num(level).astype(int)]
                ),
                "planned_service": planned_code,
            }
        )
        frame = frame.sort_values(
            ["client_id", "start_date", "service"], kind="mergesort"
        ).reset_index(drop=True)
        return frame

    def _outcomes_frame(self) -> pd.DataFrame:
        w = self.w
        pr = w.profiles
        extract = w.extract
        n = len(pr.intake)
        # When each client's spell of (un)employment ends: success, a move, or never.
        moved = (self.move_day <= extract) & (
            (self.success_day < 0) | (self.move_day < self.success_day)
        )
        succeeded = self.success_day >= 0
        stop = np.where(succeeded, self.success_day, np.where(moved, self.move_day, -1))
        base_status = np.where(pr.inactive, "inactive", "unemployed").astype(object)
        rows_c: list[np.ndarray] = []
        rows_status: list[np.ndarray] = []
        rows_start: list[np.ndarray] = []
        rows_end: list[np.ndarray] = []
        # Pay-subsidy periods interrupt the base spell with subsidised employment.
        if self.subsidy:
            sc = np.concatenate([s[0] for s in self.subsidy])
            ss = np.concatenate([s[1] for s in self.subsidy])
            se = np.concatenate([s[2] for s in self.subsidy])
        else:
            sc = ss = se = np.zeros(0, dtype=np.int64)
        order = np.lexsort((ss, sc))
        sc, ss, se = sc[order], ss[order], se[order]
        # Base spells: from intake to the first subsidy start, between subsidies, after the last.
        cuts_c = np.concatenate([np.arange(n), sc])
        cuts_start = np.concatenate([pr.intake, np.where(se >= 0, se, -1)])
        order2 = np.lexsort((cuts_start, cuts_c))
        cuts_c, cuts_start = cuts_c[order2], cuts_start[order2]
        keep = cuts_start >= 0
        cuts_c, cuts_start = cuts_c[keep], cuts_start[keep]
        # End of each base spell: the next subsidy start for the client, else the stop day.
        next_sub = np.full(len(cuts_c), -1, dtype=np.int64)
        if len(sc):
            pos = np.searchsorted(sc * 10**7 + ss, cuts_c * 10**7 + cuts_start, side="left")
            valid = pos < len(sc)
            pos_c = np.minimum(pos, len(sc) - 1)
            same = valid & (sc[pos_c] == cuts_c)
            next_sub = np.where(same, ss[pos_c], -1)
        spell_end = np.where(next_sub >= 0, next_sub, stop[cuts_c])
        # A subsidy cut short by work or a move leaves no base spell after it.
        nonempty = (spell_end < 0) | (spell_end > cuts_start)
        cuts_c, cuts_start, spell_end = cuts_c[nonempty], cuts_start[nonempty], spell_end[nonempty]
        rows_c.append(cuts_c)
        rows_status.append(base_status[cuts_c])
        rows_start.append(cuts_start)
        rows_end.append(spell_end)
        if len(sc):
            rows_c.append(sc)
            rows_status.append(np.full(len(sc), "subsidised_employment", dtype=object))
            rows_start.append(ss)
            rows_end.append(se)
        # The outcome spells themselves.
        rng = np.random.default_rng([w.params.seed, 11])
        s_idx = np.flatnonzero(succeeded)
        dur = rng.exponential(3000, len(s_idx)).astype(np.int64) + 30
        s_end = self.success_day[s_idx] + dur
        rows_c.append(s_idx)
        rows_status.append(self.success_kind[s_idx])
        rows_start.append(self.success_day[s_idx])
        rows_end.append(np.where(s_end <= extract, s_end, -1))
        m_idx = np.flatnonzero(moved)
        rows_c.append(m_idx)
        rows_status.append(np.full(len(m_idx), "moved_away", dtype=object))
        rows_start.append(self.move_day[m_idx])
        rows_end.append(np.full(len(m_idx), -1))
        c = np.concatenate(rows_c)
        status = np.concatenate(rows_status)
        start = np.concatenate(rows_start)
        end = np.concatenate(rows_end)
        keep = (start <= extract) & ((end < 0) | (end >= start))
        end = np.where(end > extract, -1, end)
        frame = pd.DataFrame(
            {
                "client_id": pr.client_id[c[keep]],
                "status": status[keep],
                "start_date": _to_dates(start[keep]),
                "end_date": _to_dates(end[keep], missing=-1),
            }
        )
        return frame.sort_values(
            ["client_id", "start_date", "status"], kind="mergesort"
        ).reset_index(drop=True)

    def _truth(self) -> pd.DataFrame:
        w = self.w
        p = w.params
        if not self.dps:
            return pd.DataFrame()
        states = [d["state"] for d in self.dps]
        st = State(
            **{name: np.concatenate([getattr(s, name) for s in states]) for name in STATE_FIELDS}
        )
        action = np.concatenate([d["action"] for d in self.dps])
        kind = np.concatenate(
            [np.full(len(d["action"]), d["kind"], dtype=object) for d in self.dps]
        )
        day = np.concatenate([d["day"] for d in self.dps])
        wait = np.concatenate([d["wait"] for d in self.dps])
        # Keep only decisions the data shows: reviews whose window has no start,
        # dated on or before the extract.
        keep = day <= w.extract
        st = st.take(np.flatnonzero(keep))
        action, kind, day, wait = action[keep], kind[keep], day[keep], wait[keep]
        n = len(st)
        at_review = kind != "service_start"
        cols = w.features(st)
        if self.keep_features:
            self.features = (
                pd.DataFrame(
                    {
                        "client_id": w.profiles.client_id[st.c],
                        "decision_date": _to_dates(day),
                        **cols,
                    }
                )
                .sort_values(["client_id", "decision_date"], kind="mergesort")
                .reset_index(drop=True)
            )
        elig = w.eligible(cols, n)
        # The chance under each action averages over everything still to be
        # drawn after the decision (durations, drop-outs, language gains, the
        # next caseworkers' choices): fresh draws of that randomness, shared by
        # all actions of a decision point so that their differences are sharp.
        replicates = max(1, p.truth_replicates)
        # Only eligible actions are candidates; the others stay NaN.
        prob = np.where(elig, 0.0, np.nan)
        p_hist = np.zeros(n)
        planned = np.flatnonzero(kind == "review_planned")
        cell_rows, cell_actions = np.nonzero(elig)
        chunk = 400_000
        for r in range(replicates):
            noise = w.draw_noise(np.random.default_rng([p.seed, 13, r]))
            for lo in range(0, len(cell_rows), chunk):
                rows = cell_rows[lo : lo + chunk]
                acts = cell_actions[lo : lo + chunk]
                prob[rows, acts] += path_success_probability(
                    w, st.take(rows), acts, np.zeros(len(rows), dtype=np.int64),
                    p.horizon_days, at_review[rows], noise,
                )
            # The historical action as it really happened: a planned service
            # that waited for its place.
            if len(planned):
                p_hist[planned] += path_success_probability(
                    w, st.take(planned), action[planned], wait[planned],
                    p.horizon_days, at_review[planned], noise,
                )
        prob /= replicates
        p_hist /= replicates
        direct = np.setdiff1d(np.arange(n), planned)
        p_hist[direct] = prob[direct, action[direct]]
        frame = pd.DataFrame(
            {
                "client_id": w.profiles.client_id[st.c],
                "decision_date": _to_dates(day),
            }
        )
        for j, code in enumerate(w.actions):
            frame[code] = prob[:, j]
        for j, code in enumerate(w.actions):
            frame[f"eligible_{code}"] = elig[:, j]
        frame["historical_action"] = np.asarray(w.actions, dtype=object)[action]
        frame["p_historical"] = p_hist
        frame = frame.sort_values(["client_id", "decision_date"], kind="mergesort").reset_index(
            drop=True
        )
        return frame


# --------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------


def _profiles(p: WorldParams, rng: np.random.Generator) -> Profiles:
    n = p.n_clients
    first = _day(p.first_intake)
    last = _day(p.extract_date) - 60
    intake = np.sort(rng.integers(first, last + 1, n))
    tp_from = _day(TEMPORARY_PROTECTION_FROM)
    bases = list(RESIDENCE_MIX)
    basis = rng.choice(
        np.asarray(bases, dtype=object),
        size=n,
        p=np.array(list(RESIDENCE_MIX.values())) / sum(RESIDENCE_MIX.values()),
    )
    tp = (intake >= tp_from) & (rng.random(n) < TEMPORARY_PROTECTION_SHARE)
    basis = np.where(tp, "temporary_protection", basis).astype(object)
    tongue = np.empty(n, dtype=object)
    for b, mix in LANGUAGES_BY_BASIS.items():
        hit = basis == b
        if hit.any():
            codes = np.asarray(list(mix), dtype=object)
            probs = np.array(list(mix.values()))
            tongue[hit] = rng.choice(codes, size=int(hit.sum()), p=probs / probs.sum())
    region = np.asarray([REGION_OF_LANGUAGE.get(t, "unknown") for t in tongue], dtype=object)
    english = tongue == "en"
    regs = np.asarray(list(ENGLISH_REGIONS), dtype=object)
    region[english] = rng.choice(
        regs, size=int(english.sum()), p=np.array(list(ENGLISH_REGIONS.values()))
    )
    region = np.where(
        basis == "eu", np.where(region == "americas", "eu_efta", region), region
    ).astype(object)
    male = rng.random(n) < np.array([MALE_SHARE[b] for b in basis])
    g_u = rng.random(n)
    gender = np.where(
        g_u < 0.004, "other", np.where(g_u < 0.01, "unknown", np.where(male, "male", "female"))
    ).astype(object)
    # Age at intake: working-age adults, median about 32 (Statistics Finland,
    # age of immigrants 2021), a little older for family and humanitarian arrivals.
    age = (
        18 + rng.gamma(3.2, 4.6, n) + np.where(np.isin(basis, ("family", "humanitarian")), 2.0, 0.0)
    )
    age = np.clip(np.round(age), 18, 64).astype(np.int64)
    intake_year = _year_of(intake)
    birth_year = intake_year - age
    edu = np.empty(n, dtype=object)
    for b, probs in EDUCATION_BY_BASIS.items():
        hit = basis == b
        if hit.any():
            pr_ = np.array(probs)
            edu[hit] = rng.choice(
                np.asarray(EDUCATION_LEVELS_ORDER, dtype=object),
                size=int(hit.sum()),
                p=pr_ / pr_.sum(),
            )
    literacy = np.where(
        edu == "none",
        rng.random(n) < 0.75,
        np.where(
            edu == "primary",
            rng.random(n) < np.where(basis == "humanitarian", 0.35, 0.08),
            rng.random(n) < 0.01,
        ),
    )
    # Finnish at intake: Estonian speakers and long-time residents know more.
    f_u = rng.random(n)
    cum = np.cumsum(FINNISH_AT_INTAKE)
    finnish = np.searchsorted(cum, f_u * cum[-1]).astype(np.int64)
    lag_days = np.where(
        rng.random(n) < 0.18,
        rng.integers(365, 8 * 365, n),
        np.floor(rng.exponential(160, n)).astype(np.int64),
    )
    finnish = np.where(
        (tongue == "et") & (rng.random(n) < 0.4), np.minimum(finnish + 1, 6), finnish
    )
    finnish = np.where(lag_days > 3 * 365, np.minimum(finnish + (rng.random(n) < 0.5), 6), finnish)
    finnish = np.where(literacy, 0, finnish)
    finnish_obs = np.where(
        rng.random(n) < FINNISH_UNKNOWN_SHARE, np.nan, finnish.astype(np.float64)
    )
    arrival = intake - lag_days
    work_years = np.clip(rng.gamma(1.4, 3.2, n) * np.clip((age - 18) / 15, 0.1, 1.5), 0, age - 16)
    work_years = np.where(basis == "work", work_years + 2, work_years)
    work_years = np.where(np.isin(edu, ("none",)), work_years * 0.6, work_years)
    work_years = np.round(work_years, 1)
    work_obs = np.where(rng.random(n) < 0.15, np.nan, work_years)
    health = rng.random(n) < np.where(basis == "humanitarian", 0.18, np.where(age > 50, 0.12, 0.06))
    kids_mean = np.where(
        (age < 42) & np.isin(basis, ("family", "humanitarian", "temporary_protection")),
        0.9,
        np.where(age < 42, 0.35, 0.05),
    )
    kids = rng.poisson(kids_mean)
    female = gender == "female"
    inactive = female & (kids > 0) & (basis == "family") & (rng.random(n) < 0.5)
    motivation = rng.standard_normal(n)

    edu_e = {
        "none": -0.55,
        "primary": -0.30,
        "secondary": 0.0,
        "vocational": 0.15,
        "bachelor": 0.15,
        "master_or_higher": 0.20,
        "unknown": -0.15,
    }
    basis_e = {
        "work": 0.95,
        "eu": 0.60,
        "family": -0.10,
        "humanitarian": -0.60,
        "study": 0.15,
        "temporary_protection": 0.10,
        "other": 0.0,
    }
    base_e = (
        -2.35
        + np.array([edu_e[e] for e in edu])
        + np.array([basis_e[b] for b in basis])
        + 0.28 * np.log1p(work_years)
        - 0.035 * np.maximum(age - 38, 0)
        - 0.85 * (female & (kids > 0))
        - 0.75 * health
        - 0.45 * literacy
        - 0.5 * inactive
        + p.motivation_effect * motivation
    )
    edu_u = {
        "none": -0.8,
        "primary": -0.4,
        "secondary": 0.3,
        "vocational": 0.1,
        "bachelor": 0.2,
        "master_or_higher": 0.0,
        "unknown": -0.2,
    }
    base_u = (
        -3.2
        + np.array([edu_u[e] for e in edu])
        - 0.07 * np.maximum(age - 24, 0)
        - 0.3 * health
        + 0.8 * p.motivation_effect * motivation
    )
    client_id = np.asarray([f"C{p.seed:03d}-{i:07d}" for i in range(n)], dtype=object)
    return Profiles(
        client_id=client_id,
        intake=intake.astype(np.int64),
        arrival=arrival.astype(np.int64),
        birth_year=birth_year.astype(np.int64),
        gender=gender,
        mother_tongue=tongue,
        citizenship_region=region,
        residence_basis=basis,
        education_level=edu,
        prior_work_true=work_years,
        prior_work_obs=work_obs,
        literacy_needs=literacy.astype(bool),
        finnish_intake_true=finnish,
        finnish_intake_obs=finnish_obs,
        health_limitation=health.astype(bool),
        children_under_school_age=kids.astype(np.int64),
        inactive=inactive.astype(bool),
        motivation=motivation,
        base_e=base_e,
        base_u=base_u,
    )


def _clients_frame(pr: Profiles) -> pd.DataFrame:
    levels = np.asarray(CEFR_LEVELS, dtype=object)
    finnish = np.where(
        np.isnan(pr.finnish_intake_obs),
        "unknown",
        levels[np.nan_to_num(pr.finnish_intake_obs).astype(int)],
    )
    return pd.DataFrame(
        {
            "client_id": pr.client_id,
            "intake_date": _to_dates(pr.intake),
            "arrival_date": _to_dates(pr.arrival),
            "birth_year": pr.birth_year,
            "gender": pr.gender,
            "mother_tongue": pr.mother_tongue,
            "citizenship_region": pr.citizenship_region,
            "residence_basis": pr.residence_basis,
            "education_level": pr.education_level,
            "prior_work_years": pr.prior_work_obs,
            "literacy_needs": pr.literacy_needs,
            "finnish_level": finnish,
            "health_limitation": pr.health_limitation,
            "children_under_school_age": pr.children_under_school_age,
        }
    )


# --------------------------------------------------------------------------
# Dates and output
# --------------------------------------------------------------------------

_EPOCH = np.datetime64("1970-01-01", "D")


def _day(iso: str) -> int:
    return int((np.datetime64(iso, "D") - _EPOCH).astype(np.int64))


def _year_of(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype="datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _month_of(days: np.ndarray) -> np.ndarray:
    d = np.asarray(days, dtype="datetime64[D]")
    return (d.astype("datetime64[M]").astype(np.int64) % 12) + 1


def _to_dates(days: np.ndarray, missing: int | None = None) -> pd.Series:
    values = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]")
    series = pd.Series(values)
    if missing is not None:
        series = series.where(np.asarray(days) != missing)
    return series


def write_world(params: WorldParams, out: Path, *, fmt: str = "csv", progress: bool = False) -> str:
    """Simulate and write clients, episodes, outcomes, truth and world.json to `out`."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from training.tables import Tables, write_tables

    started = time.perf_counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("simulating", total=None)
        history = simulate(
            params, progress=lambda what: bar.update(task, description=f"simulating: {what}")
        )
        bar.update(task, description="writing tables")
        out.mkdir(parents=True, exist_ok=True)
        write_tables(Tables(history.clients, history.episodes, history.outcomes), out, fmt=fmt)
        truth = history.truth.copy()
        truth["decision_date"] = truth["decision_date"].dt.strftime("%Y-%m-%d")
        if fmt == "parquet":
            truth.to_parquet(out / "truth.parquet", index=False)
        else:
            truth.to_csv(out / "truth.csv", index=False, float_format="%.6f")
    summary = world_summary(history, params)
    (out / "world.json").write_text(
        json.dumps({"params": params.to_json(), "summary": summary}, indent=2) + "\n"
    )
    elapsed = time.perf_counter() - started
    return (
        f"wrote {len(history.clients)} clients, {len(history.episodes)} episodes, "
        f"{len(history.outcomes)} outcome spells and {len(history.truth)} decision points "
        f"to {out} in {elapsed:.1f} s"
    )


def world_summary(history: History, params: WorldParams) -> dict[str, Any]:
    """Headline rates of the world, to compare with the public figures."""
    truth = history.truth
    clients = history.clients
    out: dict[str, Any] = {
        "clients": len(clients),
        "episodes": len(history.episodes),
        "decision_points": len(truth),
        "residence_basis": clients["residence_basis"]
        .value_counts(normalize=True)
        .round(3)
        .to_dict(),
    }
    if len(truth):
        out["v_historical"] = float(truth["p_historical"].mean())
        actions = [c for c in truth.columns if f"eligible_{c}" in truth.columns]
        values = truth[actions].to_numpy()
        elig = truth[[f"eligible_{a}" for a in actions]].to_numpy(dtype=bool)
        out["v_oracle"] = float(np.where(elig, values, -np.inf).max(axis=1).mean())
        out["v_no_new_service"] = float(truth[NO_NEW_SERVICE].mean())
    return out
