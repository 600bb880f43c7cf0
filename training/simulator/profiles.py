"""Client profiles: who comes to integration services, drawn to match public figures.

Each client gets an intake date, a residence basis (work, family, EU free
mobility, humanitarian, study, temporary protection), a mother tongue and
region of citizenship that follow the basis, gender, age, education,
literacy needs, Finnish at intake, years of prior work, a health limitation
and small children. The mixes follow published Finnish and Espoo figures,
cited beside each constant; docs/world.md sets the world's figures beside
them.

Two things the data never shows are drawn too: a latent *motivation*, which
raises the chance of work and education and draws caseworkers' attention,
and the true values behind what the case system records with gaps (prior
work, Finnish at intake). Together they give each client's static part of
the log hazards of employment and of education.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from training.simulator.dates import day_number, year_of
from training.simulator.params import WorldParams

# Residence basis of the 2021 inflow to Finland (Migri / Statistics Finland,
# first residence permits and EU registrations 2021). Temporary protection
# (Ukraine, from March 2022) comes on top as its own stream.
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
    prior_work_observed: np.ndarray
    literacy_needs: np.ndarray  # bool
    finnish_intake_true: np.ndarray  # int rank
    finnish_intake_observed: np.ndarray  # float rank, NaN unknown
    health_limitation: np.ndarray  # bool
    children_under_school_age: np.ndarray
    inactive: np.ndarray  # bool: outside the labour force (home care) rather than unemployed
    motivation: np.ndarray
    base_employment: np.ndarray  # static part of the log employment hazard (per year)
    base_education: np.ndarray  # static part of the log education hazard
    # Extra columns of the clients table, by name, as written (a design may add
    # them): numpy arrays, or pandas' nullable booleans.
    extras: dict[str, Any] = field(default_factory=dict)
    # Per-client values only a design reads (never written), by name.
    traits: dict[str, np.ndarray] = field(default_factory=dict)


# Shifts of the static log hazards (per year) by education and by residence basis.
EMPLOYMENT_BY_EDUCATION = {
    "none": -0.55,
    "primary": -0.30,
    "secondary": 0.0,
    "vocational": 0.15,
    "bachelor": 0.15,
    "master_or_higher": 0.20,
    "unknown": -0.15,
}
EMPLOYMENT_BY_BASIS = {
    "work": 0.95,
    "eu": 0.60,
    "family": -0.10,
    "humanitarian": -0.60,
    "study": 0.15,
    "temporary_protection": 0.10,
    "other": 0.0,
}
STUDYING_BY_EDUCATION = {
    "none": -0.8,
    "primary": -0.4,
    "secondary": 0.3,
    "vocational": 0.1,
    "bachelor": 0.2,
    "master_or_higher": 0.0,
    "unknown": -0.2,
}


@dataclass(frozen=True)
class ProfileMix:
    """The mixes and base rates clients are drawn from; the built-in world's by default.

    Other worlds perturb them (`training.simulator.random_world`), so that
    each has its own caseload.
    """

    residence: dict[str, float] = field(default_factory=lambda: dict(RESIDENCE_MIX))
    education_by_basis: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: dict(EDUCATION_BY_BASIS)
    )
    finnish_at_intake: tuple[float, ...] = FINNISH_AT_INTAKE
    # Intercepts of the static log hazards (per year) of employment and education.
    employment_intercept: float = -2.35
    education_intercept: float = -3.2
    # Intake days: None spreads them evenly over the years; otherwise every
    # intake falls on one of these dates, or up to `cohort_spread_days` after it.
    cohorts: tuple[str, ...] | None = None
    cohort_spread_days: int = 0


BUILTIN_MIX = ProfileMix()


def draw_profiles(
    params: WorldParams, rng: np.random.Generator, mix: ProfileMix = BUILTIN_MIX
) -> Profiles:
    """Draw every client's profile; the order of the draws is part of the seed's world."""
    n = params.n_clients
    intake, basis = _intake_and_basis(params, rng, mix)
    tongue, region = _language_and_region(basis, rng)
    gender, age = _gender_and_age(basis, rng)
    birth_year = year_of(intake) - age
    education, literacy = _education_and_literacy(basis, rng, mix.education_by_basis)
    finnish, finnish_observed, lag_days = _finnish_at_intake(
        tongue, literacy, rng, mix.finnish_at_intake
    )
    arrival = intake - lag_days
    work_years, work_observed = _prior_work(age, basis, education, rng)
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

    base_employment = (
        mix.employment_intercept
        + np.array([EMPLOYMENT_BY_EDUCATION[e] for e in education])
        + np.array([EMPLOYMENT_BY_BASIS[b] for b in basis])
        + 0.28 * np.log1p(work_years)
        - 0.035 * np.maximum(age - 38, 0)
        - 0.85 * (female & (kids > 0))
        - 0.75 * health
        - 0.45 * literacy
        - 0.5 * inactive
        + params.motivation_effect * motivation
    )
    base_education = (
        mix.education_intercept
        + np.array([STUDYING_BY_EDUCATION[e] for e in education])
        - 0.07 * np.maximum(age - 24, 0)
        - 0.3 * health
        + 0.8 * params.motivation_effect * motivation
    )
    client_id = np.asarray([f"C{params.seed:03d}-{i:07d}" for i in range(n)], dtype=object)
    return Profiles(
        client_id=client_id,
        intake=intake.astype(np.int64),
        arrival=arrival.astype(np.int64),
        birth_year=birth_year.astype(np.int64),
        gender=gender,
        mother_tongue=tongue,
        citizenship_region=region,
        residence_basis=basis,
        education_level=education,
        prior_work_true=work_years,
        prior_work_observed=work_observed,
        literacy_needs=literacy.astype(bool),
        finnish_intake_true=finnish,
        finnish_intake_observed=finnish_observed,
        health_limitation=health.astype(bool),
        children_under_school_age=kids.astype(np.int64),
        inactive=inactive.astype(bool),
        motivation=motivation,
        base_employment=base_employment,
        base_education=base_education,
    )


def _intake_and_basis(
    params: WorldParams, rng: np.random.Generator, mix: ProfileMix
) -> tuple[np.ndarray, np.ndarray]:
    """Intake days and residence bases.

    Intakes are spread evenly up to two months before the extract, or fall
    in the mix's cohorts.
    """
    n = params.n_clients
    if mix.cohorts is None:
        first = day_number(params.first_intake)
        last = day_number(params.extract_date) - 60
        intake = np.sort(rng.integers(first, last + 1, n))
    else:
        days = np.array([day_number(cohort) for cohort in mix.cohorts], dtype=np.int64)
        intake = np.sort(rng.choice(days, n) + rng.integers(0, mix.cohort_spread_days + 1, n))
    residence = mix.residence
    basis = rng.choice(
        np.asarray(list(residence), dtype=object),
        size=n,
        p=np.array(list(residence.values())) / sum(residence.values()),
    )
    protected = (intake >= day_number(TEMPORARY_PROTECTION_FROM)) & (
        rng.random(n) < TEMPORARY_PROTECTION_SHARE
    )
    basis = np.where(protected, "temporary_protection", basis).astype(object)
    return intake, basis


def _language_and_region(
    basis: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Mother tongue by residence basis; region of citizenship by language."""
    n = len(basis)
    tongue = np.empty(n, dtype=object)
    for each, mix in LANGUAGES_BY_BASIS.items():
        hit = basis == each
        if hit.any():
            codes = np.asarray(list(mix), dtype=object)
            shares = np.array(list(mix.values()))
            tongue[hit] = rng.choice(codes, size=int(hit.sum()), p=shares / shares.sum())
    region = np.asarray(
        [REGION_OF_LANGUAGE.get(language, "unknown") for language in tongue], dtype=object
    )
    english = tongue == "en"
    region[english] = rng.choice(
        np.asarray(list(ENGLISH_REGIONS), dtype=object),
        size=int(english.sum()),
        p=np.array(list(ENGLISH_REGIONS.values())),
    )
    region = np.where(
        basis == "eu", np.where(region == "americas", "eu_efta", region), region
    ).astype(object)
    return tongue, region


