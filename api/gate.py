"""The gate in front of every `/v1/` route: who calls, checked before the body is read.

A request to the API proper (``/v1/...``) is first held to the limits of
`api.limits` (429 with Retry-After: an address with too many failed keys
this minute, a key over its request rate), and authenticated from its
``Authorization`` header alone, before FastAPI receives, parses or
validates a byte of its body: a caller without a valid key costs one key
lookup, whatever it sends. The caller found is kept in the request's state,
where `api.deps` takes it (so a route does not look the key up again).
Which role may call a route is still checked by the route's own rule
(`api.deps.access`), after routing.

The key lookup reads the database. On SQLite, when no other request of the
worker is under way, it is done on the event loop (an indexed read of one
row, never blocked by a writer in WAL mode, and cheaper than a hop to a
worker thread). Otherwise, and always on PostgreSQL, whose network waits
must never hold the loop, it is done in the thread pool: every SQLite call
lets go of the GIL, and while the worker's threads are busy scoring, the
loop would wait for it again after each one.
"""

from __future__ import annotations

from typing import Final

from fastapi import Request
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Caller, authenticate
from api.limits import Limits, retry_after
from api.problems import Problem, database_error, problem_handler
from api.settings import Settings

API_PREFIX: Final = "/v1/"
CALLER_STATE: Final = "caller"


def unauthenticated() -> Problem:
    return Problem(
        401,
        "unauthenticated",
        "Authentication required",
        "send a valid, unrevoked API key as 'Authorization: Bearer <key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def bearer_key(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, or None."""
    scheme, token = get_authorization_scheme_param(authorization)
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def caller_of(scope: Scope) -> Caller | None:
    """The caller the gate found for this request (None outside `/v1/`)."""
    caller = scope.get("state", {}).get(CALLER_STATE)
    return caller if isinstance(caller, Caller) else None


async def find_caller(
    engine: Engine, key: str, settings: Settings, *, alone: bool = True
) -> Caller | None:
    """The caller of `key`; `alone`: no other request of this worker is under way."""
    if alone and engine.dialect.name == "sqlite":
        return authenticate(engine, key, allow_demo=settings.allow_demo_keys)
    return await run_in_threadpool(authenticate, engine, key, allow_demo=settings.allow_demo_keys)


class Gate:
    """ASGI middleware: 401 for a `/v1/` request without a valid key, before its body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.in_flight = 0  # `/v1/` requests of this worker under way

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        settings: Settings = state.settings
        limits: Limits = state.limits
        request = Request(scope)
        address = request.client.host if request.client else "-"
        waited = limits.failures.wait(address)
        if waited:
            await self._refuse(request, too_many("failed authentications", waited), scope, send)
            return
        key = bearer_key(request.headers.get("authorization"))
        alone = self.in_flight == 0
        self.in_flight += 1
        try:
            try:
                caller = (
                    await find_caller(state.engine, key, settings, alone=alone)
                    if key is not None
                    else None
                )
            except (DBAPIError, PoolTimeoutError) as exc:
                await database_error(request, exc)(scope, receive, send)
                return
            if caller is None:
                limits.failures.failed(address)
                await self._refuse(request, unauthenticated(), scope, send)
                return
            waited = limits.keys.wait(caller.key_id)
            if waited:
                await self._refuse(request, too_many("requests with this key", waited), scope, send)
                return
            scope.setdefault("state", {})[CALLER_STATE] = caller
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    @staticmethod
    async def _refuse(request: Request, problem: Problem, scope: Scope, send: Send) -> None:
        async def nothing() -> Message:  # the body is never read
            return {"type": "http.disconnect"}

        await problem_handler(request, problem)(scope, nothing, send)


def too_many(what: str, waited: float) -> Problem:
    return Problem(
        429,
        "rate-limited",
        "Too many requests",
        f"too many {what} from this caller; retry after the time in Retry-After",
        headers={"Retry-After": retry_after(waited)},
    )
