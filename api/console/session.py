"""Console sign-in: an API key exchanged for a session cookie, and the form tokens.

- The cookie holds 256 random bits; the database keeps its SHA-256 only
  (`console_sessions`), with the key, role and unit of the sign-in: a
  session is bound to its unit and acts as its key does.
- It is HttpOnly and SameSite=Strict, and Secure (with the ``__Host-``
  prefix) behind TLS and always in production.
- A session ends on sign-out, after ``POLKU_CONSOLE_IDLE_MINUTES`` unused,
  ``POLKU_CONSOLE_SESSION_HOURS`` after sign-in, or when its key is revoked.
- Every form carries the session's CSRF token; the sign-in form, before a
  session exists, a token that must equal a short-lived cookie's (double
  submit). A post that a browser marks cross-site is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

from fastapi import Request, Response
from sqlalchemy import Engine

from api.auth import Caller, Role
from api.settings import Settings
from api.storage.engine import read_transaction, write_transaction
from api.storage.keys import find_key
from api.storage.sessions import (
    SessionRow,
    end_session,
    find_session,
    insert_session,
    purge_sessions,
    touch_session,
)

SESSION_COOKIE: Final = "polku_session"
SECURE_SESSION_COOKIE: Final = "__Host-polku_session"
SIGN_IN_COOKIE: Final = "polku_sign_in"
LANGUAGE_COOKIE: Final = "polku_language"
CSRF_FIELD: Final = "csrf_token"
PATH: Final = "/console"
# Last use is written at most this often: a page view is not a write.
TOUCH_EVERY: Final = timedelta(seconds=60)
SIGN_IN_FORM_SECONDS: Final = 30 * 60


@dataclass(frozen=True)
class Session:
    session_hash: str
    caller: Caller
    csrf_token: str


class SessionEnded(Exception):
    """No session, or it ended: sign in again. `why` is idle, expired or None."""

    def __init__(self, why: str | None) -> None:
        super().__init__(why or "no session")
        self.why = why


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def secure(request: Request, settings: Settings) -> bool:
    """Cookies are Secure behind TLS, and always in production."""
    return request.url.scheme == "https" or settings.env == "production"


def _cookie_name(request: Request, settings: Settings) -> str:
    return SECURE_SESSION_COOKIE if secure(request, settings) else SESSION_COOKIE


def start_session(
    engine: Engine, caller: Caller, settings: Settings, *, now: datetime | None = None
) -> tuple[str, Session]:
    """A new session for `caller`: (the cookie's value, the session). Old ones are purged."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    row = SessionRow(
        session_hash=_hash(token),
        key_id=caller.key_id,
        role=caller.role.value,
        unit=caller.unit,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        ended_at=None,
    )
    with write_transaction(engine) as connection:
        purge_sessions(
            connection,
            idle_before=now - timedelta(minutes=settings.console_idle_minutes),
            started_before=now - timedelta(hours=settings.console_session_hours),
        )
        insert_session(connection, session=row)
    return token, Session(row.session_hash, caller, row.csrf_token)


def current_session(
    request: Request, engine: Engine, settings: Settings, *, now: datetime | None = None
) -> Session:
    """The request's live session, or `SessionEnded` (which says why when it timed out)."""
    token = request.cookies.get(_cookie_name(request, settings))
    if not token:
        raise SessionEnded(None)
    now = now or datetime.now(UTC)
    session_hash = _hash(token)
    with read_transaction(engine) as connection:
        row = find_session(connection, session_hash=session_hash)
        key = find_key(connection, key_id=row.key_id) if row is not None else None
    if row is None or row.ended_at is not None:
        raise SessionEnded(None)
    why = None
    if now - row.last_seen_at > timedelta(minutes=settings.console_idle_minutes):
        why = "idle"
    elif now - row.created_at > timedelta(hours=settings.console_session_hours) or (
        key is None
        or not key.active
        or (key.demo and not settings.allow_demo_keys)
        or key.unit != row.unit
        or key.role != row.role
    ):
        why = "expired"
    if why is not None:
        with write_transaction(engine) as connection:
            end_session(connection, session_hash=session_hash, at=now)
        raise SessionEnded(why)
    if now - row.last_seen_at > TOUCH_EVERY:
        with write_transaction(engine) as connection:
            touch_session(connection, session_hash=session_hash, at=now)
    caller = Caller(key_id=row.key_id, role=Role(row.role), unit=row.unit)
    return Session(session_hash, caller, row.csrf_token)


def end(engine: Engine, session: Session, *, now: datetime | None = None) -> None:
    with write_transaction(engine) as connection:
        end_session(connection, session_hash=session.session_hash, at=now or datetime.now(UTC))


def set_session_cookie(
    response: Response, request: Request, settings: Settings, token: str
) -> None:
    is_secure = secure(request, settings)
    response.set_cookie(
        _cookie_name(request, settings),
        token,
        max_age=settings.console_session_hours * 3600,
        path="/",  # the __Host- prefix requires /; the console is the only reader
        secure=is_secure,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        _cookie_name(request, settings),
        path="/",
        secure=secure(request, settings),
        httponly=True,
        samesite="strict",
    )


def sign_in_token(request: Request) -> str:
    """The sign-in form's token: the one in its cookie, or a new one."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)


def set_sign_in_cookie(
    response: Response, request: Request, settings: Settings, token: str
) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=SIGN_IN_FORM_SECONDS,
        path=PATH,
        secure=secure(request, settings),
        httponly=True,
        samesite="strict",
    )


def same_token(expected: str | None, sent: object) -> bool:
    return (
        bool(expected)
        and isinstance(sent, str)
        and hmac.compare_digest(expected.encode(), sent.encode())  # type: ignore[union-attr]
    )


def cross_site(request: Request) -> bool:
    """A post the browser says came from another site (Sec-Fetch-Site, else Origin)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return False
    # the host alone: behind a proxy that ends TLS the scheme seen here is http
    return urlsplit(origin).netloc != request.headers.get("host", "")
