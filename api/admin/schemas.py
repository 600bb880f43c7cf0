"""Bodies and answers of /v1/admin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from api.common import ModelRef, RequestModel, ResponseModel, SafeText


class PauseRequest(RequestModel):
    reason: Annotated[SafeText, StringConstraints(min_length=1, max_length=500)] | None = Field(
        None,
        description="why recommendations are paused; shown to callers in the 503 answer",
        examples=["Mallin tarkistus käynnissä"],
    )


class SwitchState(ResponseModel):
    paused: bool = Field(description="recommendations are paused", examples=[True])
    reason: str | None = Field(
        description="the reason given when pausing", examples=["Mallin tarkistus käynnissä"]
    )
    since: datetime | None = Field(
        description="when the switch was last set (UTC)", examples=["2024-05-02T09:00:00Z"]
    )


class ReloadOutcome(ResponseModel):
    outcome: Literal["loaded", "kept"] = Field(
        description="loaded: the alias's version now serves; kept: it failed and the last good model serves",
        examples=["loaded"],
    )
    serving: ModelRef | None = Field(
        description="the model serving now", examples=[{"name": "polku-router", "version": "4"}]
    )
    error: str | None = Field(description="why the new version was not served", examples=[None])
