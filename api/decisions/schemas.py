"""Request and answers of /v1/decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints

from api.common import REQUEST_ID_EXAMPLE, UUID_PATTERN, RequestModel, ResponseModel, SafeText
from model.vocab import REASON_CODES

MAX_COMMENT: Final = 500
ReasonCode = Literal[REASON_CODES]  # type: ignore[valid-type]
Uuid = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
IDEMPOTENCY_KEY_PATTERN: Final = r"^[\x21-\x7e]{1,255}$"


class DecisionRequest(RequestModel):
    request_id: Uuid = Field(
        description="request_id of the recommendation this decision is about",
        examples=[REQUEST_ID_EXAMPLE],
    )
    chosen_service: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = Field(
        description="the action the caseworker chose (a code of the model's catalogue, or no_new_service)",
        examples=["job_search_coaching"],
    )
    reason_code: ReasonCode | None = Field(
        None,
        description="why, when chosen_service differs from rank 1 (then required)",
        examples=["client_preference"],
    )
    comment: Annotated[SafeText, StringConstraints(max_length=MAX_COMMENT)] | None = Field(
        None,
        description="optional free text, at most 500 characters; no personal identity codes",
        examples=["Asiakas aloittaa työkokeilun ensin."],
    )
    corrects: Uuid | None = Field(
        None,
        description="decision_id of an earlier decision on the same recommendation that this one corrects",
        examples=[None],
    )


class DecisionOut(ResponseModel):
    decision_id: str = Field(
        description="id of the stored decision", examples=["6a1f0a0e-3c1b-4c5e-8f0a-1b2c3d4e5f60"]
    )
    request_id: str = Field(
        description="the recommendation decided on", examples=[REQUEST_ID_EXAMPLE]
    )
    chosen_service: str = Field(description="the action chosen", examples=["job_search_coaching"])
    recommended_service: str = Field(
        description="rank 1 of the recommendation", examples=["integration_training"]
    )
    follows_recommendation: bool = Field(description="chosen_service is rank 1", examples=[False])
    chosen_rank: int | None = Field(
        description="rank of chosen_service in the answer; null when it was not among the returned ranks",
        examples=[2],
    )
    reason_code: str | None = Field(
        description="reason for not following rank 1", examples=["client_preference"]
    )
    comment: str | None = Field(
        description="the caseworker's comment", examples=["Asiakas aloittaa työkokeilun ensin."]
    )
    corrects: str | None = Field(description="decision_id this one corrects", examples=[None])
    unit: str = Field(
        description="unit (office) of the caseworker's key", examples=["espoo-leppavaara"]
    )
    created_at: datetime = Field(
        description="when it was stored (UTC)", examples=["2024-05-02T09:14:03Z"]
    )


class DecisionList(ResponseModel):
    items: list[DecisionOut] = Field(description="decisions, oldest first", examples=[[]])
    next_cursor: str | None = Field(
        description="pass as cursor for the next page (the last item's decision_id); "
        "null on the last page",
        examples=["9b2e4f10-3c5d-4a6b-8e7f-0a1b2c3d4e5f"],
    )