def _gender_and_age(basis: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = len(basis)
    male = rng.random(n) < np.array([MALE_SHARE[b] for b in basis])
    draw = rng.random(n)
    gender = np.where(
        draw < 0.004, "other", np.where(draw < 0.01, "unknown", np.where(male, "male", "female"))
    ).astype(object)
    # Age at intake: working-age adults, median about 32 (Statistics Finland,
    # age of immigrants 2021), a little older for family and humanitarian arrivals.
    age = (
        18 + rng.gamma(3.2, 4.6, n) + np.where(np.isin(basis, ("family", "humanitarian")), 2.0, 0.0)
    )
    age = np.clip(np.round(age), 18, 64).astype(np.int64)
    return gender, age


def _education_and_literacy(
    basis: np.ndarray, rng: np.random.Generator, by_basis: dict[str, tuple[float, ...]]
) -> tuple[np.ndarray, np.ndarray]:
    """Education by residence basis; literacy needs mostly without schooling."""
    n = len(basis)
    education = np.empty(n, dtype=object)
    for each, probs in by_basis.items():
        hit = basis == each
        if hit.any():
            shares = np.array(probs)
            education[hit] = rng.choice(
                np.asarray(EDUCATION_LEVELS_ORDER, dtype=object),
                size=int(hit.sum()),
                p=shares / shares.sum(),
            )
    literacy = np.where(
        education == "none",
        rng.random(n) < 0.75,
        np.where(
            education == "primary",
            rng.random(n) < np.where(basis == "humanitarian", 0.35, 0.08),
            rng.random(n) < 0.01,
        ),
    )
    return education, literacy


def _finnish_at_intake(
    tongue: np.ndarray,
    literacy: np.ndarray,
    rng: np.random.Generator,
    shares: tuple[float, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finnish at intake (true rank, and as recorded) and days from arrival to intake.

    Estonian speakers and long-time residents know more; the recorded level
    is missing for some.
    """
    n = len(tongue)
    draw = rng.random(n)
    cumulative = np.cumsum(shares)
    finnish = np.searchsorted(cumulative, draw * cumulative[-1]).astype(np.int64)
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
    observed = np.where(rng.random(n) < FINNISH_UNKNOWN_SHARE, np.nan, finnish.astype(np.float64))
    return finnish, observed, lag_days


def _prior_work(
    age: np.ndarray, basis: np.ndarray, education: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Years of prior work (true, and as recorded with gaps)."""
    n = len(age)
    years = np.clip(rng.gamma(1.4, 3.2, n) * np.clip((age - 18) / 15, 0.1, 1.5), 0, age - 16)
    years = np.where(basis == "work", years + 2, years)
    years = np.where(np.isin(education, ("none",)), years * 0.6, years)
    years = np.round(years, 1)
    observed = np.where(rng.random(n) < 0.15, np.nan, years)
    return years, observed
