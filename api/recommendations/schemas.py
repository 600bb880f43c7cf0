"""Request and answer of POST /v1/recommendations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints

from api.common import (
    WHOLE_NUMBER,
    ExtraValue,
    IsoDate,
    JsonInt,
    ModelRef,
    RequestModel,
    ResponseModel,
    SafeText,
)
from model.vocab import (
    CEFR_VALUES,
    EDUCATION_LEVELS,
    EPISODE_STATUSES,
    GENDERS,
    LANGUAGES,
    OUTCOME_STATUSES,
    RESIDENCE_BASES,
)

MAX_K: Final = 100
MAX_RECORDS: Final = 1000
MAX_EXTRAS: Final = 50

Gender = Literal[GENDERS]  # type: ignore[valid-type]
ResidenceBasis = Literal[RESIDENCE_BASES]  # type: ignore[valid-type]
EducationLevel = Literal[EDUCATION_LEVELS]  # type: ignore[valid-type]
Cefr = Literal[CEFR_VALUES]  # type: ignore[valid-type]
EpisodeStatus = Literal[EPISODE_STATUSES]  # type: ignore[valid-type]
OutcomeStatus = Literal[OUTCOME_STATUSES]  # type: ignore[valid-type]
Language = Literal[LANGUAGES]  # type: ignore[valid-type]
ServiceCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ExtraName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class ClientIn(RequestModel):
    """The client's profile at intake: the fields of the `clients` table (docs/data.md)."""

    client_id: Annotated[SafeText, StringConstraints(min_length=1, max_length=100)] = Field(
        description="pseudonymous client id of the case system; never a personal identity code",
        examples=["C003-0000421"],
    )
    intake_date: IsoDate = Field(
        description="first contact with integration services", examples=["2023-03-01"]
    )
    arrival_date: IsoDate = Field(
        description="first registered residence in Finland; on or before intake_date",
        examples=["2023-01-15"],
    )
    birth_year: JsonInt = Field(
        ge=1900,
        le=2100,
        description="year of birth; at most the intake year minus 15",
        examples=[1994],
    )
    gender: Gender = Field(description="gender", examples=["female"])
    mother_tongue: Annotated[str, StringConstraints(pattern=r"^([a-z]{2,3}|unknown)$")] = Field(
        description="ISO 639-1 code (lower case) or unknown", examples=["ar"]
    )
    citizenship_region: Annotated[SafeText, StringConstraints(min_length=1, max_length=64)] = Field(
        description="region of citizenship (eu_efta, europe_other, middle_east, africa, asia, americas, unknown, ...)",
        examples=["middle_east"],
    )
    residence_basis: ResidenceBasis = Field(
        description="basis of residence", examples=["humanitarian"]
    )
    education_level: EducationLevel = Field(description="highest education", examples=["secondary"])
    prior_work_years: float | None = Field(
        None,
        ge=0,
        le=80,
        description="years of work before arrival; null when not known",
        examples=[2.5],
    )
    literacy_needs: bool = Field(
        description="needs literacy training in the Latin alphabet", examples=[False]
    )
    finnish_level: Cefr = Field(description="CEFR level of Finnish at intake", examples=["A0"])
    health_limitation: bool | None = Field(
        None, description="health limitation (special-category data; optional)", examples=[False]
    )
    # the bounds before the validator, or the document gets `ge`/`le` instead of JSON Schema's words
    children_under_school_age: Annotated[int, Field(ge=0, le=30), WHOLE_NUMBER] | None = Field(
        None, description="children under school age (optional)", examples=[1]
    )
    extras: dict[ExtraName, ExtraValue] = Field(
        default_factory=dict,
        max_length=MAX_EXTRAS,
        description="extra client fields declared in the served model's configuration "
        "(GET /v1/model lists them); any other name is refused",
        examples=[{}],
        # patternProperties alone would let the document allow any other name
        json_schema_extra={"additionalProperties": False},
    )


