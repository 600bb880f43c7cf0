"""Errors as RFC 9457 problem details, translated in one place.

Every error answer is ``application/problem+json`` with `type`, `title`,
`status`, `detail` and the `request_id`; validation errors add `errors`, one
entry per failing field with its location and path: the first `MAX_ERRORS`
of them, with `errors_total` when there were more (a body of thousands of
wrong fields gets a short answer, and costs little to refuse). Bodies never carry a
stack trace, SQL, a file path or a submitted value: messages name fields and
rules, and anything that looks like a personal identity code is blanked even
in a field name.

Routes and services raise `Problem`; domain errors from `model` (which knows
nothing about HTTP) and infrastructure errors are translated by the handlers
registered in `install`.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from model.errors import DataContractError, PolkuError, UnknownServiceError
from model.privacy import looks_like_personal_identity_code

logger = logging.getLogger(__name__)

MEDIA_TYPE: Final = "application/problem+json"
TYPE_PREFIX: Final = "urn:polku:problem:"
HIDDEN: Final = "(not shown: looks like a personal identity code)"
MAX_ERRORS: Final = 50


@dataclass(frozen=True, slots=True)
class FieldError:
    location: str  # body, query, header, path
    field: str  # dotted path inside the location, e.g. episodes.2.end_date
    message: str
    code: str

    def as_dict(self) -> dict[str, str]:
        return {
            "location": self.location,
            "field": self.field,
            "message": self.message,
            "code": self.code,
        }


class Problem(Exception):
    """An error answer: raise it anywhere below a route."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        errors_total: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = list(errors[:MAX_ERRORS])
        self.errors_total = max(errors_total or 0, len(errors))
        self.headers = dict(headers or {})


def validation_problem(
    errors: Sequence[FieldError], detail: str | None = None, *, total: int | None = None
) -> Problem:
    """422 naming the fields of `errors` (the first `MAX_ERRORS`; `total`: how many in all)."""
    total = max(total or 0, len(errors))
    shown = errors[:MAX_ERRORS]
    fields = ", ".join(
        sorted({f"{e.location}.{e.field}" if e.field else e.location for e in shown})
    )
    if detail is None:
        detail = f"fix the fields listed in errors ({fields})"
        if total > len(shown):
            detail += f"; the first {len(shown)} of {total} errors are listed"
    return Problem(
        422, "validation", "The request is not valid", detail, errors=shown, errors_total=total
    )


def unavailable(kind: str, title: str, detail: str, retry_after: int) -> Problem:
    return Problem(503, kind, title, detail, headers={"Retry-After": str(retry_after)})


def safe(text: str) -> str:
    """`text`, or a placeholder when it contains something like an identity code."""
    return HIDDEN if looks_like_personal_identity_code(text) else text


def problem_response(request: Request | None, problem: Problem) -> Response:
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + problem.kind,
        "title": problem.title,
        "status": problem.status,
        "detail": safe(problem.detail),
        "request_id": request_id,
    }
    if problem.errors:
        body["errors"] = [
            {**e.as_dict(), "field": safe(e.field), "message": safe(e.message)}
            for e in problem.errors
        ]
        if problem.errors_total > len(problem.errors):
            body["errors_total"] = problem.errors_total
    return Response(
        orjson.dumps(body),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=problem.headers,
    )


# --------------------------------------------------------------------------- translators

_LOCATIONS: Final = {"body", "query", "header", "path", "cookie"}

