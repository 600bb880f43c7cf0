"""Decision-point features: their names, kinds and meaning.

A decision point is a (client, date) at which a caseworker chose what comes
next. Its features use only what was known on that date (docs/data.md): records
dated strictly before the decision date, and the state "as of" the date of
records that were still open then. The same definitions are used by the
decision-point builder, the simulator (which keeps the same state internally)
and the API, so the names below are the contract between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from model.vocab import CEFR_RANK

FeatureKind = Literal["numeric", "categorical", "boolean"]

DAYS_PER_YEAR: Final = 365.25
DAYS_PER_MONTH: Final = DAYS_PER_YEAR / 12

# Value of `last_service` / `last_service_status` before any service.
NONE_YET: Final = "none"


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    kind: FeatureKind
    description: str
    # The client-table column it comes from, when it is a profile field. The
    # explanation groups encoded columns back to these fields.
    source: str | None = None


PROFILE_FEATURES: Final[tuple[Feature, ...]] = (
    Feature("age", "numeric", "age in years in the decision year", "birth_year"),
    Feature("gender", "categorical", "gender", "gender"),
    Feature("mother_tongue", "categorical", "mother tongue", "mother_tongue"),
    Feature("citizenship_region", "categorical", "region of citizenship", "citizenship_region"),
    Feature("residence_basis", "categorical", "basis of residence", "residence_basis"),
    Feature("education_level", "categorical", "highest education", "education_level"),
    Feature("prior_work_years", "numeric", "years of work before arrival", "prior_work_years"),
    Feature("literacy_needs", "boolean", "needs literacy training", "literacy_needs"),
    Feature(
        "finnish_level_intake", "numeric", "Finnish level at intake (A0=0 .. C2=6)", "finnish_level"
    ),
    Feature("health_limitation", "boolean", "health limitation", "health_limitation"),
    Feature(
        "children_under_school_age",
        "numeric",
        "children under school age",
        "children_under_school_age",
    ),
)

TIME_FEATURES: Final[tuple[Feature, ...]] = (
    Feature("years_since_arrival", "numeric", "years since first residence in Finland"),
    Feature("months_since_intake", "numeric", "months since intake"),
)

PROGRESS_FEATURES: Final[tuple[Feature, ...]] = (
    Feature("finnish_level", "numeric", "Finnish level reached so far (A0=0 .. C2=6)"),
    Feature("n_services", "numeric", "services started before the decision date"),
    Feature("n_interrupted", "numeric", "services interrupted before the decision date"),
    Feature("in_service", "boolean", "a service is ongoing on the decision date"),
    Feature("last_service", "categorical", "the most recently started service"),
    Feature("last_service_status", "categorical", "its status as of the decision date"),
    Feature("days_since_last_service_end", "numeric", "days since a service last ended"),
    Feature("n_reviews", "numeric", "plan reviews before the decision date"),
    Feature("months_unemployed", "numeric", "months in unemployment spells so far"),
)

# Features that also record *when* within a case a decision point falls. At a
# service start they include the wait for that very service (a review came
# first, the unemployment months, the years since arrival and the days since
# the last service grew while waiting), so they betray the action taken. The
# support estimate behind the overlap guard and the off-policy figures ("how
# often did clients like this one receive it?") leaves them out; the outcome
# learners keep them (but see ACTION_PROXY_FEATURES).
# Leaving all of them out of the support estimate keeps it honest where the
# truth is known: on a randomized trial (tests/training/test_trial_data.py)
# it stays near the true propensities and the doubly-robust interval covers
# the true value (figures in bench/RESULTS.md, "Feature choices").
DECISION_TIMING_FEATURES: Final = (
    "days_since_last_service_end",
    "n_reviews",
    "months_since_intake",
    "months_unemployed",
    "years_since_arrival",
)

# Features no learner uses. `n_reviews` differs between the actions by
# construction, not by anything about the client: a service start counts the
# review at which that service was agreed (a few days before), a review that
# continues the plan, and a recommendation asked for at a review, do not count
# the current one (records strictly before the date). An S-learner then reads
# the action's effect off `n_reviews` instead of the action: on a randomized
# trial (one review, then the service or nothing; tests/training/test_trial_data.py)
# it is 1 for every treated client and 0 for every control, and the learner
# predicts the same chance under both actions, losing the effect. Only this
# feature is dropped: the other timing features carry information the
# learners need (bench/RESULTS.md, "Feature choices").
ACTION_PROXY_FEATURES: Final = ("n_reviews",)

# Not model features by default: used for the fairness audit only.
PROTECTED_BY_DEFAULT: Final = ("gender", "mother_tongue", "citizenship_region")


def completed_feature(service: str) -> str:
    """Name of the count of completed episodes of `service` before the date."""
    return f"completed_{service}"


def feature_catalogue(
    services: Iterable[str],
    extras: Mapping[str, FeatureKind] | None = None,
) -> tuple[Feature, ...]:
    """All decision-point features for a service catalogue and declared extras."""
    completed = tuple(
        Feature(completed_feature(code), "numeric", f"completed episodes of {code}")
        for code in services
    )
    extra = tuple(
        Feature(name, kind, f"extra client field {name}", name)
        for name, kind in (extras or {}).items()
    )
    return PROFILE_FEATURES + extra + TIME_FEATURES + PROGRESS_FEATURES + completed


def cefr_rank(level: object) -> float:
    """CEFR level as a number (A0=0 .. C2=6); NaN for unknown or missing."""
    if isinstance(level, str):
        return float(CEFR_RANK.get(level, float("nan")))
    return float("nan")
