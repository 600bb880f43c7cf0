"""Dependencies as `Annotated` aliases, and the access rule of every route.

Everything a route needs comes from the app's state (created in the
lifespan, never at import time) through these aliases: `SettingsDep`,
`EngineDep`, `HolderDep`, `CallerDep`, `ServedModelDep`.

The dependencies that only read the app's state are `async def`: FastAPI
runs a plain `def` dependency in the thread pool, and those hops were a
measurable part of a request (bench/serve.py); `_caller` reads the database
and stays a plain `def`.

Every route declares who may call it with `access(...)`, which adds the role
check and records the rule in the OpenAPI document (``x-polku-roles``).
`api.main.create_app` refuses to build an app with a route that has no rule,
and `tests/api/test_access.py` checks every route against every role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from api.auth import Caller, Role, authenticate
from api.problems import FieldError, Problem, safe, unavailable, validation_problem
from api.serving import LoadedModel, ModelHolder
from api.settings import Settings

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


def _caller(
    engine: EngineDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    caller = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        caller = authenticate(engine, credentials.credentials, allow_demo=settings.allow_demo_keys)
    if caller is None:
        raise Problem(
            401,
            "unauthenticated",
            "Authentication required",
            "send a valid, unrevoked API key as 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller


CallerDep = Annotated[Caller, Depends(_caller)]


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
            raise Problem(
                403,
                "forbidden",
                "Not allowed for this role",
                f"this operation is for the role(s) {', '.join(sorted(r.value for r in self.roles))}",
            )
        return caller


async def _known_query(request: Request) -> None:
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


def access(*roles: Role, public: bool = False) -> dict[str, Any]:
    """Route keyword arguments: the role check, its record in OpenAPI, no unknown query parameters."""
    if public:
        assert not roles
        return {"dependencies": [Depends(_known_query)], "openapi_extra": {ROLES_KEY: [PUBLIC]}}
    if not roles:
        raise ValueError("a route needs at least one role, or public=True")
    guard: Callable[..., Any] = _RoleGuard(frozenset(roles))
    return {
        "dependencies": [Depends(guard), Depends(_known_query)],
        "openapi_extra": {ROLES_KEY: sorted(r.value for r in roles)},
    }
