"""The shared vocabulary of Polku's data contract (docs/data.md).

Category values, their order where they have one, and the column names of the
three input tables. Everything that reads or writes the tables takes its names
from here, so the contract lives in one place.
"""

from __future__ import annotations

from typing import Final

UNKNOWN: Final = "unknown"

GENDERS: Final = ("female", "male", "other", UNKNOWN)

RESIDENCE_BASES: Final = (
    "work",
    "family",
    "humanitarian",
    "study",
    "eu",
    "temporary_protection",
    "other",
    UNKNOWN,
)

EDUCATION_LEVELS: Final = (
    "none",
    "primary",
    "secondary",
    "vocational",
    "bachelor",
    "master_or_higher",
    UNKNOWN,
)
TERTIARY_EDUCATION: Final = ("bachelor", "master_or_higher")

# CEFR levels in order; `unknown` is not on the scale and sorts as missing.
CEFR_LEVELS: Final = ("A0", "A1", "A2", "B1", "B2", "C1", "C2")
CEFR_VALUES: Final = (*CEFR_LEVELS, UNKNOWN)
CEFR_RANK: Final = {level: rank for rank, level in enumerate(CEFR_LEVELS)}

EPISODE_STATUSES: Final = ("completed", "interrupted", "ongoing")

OUTCOME_STATUSES: Final = (
    "employed",
    "subsidised_employment",
    "education",
    "unemployed",
    "inactive",
    "moved_away",
)

# The action meaning "continue the current plan"; always a candidate.
NO_NEW_SERVICE: Final = "no_new_service"
# Episode rows with this service code are plan reviews, not services.
REVIEW: Final = "review"

REASON_CODES: Final = (
    "client_preference",
    "waiting_time",
    "not_available",
    "eligibility_error",
    "professional_judgement",
    "none_suitable",
    "other",
)

LANGUAGES: Final = ("fi", "sv", "en")

CLIENT_REQUIRED_COLUMNS: Final = (
    "client_id",
    "intake_date",
    "arrival_date",
    "birth_year",
    "gender",
    "mother_tongue",
    "citizenship_region",
    "residence_basis",
    "education_level",
    "prior_work_years",
    "literacy_needs",
    "finnish_level",
)
CLIENT_OPTIONAL_COLUMNS: Final = ("health_limitation", "children_under_school_age")

EPISODE_REQUIRED_COLUMNS: Final = ("client_id", "service", "start_date", "end_date", "status")
EPISODE_OPTIONAL_COLUMNS: Final = ("language_level_after", "planned_service")

OUTCOME_REQUIRED_COLUMNS: Final = ("client_id", "status", "start_date", "end_date")
# Whether a work spell matches the client's education, where the case system records it.
OUTCOME_OPTIONAL_COLUMNS: Final = ("matches_education",)

TABLES: Final = ("clients", "episodes", "outcomes")
