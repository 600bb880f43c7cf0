"""Documented error answers, so that OpenAPI lists every status a route can give."""

from __future__ import annotations

from typing import Any

from api.problems import MAX_ERRORS, MEDIA_TYPE, problem_schema_example

_TEXT = {
    400: ("bad-request", "Bad request", "the body is not valid JSON"),
    401: ("unauthenticated", "Authentication required", "send a valid, unrevoked API key"),
    403: ("forbidden", "Not allowed for this role", "this operation is for the role(s) admin"),
    404: ("not-found", "Not found", "no such resource in your unit"),
    409: ("conflict", "Conflict", "the resource is in another state"),
    413: ("body-too-large", "Request body too large", "the body is larger than 262144 bytes"),
    415: ("unsupported-media-type", "Unsupported media type", "send the body as JSON"),
    422: ("validation", "The request is not valid", "fix the fields listed in errors"),
    429: ("rate-limited", "Too many requests", "retry after the time in Retry-After"),
    503: ("model-unavailable", "No model is being served", "retry later"),
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {
            "type": "string",
            "description": "problem type (URN)",
            "examples": ["urn:polku:problem:validation"],
        },
        "title": {
            "type": "string",
            "description": "short summary",
            "examples": ["The request is not valid"],
        },
        "status": {"type": "integer", "description": "HTTP status", "examples": [422]},
        "detail": {
            "type": "string",
            "description": "what went wrong and what to do",
            "examples": ["fix the fields listed in errors"],
        },
        "request_id": {
            "type": ["string", "null"],
            "description": "id of the request, as in X-Request-ID",
            "examples": ["3f2b6c1e-8a4d-4f6e-9b1a-2c3d4e5f6a7b"],
        },
        "errors": {
            "type": "array",
            "description": "one entry per failing field (validation problems only)",
            "examples": [
                [
                    {
                        "location": "body",
                        "field": "episodes.0.end_date",
                        "message": "end_date is before start_date",
                        "code": "end_before_start",
                    }
                ]
            ],
            "items": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "body, query, header or path",
                        "examples": ["body"],
                    },
                    "field": {
                        "type": "string",
                        "description": "dotted path of the field in its location",
                        "examples": ["episodes.0.end_date"],
                    },
                    "message": {
                        "type": "string",
                        "description": "the rule that failed",
                        "examples": ["end_date is before start_date"],
                    },
                    "code": {
                        "type": "string",
                        "description": "machine-readable rule",
                        "examples": ["end_before_start"],
                    },
                },
                "required": ["location", "field", "message", "code"],
            },
        },
        "errors_total": {
            "type": "integer",
            "description": "how many fields failed, when errors lists only the first "
            + str(MAX_ERRORS),
            "examples": [2900],
        },
    },
    "required": ["type", "title", "status", "detail", "request_id"],
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status as a problem+json answer with an example."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        kind, title, detail = _TEXT[status]
        out[status] = {
            "description": title,
            "content": {
                MEDIA_TYPE: {
                    "schema": PROBLEM_SCHEMA,
                    "example": problem_schema_example(status, kind, title, detail),
                }
            },
        }
    return out


# Every authenticated route can answer these.
AUTHENTICATED = (400, 401, 403, 413, 415, 422, 429)
