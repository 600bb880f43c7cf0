"""What every console page shares: its language, its rendering, the session, refusals.

A refusal is a page too (`PageError`, shown by `refused`); a session that
ended sends the browser to the sign-in page, saying why (`session_ended`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from api.auth import Role
from api.console import session as sessions
from api.console.locale import DEFAULT_LANGUAGE, Words, words
from api.console.pages import render
from api.console.session import Session, SessionEnded
from api.problems import FieldError, Problem
from api.reports.logged import REPORT_READERS
from api.settings import Settings
from api.storage.control import ControlState
from model.vocab import LANGUAGES

PREFIX: Final = "/console"
CASEWORKER: Final = frozenset({Role.caseworker})
DECISION_READERS: Final = frozenset({Role.caseworker, Role.admin})
# The menu, in order: (section, its page, the roles that may open it). A role
# sees only what it may open and starts at the first of them.
SECTIONS: Final = (
    ("client", f"{PREFIX}/client", CASEWORKER),
    ("decisions", f"{PREFIX}/decisions", DECISION_READERS),
    ("reports", f"{PREFIX}/reports", REPORT_READERS),
)


class PageError(Exception):
    """A refusal shown as a page: HTTP status and the message's key."""

    def __init__(self, status: int, key: str, **fields: Any) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.fields = fields


def menu(role: Role) -> list[tuple[str, str]]:
    """(section, page) of each part of the console `role` may open, in menu order."""
    return [(section, path) for section, path, roles in SECTIONS if role in roles]


def home(role: Role) -> str:
    """Where `role` starts: its first section (a role with none is refused there)."""
    sections = menu(role)
    return sections[0][1] if sections else f"{PREFIX}/client"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def language_of(request: Request) -> str:
    """?lang= when given (then remembered in a cookie), else the cookie, else Finnish."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(sessions.LANGUAGE_COOKIE)
    return kept if kept in LANGUAGES else DEFAULT_LANGUAGE


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    session: Session | None,
    status_code: int = 200,
) -> HTMLResponse:
    language = language_of(request)
    response = render(
        template,
        language,
        {
            "session": session,
            "menu": menu(session.caller.role) if session else [],
            "path": request.url.path,
            "banner": None,
            "notice": None,
            "section": None,
            "title": words(language)(context.get("title_key", "common.product")),
            **context,
        },
        status_code=status_code,
    )
    remember_language(request, response)
    return response


def remember_language(request: Request, response: Response) -> None:
    """A language asked for with ?lang= is kept in a cookie for the next pages."""
    language = request.query_params.get("lang")
    if language in LANGUAGES:
        response.set_cookie(
            sessions.LANGUAGE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            path=PREFIX,
            secure=sessions.secure(request, settings_of(request)),
            httponly=True,
            samesite="strict",
        )


def signed_in(
    request: Request, *, roles: frozenset[Role] | None = None, refusal: str = "errors.forbidden"
) -> Session:
    """The request's session; a role not in `roles` is refused with the message `refusal`."""
    session = sessions.current_session(request, request.app.state.engine, settings_of(request))
    if roles is not None and session.caller.role not in roles:
        language = language_of(request)
        raise PageError(403, refusal, role=words(language)(f"roles.{session.caller.role.value}"))
    return session


def check_form(request: Request, form: FormData, session: Session) -> None:
    if sessions.cross_site(request) or not sessions.same_token(
        session.csrf_token, form.get(sessions.CSRF_FIELD)
    ):
        raise PageError(403, "errors.csrf")


def banner(state: ControlState, request: Request, t: Words) -> str | None:
    if state.paused:
        return t("common.paused", why=f" ({state.reason})" if state.reason else "")
    if request.app.state.holder.current is None:
        return t("common.model_unavailable")
    return None


def problem_messages(problem: Problem, t: Words) -> dict[str, str]:
    """Field name -> message of a validation problem; other problems under the empty name."""
    if problem.status == 503:
        kind = "common.paused" if problem.kind == "paused" else "common.model_unavailable"
        return {"": t(kind, why="") if problem.kind == "paused" else t(kind)}
    if not problem.errors:
        return {"": problem.detail}
    return field_messages(problem.errors, t)


def field_messages(errors: list[FieldError], t: Words) -> dict[str, str]:
    out: dict[str, str] = {}
    for error in errors:
        name = error.field
        message = t("common.required") if error.code == "missing" else error.message
        out.setdefault(name, message)
    return out


def session_ended(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SessionEnded)
    where = f"{PREFIX}/sign-in" + (f"?ended={exc.why}" if exc.why else "")
    response = RedirectResponse(where, status_code=303)
    sessions.clear_session_cookie(response, request, settings_of(request))
    return response


def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    t = words(language_of(request))
    try:
        session: Session | None = sessions.current_session(
            request, request.app.state.engine, settings_of(request)
        )
    except SessionEnded:
        session = None
    return page(
        request,
        "error.html",
        {"title_key": "errors.title", "message": t(exc.key, **exc.fields)},
        session=session,
        status_code=exc.status,
    )
