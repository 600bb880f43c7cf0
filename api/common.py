"""Types shared by the API schemas.

Request models are strict: JSON types are not coerced (``"3"`` is not a
number, ``1`` is not ``true``; ``3.0`` is an integer, as JSON Schema and
so the OpenAPI document say), unknown fields are refused, NaN and infinity
are refused, dates are ``YYYY-MM-DD`` text only, and text may not hold
control characters or unpaired surrogates (which no database stores
faithfully). Server-owned facts (unit, caseworker, model version, times)
have no field in any request model, so they cannot come from a body.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from model.privacy import looks_like_personal_identity_code

MIN_DATE: Final = date(1900, 1, 1)
MAX_DATE: Final = date(2100, 12, 31)
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
REQUEST_ID_EXAMPLE: Final = "3f2b6c1e-8a4d-4f6e-9b1a-2c3d4e5f6a7b"
UUID_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(frozen=True)


def _iso_date(value: Any) -> Any:
    if isinstance(value, str):
        if not _ISO_DATE.fullmatch(value):
            raise ValueError("a date is written YYYY-MM-DD")
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValueError("not a calendar date (YYYY-MM-DD)") from None
    if isinstance(value, date) and not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"dates lie between {MIN_DATE} and {MAX_DATE}")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]

_ISO_DATETIME: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)


def _iso_datetime(value: Any) -> Any:
    if not isinstance(value, str) or not _ISO_DATETIME.fullmatch(value):
        raise ValueError("a time is written in ISO 8601, e.g. 2024-05-01T00:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not a valid date and time (ISO 8601)") from None
    try:
        as_utc(parsed)  # 0001-01-01T00:00:00+01:00 lies before the first representable UTC time
    except OverflowError:
        raise ValueError("the time in UTC lies outside the years 1 to 9999") from None
    return parsed


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
"""A time in a query: ISO 8601 text only (no Unix seconds); without a zone it is UTC."""


def _clean_text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text holds an unpaired surrogate; send valid UTF-8 text") from None
    for char in value:
        if char in "\n\t\r":
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise ValueError("text holds a control character; only tab and line breaks are allowed")
    return value


def _no_identity_code(value: str) -> str:
    if looks_like_personal_identity_code(value):
        raise ValueError(
            "looks like a Finnish personal identity code; Polku takes pseudonymous ids only "
            "(see polku pseudonymize); the value was not stored"
        )
    return value


def _whole_number(value: Any) -> Any:
    # JSON Schema (and so the OpenAPI document) counts 3.0 as an integer; strict
    # pydantic would refuse it, so a whole float is read as the int it is.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WHOLE_NUMBER: Final = BeforeValidator(_whole_number)
JsonInt = Annotated[int, WHOLE_NUMBER]
"""An integer as JSON Schema defines it: 3 or 3.0, never 3.5, "3" or true."""

_EXTRA_TEXT_MAX: Final = 100
# The rule of `_clean_text` as JSON Schema states it (ECMA-262 and Python regular
# expressions alike): no C0/C1 control character but tab and line breaks, no surrogate.
NO_CONTROL_CHARACTERS: Final = (
    r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ud800-\udfff]*$"
)


def _extra_value(value: Any) -> Any:
    # One validator instead of a union, so a bad value yields one error at the
    # field's own path (a union reports one error per member, tagged with
    # pydantic's internal names).
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers are finite")
        return value
    if isinstance(value, str):
        if len(value) > _EXTRA_TEXT_MAX:
            raise ValueError(f"text of an extra field is at most {_EXTRA_TEXT_MAX} characters")
        return _no_identity_code(_clean_text(value))
    raise ValueError(
        f"an extra field is true or false, a number, text (at most {_EXTRA_TEXT_MAX} "
        "characters) or null"
    )


ExtraValue = Annotated[
    Any,
    AfterValidator(_extra_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "boolean"},
                {"type": "number"},
                {"type": "string", "maxLength": _EXTRA_TEXT_MAX, "pattern": NO_CONTROL_CHARACTERS},
                {"type": "null"},
            ]
        }
    ),
]
"""The value of an extra client field: a boolean, a number, short text or null."""


class _StatedInSchema:
    """Puts the no-control-characters rule in the JSON Schema; `_clean_text` enforces it."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = NO_CONTROL_CHARACTERS
        return schema


Text = Annotated[str, AfterValidator(_clean_text), _StatedInSchema()]
"""Free text: no control characters or unpaired surrogates."""

SafeText = Annotated[
    str, AfterValidator(_clean_text), AfterValidator(_no_identity_code), _StatedInSchema()
]
"""Free text that must not hold a personal identity code either."""

MONTH_PATTERN: Final = r"^\d{4}-(0[1-9]|1[0-2])$"


def _month(value: str) -> str:
    if not re.fullmatch(MONTH_PATTERN, value):
        raise ValueError("a month is written YYYY-MM, e.g. 2026-12 (months 01 to 12)")
    return value


class _MonthInSchema:
    """Puts the YYYY-MM pattern in the JSON Schema; `_month` enforces it with its own message."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = MONTH_PATTERN
        return schema


Month = Annotated[str, AfterValidator(_month), _MonthInSchema()]
"""A calendar month, YYYY-MM."""


class ModelRef(ResponseModel):
    name: str = Field(description="registered model name", examples=["polku-router"])
    version: str = Field(description="registered model version", examples=["3"])


def as_utc(value: datetime | None) -> datetime | None:
    """A query's datetime in UTC; one without a time zone is read as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