class EpisodeIn(RequestModel):
    """A service or plan review (a row of the `episodes` table)."""

    service: ServiceCode = Field(
        description="service code of the catalogue (GET /v1/services), or review for a plan review",
        examples=["integration_training"],
    )
    start_date: IsoDate = Field(
        description="first day; on or after intake, not after as_of", examples=["2023-04-03"]
    )
    end_date: IsoDate | None = Field(
        None,
        description="last day; null while ongoing; not before start_date",
        examples=["2023-12-15"],
    )
    status: EpisodeStatus = Field(
        description="completed or interrupted (with end_date), or ongoing (without)",
        examples=["completed"],
    )
    language_level_after: Cefr | None = Field(
        None, description="CEFR level reached (language services)", examples=["A2"]
    )
    planned_service: ServiceCode | None = Field(
        None,
        description="on review rows: the service agreed at the review, when recorded",
        examples=[None],
    )


class OutcomeIn(RequestModel):
    """A labour-market or education status spell (a row of the `outcomes` table)."""

    status: OutcomeStatus = Field(description="status of the spell", examples=["unemployed"])
    start_date: IsoDate = Field(description="first day; not after as_of", examples=["2023-03-01"])
    end_date: IsoDate | None = Field(
        None, description="last day; null while ongoing", examples=[None]
    )
    matches_education: bool | None = Field(
        None,
        description="employment spells: the work matches the client's education, when "
        "recorded (the reports read it; recommendations do not)",
        examples=[None],
    )


class RecommendationRequest(RequestModel):
    client: ClientIn = Field(
        description="the client's profile",
        examples=[
            {
                "client_id": "C003-0000421",
                "intake_date": "2023-03-01",
                "arrival_date": "2023-01-15",
                "birth_year": 1994,
                "gender": "female",
                "mother_tongue": "ar",
                "citizenship_region": "middle_east",
                "residence_basis": "humanitarian",
                "education_level": "secondary",
                "prior_work_years": 2.5,
                "literacy_needs": False,
                "finnish_level": "A0",
            }
        ],
    )
    episodes: list[EpisodeIn] = Field(
        default_factory=list,
        max_length=MAX_RECORDS,
        description="the client's services and reviews up to as_of, in any order",
        examples=[
            [
                {
                    "service": "initial_assessment",
                    "start_date": "2023-03-08",
                    "end_date": "2023-03-31",
                    "status": "completed",
                },
                {
                    "service": "integration_plan",
                    "start_date": "2023-04-03",
                    "end_date": "2023-04-20",
                    "status": "completed",
                },
            ]
        ],
    )
    outcomes: list[OutcomeIn] = Field(
        default_factory=list,
        max_length=MAX_RECORDS,
        description="the client's status spells up to as_of (optional)",
        examples=[[{"status": "unemployed", "start_date": "2023-03-01", "end_date": None}]],
    )
    as_of: IsoDate | None = Field(
        None,
        description="the decision date; records starting on or after it are not used; "
        "default today (Europe/Helsinki)",
        examples=["2023-05-02"],
    )
    k: JsonInt = Field(
        3,
        ge=1,
        le=MAX_K,
        description="how many ranked services to return (1..100). A k at or above the number of "
        "candidate actions of the served catalogue (GET /v1/model, actions) ranks and returns every "
        "eligible one; fewer than k come back when fewer are eligible",
        examples=[3],
    )
    language: Language = Field(
        "fi", description="language of names and explanations", examples=["fi"]
    )


# --------------------------------------------------------------------------- answer


class ContributionOut(ResponseModel):
    feature: str = Field(
        description="decision-point feature (or 'service' for the service's own share)",
        examples=["finnish_level"],
    )
    value: str | float | bool | None = Field(
        description="the feature's value for this client (CEFR levels as 0=A0 .. 6=C2)",
        examples=[1.0],
    )
    value_text: str | None = Field(
        description="the value as people write it, in the asked language (A1, humanitaarinen, "
        "2,5); null for the service's own share",
        examples=["A1"],
    )
    contribution: float = Field(
        description="probability points (0.04 = 4 percentage points); a service's contributions add up "
        "to its p_outcome minus the reference's, the reference's to its p_outcome minus the "
        "average client's",
        examples=[-0.04],
    )
    text: str = Field(
        description="the contribution in words, in the asked language",
        examples=["Suomen kielen taso A1 pienentää arviota 4 prosenttiyksikköä"],
    )