_STATUS_KINDS: Final[Mapping[int, tuple[str, str]]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed for this role"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("body-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def field_errors(raw: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Pydantic's errors as field errors: location, dotted path, message, code; no input values."""
    out = []
    for error in raw:
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc and loc[0] in _LOCATIONS else "body"
        path = loc[1:] if loc and loc[0] in _LOCATIONS else loc
        message = str(error.get("msg", "invalid value"))
        message = message.removeprefix("Value error, ")
        if location == "body" and not path and error.get("type") == "missing":
            message = "a JSON body is required"  # "Field required", of no field
        out.append(FieldError(location, ".".join(path), message, str(error.get("type", "invalid"))))
    return out


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}|[0-9]{1,6}|\[key\]")


def _paths(errors: Sequence[FieldError]) -> str:
    """Field paths for a log line: names and indices only; a caller-chosen name becomes <key>.

    Caller-chosen: anything that is not a plain name or index, the name of an
    unknown field or query parameter (`extra_forbidden`: it looks like a name
    but the caller made it up, so it may be anything, a person's name too),
    and the keys of `extras`.
    """

    def shown(error: FieldError) -> str:
        parts = error.field.split(".") if error.field else []
        out = [error.location]
        for i, part in enumerate(parts):
            chosen = (
                not _NAME.fullmatch(part)
                or (error.code == "extra_forbidden" and i == len(parts) - 1)
                or (i > 0 and parts[i - 1] == "extras")
            )
            out.append("<key>" if chosen else part)
        return ".".join(out)

    return ", ".join(shown(e) for e in errors[:20])


MALFORMED_JSON: Final = Problem(
    400, "malformed-json", "The body is not valid JSON", "send the body as a JSON document"
)


def request_validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    errors = field_errors(raw[:MAX_ERRORS])
    if any(e.get("type") == "json_invalid" for e in raw):
        problem = MALFORMED_JSON
    else:
        problem = validation_problem(errors, total=len(raw))
    logger.info(
        "request refused: %s at %s",
        problem.kind,
        _paths(errors),
    )
    return problem_response(request, problem)


def problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    if exc.errors:
        logger.info(
            "request refused: %s (%d) at %s",
            exc.kind,
            exc.status,
            _paths(exc.errors),
        )
    else:
        logger.info("request refused: %s (%d)", exc.kind, exc.status)
    return problem_response(request, exc)


def _http_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        # FastAPI's "error parsing the body": a number too long for Python (over
        # 4300 digits), bytes that are not UTF-8, nesting deeper than the parser goes.
        return problem_response(request, MALFORMED_JSON)
    kind, title = _STATUS_KINDS.get(exc.status_code, ("http-error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names the methods of the first route on the path only; list them all.
        allowed = allowed_methods(request.app, request.url.path)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
            detail = f"this resource allows {', '.join(allowed)}"
    return problem_response(request, Problem(exc.status_code, kind, title, detail, headers=headers))


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method any route of `app` allows on `path`, sorted."""
    methods: set[str] = set()
    for regex, route_methods in getattr(app.state, "route_methods", ()):
        if regex.match(path):
            methods |= route_methods
    return sorted(methods)


def _domain_handler(request: Request, exc: Exception) -> Response:
    """Domain errors that reach the edge are the caller's input breaking a rule."""
    assert isinstance(exc, PolkuError)
    if isinstance(exc, DataContractError | UnknownServiceError):
        logger.info("request refused: %s", type(exc).__name__)
        return problem_response(
            request, Problem(422, "data-contract", "The data breaks the contract", str(exc))
        )
    return _internal(request, exc)


def _database_handler(request: Request, exc: Exception) -> Response:
    settings = getattr(request.app.state, "settings", None)
    retry = getattr(settings, "retry_after_seconds", 5)
    logger.warning("database unavailable: %s", type(getattr(exc, "orig", None) or exc).__name__)
    return problem_response(
        request,
        unavailable(
            "database-unavailable",
            "The database is not available",
            "nothing was stored; retry later with the same Idempotency-Key",
            retry,
        ),
    )


def log_internal(exc: BaseException, request_id: str | None) -> None:
    """Log an unexpected error by kind and frames; its message may hold a value, so not it."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error(
        "internal error %s in request %s\n%s", type(exc).__name__, request_id or "-", frames
    )


INTERNAL = Problem(
    500,
    "internal",
    "Internal error",
    "the server failed to answer; the request id identifies the failure in the logs",
)


def _internal(request: Request, exc: BaseException) -> Response:
    log_internal(exc, getattr(request.state, "request_id", None))
    return problem_response(request, INTERNAL)


def _dbapi_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return _database_handler(request, exc)
    return _internal(request, exc)


def database_error(request: Request, exc: Exception) -> Response:
    """The answer to a database error raised outside FastAPI's handlers (`api.gate`)."""
    if isinstance(exc, DBAPIError):
        return _dbapi_handler(request, exc)
    return _database_handler(request, exc)


def install(app: FastAPI) -> None:
    """Register the translators. Anything else is answered by `api.middleware` (500)."""
    app.add_exception_handler(Problem, problem_handler)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(PolkuError, _domain_handler)
    app.add_exception_handler(DBAPIError, _dbapi_handler)
    app.add_exception_handler(PoolTimeoutError, _database_handler)


def problem_schema_example(status: int, kind: str, title: str, detail: str) -> dict[str, Any]:
    return {
        "type": TYPE_PREFIX + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": "3f2b6c1e-8a4d-4f6e-9b1a-2c3d4e5f6a7b",
    }
