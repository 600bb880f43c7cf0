"""Answers of GET /v1/audit and GET /v1/audit/plans."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from api.common import REQUEST_ID_EXAMPLE, ResponseModel


class AuditModel(ResponseModel):
    name: str = Field(description="registered model name", examples=["polku-router"])
    version: str = Field(description="registered model version", examples=["3"])
    run_id: str | None = Field(
        description="MLflow run", examples=["4f1c0a7e9b2d4c3e8f6a5b4c3d2e1f0a"]
    )


class AuditDecision(ResponseModel):
    decision_id: str = Field(
        description="decision id", examples=["6a1f0a0e-3c1b-4c5e-8f0a-1b2c3d4e5f60"]
    )
    chosen_service: str = Field(description="the action chosen", examples=["job_search_coaching"])
    follows_recommendation: bool = Field(description="chosen is rank 1", examples=[False])
    reason_code: str | None = Field(
        description="reason for not following rank 1", examples=["client_preference"]
    )
    corrects: str | None = Field(description="decision this one corrects", examples=[None])
    created_at: datetime = Field(
        description="when it was stored (UTC)", examples=["2024-05-02T09:14:03Z"]
    )


class AuditEventOut(ResponseModel):
    request_id: str = Field(description="id of the recommendation", examples=[REQUEST_ID_EXAMPLE])
    created_at: datetime = Field(
        description="when it was answered (UTC)", examples=["2024-05-02T09:12:44Z"]
    )
    client_id: str = Field(description="pseudonymous client id", examples=["C003-0000421"])
    unit: str = Field(description="caller's unit", examples=["espoo-leppavaara"])
    role: str = Field(description="caller's role", examples=["caseworker"])
    key_id: str = Field(
        description="id of the caller's key (who asked)", examples=["k3f9a0c2b7e1d"]
    )
    model: AuditModel = Field(
        description="the model that answered",
        examples=[{"name": "polku-router", "version": "3", "run_id": None}],
    )
    as_of: date = Field(description="decision date used", examples=["2024-05-02"])
    language: str = Field(description="language asked", examples=["fi"])
    k: int = Field(description="number of ranks asked", examples=[3])
    input_hash: str = Field(
        description="SHA-256 of the canonical request",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )
    features: dict[str, Any] = Field(
        description="the decision-point features the model used", examples=[{"finnish_level": 1.0}]
    )
    output: dict[str, Any] = Field(
        description="the ranked answer with its explanations", examples=[{"recommendations": []}]
    )
    decisions: list[AuditDecision] = Field(
        description="decisions recorded on it, oldest first", examples=[[]]
    )


class AuditList(ResponseModel):
    items: list[AuditEventOut] = Field(description="events, oldest first", examples=[[]])
    next_cursor: str | None = Field(
        description="cursor of the next page (the last item's request_id); null on the last",
        examples=[None],
    )


class PlanAuditEventOut(ResponseModel):
    request_id: str = Field(
        description="id of the plan (its answer's X-Request-ID)", examples=[REQUEST_ID_EXAMPLE]
    )
    created_at: datetime = Field(
        description="when it was answered (UTC)", examples=["2026-12-06T08:30:12Z"]
    )
    unit: str = Field(description="caller's unit", examples=["espoo-leppavaara"])
    role: str = Field(description="caller's role", examples=["planner"])
    key_id: str = Field(
        description="id of the caller's key (who asked)", examples=["k3f9a0c2b7e1d"]
    )
    model: AuditModel = Field(
        description="the model that scored the clients",
        examples=[{"name": "polku-router", "version": "3", "run_id": None}],
    )
    month: str = Field(description="the month planned, YYYY-MM", examples=["2026-12"])
    as_of: date = Field(
        description="the date the clients' features were computed on", examples=["2026-12-06"]
    )
    client_count: int = Field(description="how many clients were planned", examples=[58])
    input_hash: str = Field(
        description="SHA-256 of the canonical request and its as_of",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )
    output: dict[str, Any] = Field(
        description="the options asked (seats, max_shortfall, balance, pace) and the plan "
        "answered (uplift totals, seats, clients by pseudonymous client_id); no profile "
        "or history",
        examples=[
            {
                "options": {"seats": [], "max_shortfall": None, "balance": 0.0, "pace": 1.0},
                "uplift_total": 3.1,
                "uplift_best_total": 3.4,
                "seats": [{"service": "pay_subsidy", "seats": 6, "planned": 6}],
                "clients": [
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
                ],
            }
        ],
    )


class PlanAuditList(ResponseModel):
    items: list[PlanAuditEventOut] = Field(description="plans, oldest first", examples=[[]])
    next_cursor: str | None = Field(
        description="cursor of the next page (the last item's request_id); null on the last",
        examples=[None],
    )