class ScoredServiceOut(ResponseModel):
    service: str = Field(description="service code", examples=["integration_training"])
    name: str = Field(
        description="service name in the asked language", examples=["Kotoutumiskoulutus"]
    )
    rank: int | None = Field(
        description="rank among eligible candidates (1 = best); null for the reference when not ranked",
        examples=[1],
    )
    p_outcome: float = Field(
        description="estimated probability of work or education within the horizon after this service",
        examples=[0.42],
    )
    interval: tuple[float, float] = Field(
        description="uncertainty interval [low, high] of p_outcome", examples=[[0.36, 0.48]]
    )
    uplift: float = Field(
        description="p_outcome minus the p_outcome of no_new_service", examples=[0.06]
    )
    thin_support: bool = Field(
        description="few similar clients got this service in the past: the estimate rests on little evidence",
        examples=[False],
    )
    seats_left_this_month: int | None = Field(
        description="seats left this month, as GET /v1/services counts them when the answer was "
        "made: monthly_capacity less the starts decided this month (Europe/Helsinki) in every "
        "unit, never below 0; null without a monthly_capacity. A full service (0) is still "
        "ranked as usual; the caseworker decides",
        examples=[12],
    )
    expected_wait_days_now: int | None = Field(
        description="the wait a client can expect now, as GET /v1/services gives it: "
        "expected_wait_days (0 when unknown), plus the days until the next month begins "
        "when no seat is left this month; null for no_new_service",
        examples=[23],
    )
    explanation: list[ContributionOut] = Field(
        description="the largest SHAP contributions (at most 5): for a service, why it rather than "
        "no_new_service; for the reference, against the average client; then, where training "
        "corrected the chances for selection, `selection_correction` with its part",
        examples=[
            [
                {
                    "feature": "finnish_level",
                    "value": 1.0,
                    "contribution": -0.04,
                    "text": "Suomen kielen taso A1 pienentää arviota 4 prosenttiyksikköä",
                }
            ]
        ],
    )


class NotEligibleOut(ResponseModel):
    service: str = Field(description="service code", examples=["advanced_finnish"])
    reason: str = Field(
        description="the catalogue rule that is not met",
        examples=["Ehto ei täyty: finnish_level >= A2"],
    )
    seats_left_this_month: int | None = Field(
        description="seats left this month, as GET /v1/services counts them when the answer was "
        "made: monthly_capacity less the starts decided this month (Europe/Helsinki) in every "
        "unit, never below 0; null without a monthly_capacity. A full service (0) is still "
        "ranked as usual; the caseworker decides",
        examples=[12],
    )
    expected_wait_days_now: int | None = Field(
        description="the wait a client can expect now, as GET /v1/services gives it: "
        "expected_wait_days (0 when unknown), plus the days until the next month begins "
        "when no seat is left this month; null for no_new_service",
        examples=[23],
    )


class RecommendationResponse(ResponseModel):
    request_id: str = Field(
        description="id of this answer; send it with the decision",
        examples=["3f2b6c1e-8a4d-4f6e-9b1a-2c3d4e5f6a7b"],
    )
    model: ModelRef = Field(
        description="the model that answered", examples=[{"name": "polku-router", "version": "3"}]
    )
    as_of: date = Field(description="the decision date used", examples=["2023-05-02"])
    recommendations: list[ScoredServiceOut] = Field(
        description="the first k eligible candidates in rank order (no_new_service included)",
        examples=[[]],
    )
    reference: ScoredServiceOut = Field(
        description="no_new_service (continue the current plan), always present",
        examples=[
            {
                "service": "no_new_service",
                "name": "Ei uutta palvelua",
                "rank": 4,
                "p_outcome": 0.36,
                "interval": [0.31, 0.41],
                "uplift": 0.0,
                "thin_support": False,
                "seats_left_this_month": None,
                "expected_wait_days_now": None,
                "explanation": [],
            }
        ],
    )
    not_eligible: list[NotEligibleOut] = Field(
        description="services the client is not eligible for, with the rule", examples=[[]]
    )


class StoredRecommendation(RecommendationResponse):
    answered_at: datetime = Field(
        description="when it was answered (UTC)", examples=["2024-05-02T09:14:03Z"]
    )
    language: Language = Field(description="the language that was asked", examples=["fi"])
    k: int = Field(description="how many ranked services were asked", examples=[3])
