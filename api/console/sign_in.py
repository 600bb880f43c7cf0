"""Signing in and out of the console: a key in, a session cookie out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.auth import authenticate
from api.console import session as sessions
from api.console.locale import words
from api.console.session import SessionEnded
from api.console.web import (
    PREFIX,
    check_form,
    home,
    language_of,
    page,
    settings_of,
    signed_in,
)
from api.limits import retry_after

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("")
@router.get("/")
def start(request: Request) -> Response:
    try:
        session = signed_in(request)
    except SessionEnded:
        return RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    return RedirectResponse(home(session.caller.role), status_code=303)


@router.get("/sign-in")
def sign_in_form(request: Request, ended: str | None = None) -> Response:
    return _sign_in_page(request, ended=ended)


def _sign_in_page(
    request: Request, *, ended: str | None = None, error: str | None = None, status_code: int = 200
) -> Response:
    t = words(language_of(request))
    notice = {
        "idle": t("sign_in.ended_idle", minutes=settings_of(request).console_idle_minutes),
        "signed_out": t("sign_in.ended_signed_out"),
        "expired": t("sign_in.ended_expired"),
    }.get(ended or "")
    token = sessions.sign_in_token(request)
    response = page(
        request,
        "sign_in.html",
        {"title_key": "sign_in.title", "csrf": token, "notice": notice, "error": error},
        session=None,
        status_code=status_code,
    )
    sessions.set_sign_in_cookie(response, request, settings_of(request), token)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_sign_in, request, form)


def _sign_in(request: Request, form: FormData) -> Response:
    settings = settings_of(request)
    t = words(language_of(request))
    expected = request.cookies.get(sessions.SIGN_IN_COOKIE)
    if sessions.cross_site(request) or not sessions.same_token(
        expected, form.get(sessions.CSRF_FIELD)
    ):
        return _sign_in_page(request, error=t("sign_in.form_expired"), status_code=403)
    # Failed keys count against the address as they do at the API (api.gate).
    failures = request.app.state.limits.failures
    address = request.client.host if request.client else "-"
    waited = failures.wait(address)
    if waited:
        refused = _sign_in_page(request, error=t("sign_in.refused"), status_code=429)
        refused.headers["Retry-After"] = retry_after(waited)
        return refused
    key = form.get("key")
    engine = request.app.state.engine
    caller = (
        authenticate(engine, key.strip(), allow_demo=settings.allow_demo_keys)
        if isinstance(key, str)
        else None
    )
    if caller is None:
        failures.failed(address)
        return _sign_in_page(request, error=t("sign_in.refused"), status_code=401)
    token, _ = sessions.start_session(engine, caller, settings)
    response = RedirectResponse(home(caller.role), status_code=303)
    sessions.set_session_cookie(response, request, settings, token)
    response.delete_cookie(sessions.SIGN_IN_COOKIE, path=sessions.PATH)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_sign_out, request, form)


def _sign_out(request: Request, form: FormData) -> Response:
    session = signed_in(request)
    check_form(request, form, session)
    sessions.end(request.app.state.engine, session)
    response = RedirectResponse(f"{PREFIX}/sign-in?ended=signed_out", status_code=303)
    sessions.clear_session_cookie(response, request, settings_of(request))
    return response
