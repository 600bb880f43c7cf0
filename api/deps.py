"""Dependencies as `Annotated` aliases, and the access rule of every route.

Everything a route needs comes from the app's state (created in the
lifespan, never at import time) through these aliases: `SettingsDep`,
`EngineDep`, `HolderDep`, `CallerDep`, `ServedModelDep`.

The dependencies that only read the app's state are `async def`: FastAPI
runs a plain `def` dependency in the thread pool, and those hops were a
measurable part of a request (bench/serve.py).

Every route declares who may call it with `access(...)`, which adds the role
check and records the rule in the OpenAPI document (``x-polku-roles``).
`api.main.create_app` refuses to build an app with a route that has no rule,
and `tests/api/test_access.py` checks every route against every role.

Who calls is found by `api.gate` before the body is read, for every
`/v1/` route; `CallerDep` takes the caller it found (and checks the key
itself only for a route outside the gate). The busiest route, POST
/v1/recommendations, checks its caller's role itself (`access(...,
in_route=True)` and `check_caller`), in the thread that does its work. The
order a caller sees stays the same (401, 403, unknown query parameter, then
the body): a body FastAPI refuses before the route runs goes through
`validation_handler`, which checks the role first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, Role, authenticate_on
from api.gate import caller_of, unauthenticated
from api.problems import (
    FieldError,
    Problem,
    problem_handler,
    request_validation_handler,
    safe,
    unavailable,
    validation_problem,
)
from api.serving import LoadedModel, ModelHolder
from api.settings import Settings
from api.storage.engine import read_transaction

ROLES_KEY: Final = "x-polku-roles"
PUBLIC: Final = "public"

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="an API key from `polku keys create`, sent as `Authorization: Bearer <key>`",
)


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def _holder(request: Request) -> ModelHolder:
    holder: ModelHolder = request.app.state.holder
    return holder


SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]
HolderDep = Annotated[ModelHolder, Depends(_holder)]


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _unauthenticated() -> Problem:
    return unauthenticated()


def _forbidden(roles: frozenset[Role]) -> Problem:
    return Problem(
        403,
        "forbidden",
        "Not allowed for this role",
        f"this operation is for the role(s) {', '.join(sorted(r.value for r in roles))}",
    )


def _authenticated(
    connection: Connection,
    credentials: HTTPAuthorizationCredentials | None,
    settings: Settings,
    request: Request | None = None,
) -> Caller:
    """The caller the gate found, else the caller of a bearer key; or 401."""
    caller = caller_of(request.scope) if request is not None else None
    if caller is not None:
        return caller
    if credentials is not None and credentials.scheme.lower() == "bearer":
        caller = authenticate_on(
            connection, credentials.credentials, allow_demo=settings.allow_demo_keys
        )
    if caller is None:
        raise _unauthenticated()
    return caller


async def _caller(
    request: Request, engine: EngineDep, settings: SettingsDep, credentials: BearerDep
) -> Caller:
    caller = caller_of(request.scope)
    if caller is not None:
        return caller
    return await run_in_threadpool(_caller_from_key, engine, settings, credentials)


def _caller_from_key(
    engine: Engine, settings: Settings, credentials: HTTPAuthorizationCredentials | None
) -> Caller:
    with read_transaction(engine) as connection:
        return _authenticated(connection, credentials, settings)


CallerDep = Annotated[Caller, Depends(_caller)]


def check_caller(
    connection: Connection,
    credentials: HTTPAuthorizationCredentials | None,
    settings: Settings,
    request: Request,
    roles: frozenset[Role],
) -> Caller:
    """For an `access(..., in_route=True)` route: who calls, checked as the dependencies would.

    401 for a missing, unknown or revoked key, 403 for another role, 422 for
    an unknown query parameter; in that order, inside `connection`'s
    transaction.
    """
    caller = _authenticated(connection, credentials, settings, request)
    if caller.role not in roles:
        raise _forbidden(roles)
    _check_query(request)
    return caller


def require_model(holder: ModelHolder, settings: Settings) -> LoadedModel:
    """The model being served, or 503 (never a default ranking)."""
    model = holder.current
    if model is None:
        raise unavailable(
            "model-unavailable",
            "No model is being served",
            "the model could not be loaded yet; no ranking is given without one",
            settings.retry_after_seconds,
        )
    return model


async def _served_model(holder: HolderDep, settings: SettingsDep) -> LoadedModel:
    return require_model(holder, settings)


ServedModelDep = Annotated[LoadedModel, Depends(_served_model)]


class _RoleGuard:
    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    async def __call__(self, caller: CallerDep) -> Caller:
        if caller.role not in self.roles:
            raise _forbidden(self.roles)
        return caller


async def _known_query(request: Request) -> None:
    _check_query(request)


def _check_query(request: Request) -> None:
    """Unknown query parameters are refused (422), as unknown body fields are."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    declared = getattr(request.app.state, "query_parameters", {})
    known = declared.get((request.method, getattr(route, "path", None)), set())
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        raise validation_problem(
            [
                FieldError("query", safe(name), "unknown query parameter", "extra_forbidden")
                for name in unknown
            ]
        )


def access(*roles: Role, public: bool = False, in_route: bool = False) -> dict[str, Any]:
    """Route keyword arguments: the role check, its record in OpenAPI, no unknown query parameters.

    With `in_route=True` the route itself calls `check_caller` first thing
    (and takes `BearerDep`, which documents the key in OpenAPI).
    """
    if public:
        assert not roles
        return {"dependencies": [Depends(_known_query)], "openapi_extra": {ROLES_KEY: [PUBLIC]}}
    if not roles:
        raise ValueError("a route needs at least one role, or public=True")
    declared = {ROLES_KEY: sorted(r.value for r in roles)}
    if in_route:
        return {"openapi_extra": declared}
    guard: Callable[..., Any] = _RoleGuard(frozenset(roles))
    return {"dependencies": [Depends(guard), Depends(_known_query)], "openapi_extra": declared}


def roles_of(request: Request) -> frozenset[Role] | None:
    """The roles the matched route admits; None for a public route or no route."""
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    declared = extra.get(ROLES_KEY)
    if not declared or PUBLIC in declared:
        return None
    return frozenset(Role(r) for r in declared)


def validation_handler(request: Request, exc: Exception) -> Response:
    """A refused body or parameter, after the caller is checked as the route would.

    FastAPI validates the body before an `in_route` route runs; without this
    an unauthenticated caller would learn what is wrong with its body. A
    guarded route's dependencies already passed, so for it this checks again
    (one read, on refusals only). Plain `def`: Starlette runs it in the
    thread pool, where the database may be read.
    """
    assert isinstance(exc, RequestValidationError)
    roles = roles_of(request)
    if roles is not None:
        settings: Settings = request.app.state.settings
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        credentials = (
            HTTPAuthorizationCredentials(scheme=scheme, credentials=token)
            if scheme and token
            else None
        )
        try:
            with read_transaction(request.app.state.engine) as connection:
                check_caller(connection, credentials, settings, request, roles)
        except Problem as problem:
            return problem_handler(request, problem)
    return request_validation_handler(request, exc)
