"""Answers of GET /v1/services and GET /v1/model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.common import ModelRef, ResponseModel


class ServiceOut(ResponseModel):
    code: str = Field(
        description="service code (episodes.service)", examples=["integration_training"]
    )
    name: str = Field(description="name in the asked language", examples=["Kotoutumiskoulutus"])
    description: str = Field(
        description="short description in the asked language",
        examples=["Suomen kielen ja yhteiskuntataitojen koulutus."],
    )
    eligibility: str = Field(
        description="eligibility rule over decision-point features (empty: always eligible)",
        examples=["completed_integration_plan >= 1 and finnish_level <= A2"],
    )
    typical_duration_days: int | None = Field(
        description="typical duration in days", examples=[300]
    )
    monthly_capacity: int | None = Field(description="places per month, when set", examples=[None])
    expected_wait_days: int | None = Field(
        description="days a client usually waits for a place, when known", examples=[23]
    )
    seats_left_this_month: int | None = Field(
        description="monthly_capacity less the starts decided this month (Europe/Helsinki) "
        "in every unit, never below 0; null without a monthly_capacity",
        examples=[12],
    )
    expected_wait_days_now: int | None = Field(
        description="expected_wait_days (0 when unknown), plus the days to the next month "
        "when no seat is left this month; null for no_new_service",
        examples=[23],
    )


class ServiceList(ResponseModel):
    language: str = Field(description="language of names and descriptions", examples=["fi"])
    model: ModelRef = Field(
        description="the model whose catalogue this is",
        examples=[{"name": "polku-router", "version": "3"}],
    )
    catalogue: str = Field(description="catalogue source", examples=["default"])
    services: list[ServiceOut] = Field(
        description="the services in catalogue order, then no_new_service", examples=[[]]
    )


class TrainingWindow(ResponseModel):
    start: str | None = Field(description="first decision date trained on", examples=["2018-01-04"])
    end: str | None = Field(description="last decision date trained on", examples=["2023-12-29"])


class ModelInfo(ResponseModel):
    name: str = Field(description="registered model name", examples=["polku-router"])
    version: str = Field(description="registered model version", examples=["3"])
    alias: str | None = Field(
        description="the alias served (null when a version is pinned)", examples=["champion"]
    )
    run_id: str | None = Field(
        description="MLflow run that trained it", examples=["4f1c0a7e9b2d4c3e8f6a5b4c3d2e1f0a"]
    )
    learner: str | None = Field(description="the outcome learner", examples=["s_learner"])
    loaded_at: datetime = Field(
        description="when this worker loaded it (UTC)", examples=["2024-05-02T06:00:00Z"]
    )
    training_window: TrainingWindow | None = Field(
        description="decision dates of the training data",
        examples=[{"start": "2018-01-04", "end": "2023-12-29"}],
    )
    target: str = Field(
        description="what p_outcome estimates", examples=["employment_or_education"]
    )
    horizon_days: int = Field(
        description="days after the decision within which the outcome counts", examples=[365]
    )
    catalogue: str = Field(description="catalogue source", examples=["default"])
    actions: list[str] = Field(
        description="every candidate action", examples=[["initial_assessment", "no_new_service"]]
    )
    extra_features: dict[str, str] = Field(
        description="extra client fields the model accepts (client.extras) and their kinds",
        examples=[{}],
    )
    evaluation: dict[str, Any] = Field(
        description="evaluation figures on held-out clients (policy value, AUC, Brier, ECE, ...)",
        examples=[{"auc": 0.71, "brier": 0.19}],
    )
    card: dict[str, Any] | None = Field(
        description="the model card, when the run has one", examples=[None]
    )
