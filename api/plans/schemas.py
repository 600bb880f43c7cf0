"""Request and answer of POST /v1/plans."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from api.common import IsoDate, JsonInt, ModelRef, Month, RequestModel, ResponseModel
from api.recommendations.schemas import (
    MAX_RECORDS,
    ClientIn,
    EpisodeIn,
    OutcomeIn,
    RecommendationRequest,
    ServiceCode,
)

MAX_PLAN_CLIENTS: Final = 1000


class PlanClientIn(RequestModel):
    """One client awaiting a decision: the profile and history, as for a recommendation."""

    client: ClientIn = Field(
        description="the client's profile (as in POST /v1/recommendations)",
        examples=[RecommendationRequest.model_fields["client"].examples[0]],  # type: ignore[index]
    )
    episodes: list[EpisodeIn] = Field(
        default_factory=list,
        max_length=MAX_RECORDS,
        description="the client's services and reviews up to today, in any order",
        examples=RecommendationRequest.model_fields["episodes"].examples,
    )
    outcomes: list[OutcomeIn] = Field(
        default_factory=list,
        max_length=MAX_RECORDS,
        description="the client's status spells up to today (optional)",
        examples=RecommendationRequest.model_fields["outcomes"].examples,
    )


class SeatsIn(RequestModel):
    service: ServiceCode = Field(description="a service of the catalogue", examples=["pay_subsidy"])
    seats: JsonInt = Field(ge=0, description="seats this month (0: none)", examples=[12])


class PlanRequest(RequestModel):
    month: Month = Field(
        description="the month to plan, YYYY-MM; this month or a later one", examples=["2026-12"]
    )
    clients: list[PlanClientIn] = Field(
        min_length=1,
        max_length=MAX_PLAN_CLIENTS,
        description="the clients awaiting a decision, each once",
        examples=[[{"client": RecommendationRequest.model_fields["client"].examples[0]}]],  # type: ignore[index]
    )
    seats: list[SeatsIn] = Field(
        default_factory=list,
        max_length=200,
        description="seats this month where they differ from the catalogue's monthly_capacity; "
        "a service with neither has no limit",
        examples=[[{"service": "pay_subsidy", "seats": 12}]],
    )
    max_shortfall: float | None = Field(
        None,
        ge=0,
        le=1,
        description="most expected uplift a client may give up against their own best option",
        examples=[0.05],
    )
    balance: float = Field(
        0.0,
        ge=0,
        le=1,
        description="uplift charged per seat used beyond `pace` of the month's seats",
        examples=[0.0],
    )
    pace: float = Field(
        1.0,
        gt=0,
        le=1,
        description="share of the month's seats this batch may use without the balancing charge",
        examples=[1.0],
    )


class PlannedClientOut(ResponseModel):
    client_id: str = Field(description="the client, as sent", examples=["C003-0000421"])
    planned_service: str = Field(
        description="the planned action (no_new_service: no start)", examples=["work_trial"]
    )
    own_best: str = Field(
        description="the client's own best option (the recommendation's first)",
        examples=["pay_subsidy"],
    )
    uplift_planned: float = Field(
        description="expected uplift of the planned action", examples=[0.061]
    )
    uplift_best: float = Field(
        description="expected uplift of the client's own best option", examples=[0.083]
    )
    uplift_given_up: float = Field(description="uplift_best - uplift_planned", examples=[0.022])
    status: Literal["start", "waiting", "continue"] = Field(
        description="start: a start is planned; waiting: no seat this month, the client keeps "
        "waiting; continue: the client's own best option is no new service",
        examples=["start"],
    )
    start_date: IsoDate | None = Field(
        description="planned start (null without one)", examples=["2026-12-08"]
    )
    expected_wait_days: float | None = Field(
        description="days from today or the month's first day, whichever is later, to the start",
        examples=[7.0],
    )


class SeatsOut(ResponseModel):
    service: str = Field(description="a service of the catalogue", examples=["pay_subsidy"])
    seats: int | None = Field(description="seats this month; null: no limit", examples=[60])
    planned: int = Field(description="starts planned this month", examples=[58])


class PlanResponse(ResponseModel):
    model: ModelRef = Field(
        description="the served model that scored the clients",
        examples=[{"name": "polku-router", "version": "3"}],
    )
    month: str = Field(description="the month planned", examples=["2026-12"])
    as_of: IsoDate = Field(
        description="the date the clients' features were computed on (today)",
        examples=["2026-12-06"],
    )
    uplift_total: float = Field(
        description="expected uplift of the plan, summed over clients", examples=[31.2]
    )
    uplift_best_total: float = Field(
        description="expected uplift if every client had their best", examples=[33.9]
    )
    seats: list[SeatsOut] = Field(
        description="every service's seats and the starts planned",
        examples=[[{"service": "pay_subsidy", "seats": 60, "planned": 58}]],
    )
    clients: list[PlannedClientOut] = Field(
        description="one entry per client, in the order sent",
        examples=[
            [
                {
                    "client_id": "C003-0000421",
                    "planned_service": "work_trial",
                    "own_best": "pay_subsidy",
                    "uplift_planned": 0.061,
                    "uplift_best": 0.083,
                    "uplift_given_up": 0.022,
                    "status": "start",
                    "start_date": "2026-12-08",
                    "expected_wait_days": 2.0,
                }
            ]
        ],
    )
