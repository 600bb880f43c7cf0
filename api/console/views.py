"""The console's routes: sign-in, Client, Suggestions, Decision, decisions list, explanation.

Client data travels only in POST bodies; addresses hold a request id (a
random UUID) and the language at most, so neither the server's logs nor a
browser's history keep a client's details. A submitted client is answered
with a redirect to its suggestions (post, redirect, get), which the
language switch and a reload show again without sending the client twice.
Every page and every refusal is HTML in the caseworker's language.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api.auth import Role, authenticate
from api.common import UUID_PATTERN
from api.console import session as sessions
from api.console.client_form import (
    ClientForm,
    form_from_csv,
    option_lists,
    read_form,
    request_document,
    service_choices,
)
from api.console.explanation import client_explanation, decisions_on, explanation_text
from api.console.locale import DEFAULT_LANGUAGE, Words, words
from api.console.pages import STATIC_PATH, render
from api.console.session import Session, SessionEnded
from api.console.suggestions import suggestions_page
from api.decisions.schemas import DecisionRequest
from api.decisions.service import record_decision, visible_unit
from api.problems import FieldError, Problem, field_errors
from api.recommendations.schemas import RecommendationRequest
from api.recommendations.service import answer_checked, today
from api.recommendations.stored import find_event
from api.settings import Settings
from api.storage.audit import recent_audit_events
from api.storage.control import ControlState, control_state
from api.storage.decisions import decisions_for_requests, recent_decisions
from api.storage.engine import read_transaction
from model.vocab import LANGUAGES, REASON_CODES

PREFIX: Final = "/console"
RECENT: Final = 15
DECISION_LIST: Final = 100
router = APIRouter(prefix=PREFIX, include_in_schema=False)


class PageError(Exception):
    """A refusal shown as a page: HTTP status and the message's key."""

    def __init__(self, status: int, key: str, **fields: Any) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.fields = fields


# --------------------------------------------------------------------------- helpers


def _settings(request: Request) -> Settings:
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
            "path": request.url.path,
            "banner": None,
            "notice": None,
            "section": None,
            "title": words(language)(context.get("title_key", "common.product")),
            **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            sessions.LANGUAGE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            path=PREFIX,
            secure=sessions.secure(request, _settings(request)),
            httponly=True,
            samesite="strict",
        )
    return response


def _signed_in(request: Request, *, roles: frozenset[Role] | None = None) -> Session:
    session = sessions.current_session(request, request.app.state.engine, _settings(request))
    if roles is not None and session.caller.role not in roles:
        language = language_of(request)
        raise PageError(
            403, "errors.forbidden", role=words(language)(f"roles.{session.caller.role.value}")
        )
    return session


CASEWORKER = frozenset({Role.caseworker})


def _check_form(request: Request, form: FormData, session: Session) -> None:
    if sessions.cross_site(request) or not sessions.same_token(
        session.csrf_token, form.get(sessions.CSRF_FIELD)
    ):
        raise PageError(403, "errors.csrf")


def _banner(state: ControlState, request: Request, t: Words) -> str | None:
    if state.paused:
        return t("common.paused", why=f" ({state.reason})" if state.reason else "")
    if request.app.state.holder.current is None:
        return t("common.model_unavailable")
    return None


def _problem_messages(problem: Problem, t: Words) -> dict[str, str]:
    """Field name -> message of a validation problem; other problems under the empty name."""
    if problem.status == 503:
        kind = "common.paused" if problem.kind == "paused" else "common.model_unavailable"
        return {"": t(kind, why="") if problem.kind == "paused" else t(kind)}
    if not problem.errors:
        return {"": problem.detail}
    return _field_messages(problem.errors, t)


def _field_messages(errors: list[FieldError], t: Words) -> dict[str, str]:
    out: dict[str, str] = {}
    for error in errors:
        name = error.field
        message = t("common.required") if error.code == "missing" else error.message
        out.setdefault(name, message)
    return out


# --------------------------------------------------------------------------- sign-in


@router.get("")
@router.get("/")
def home(request: Request) -> Response:
    try:
        _signed_in(request)
    except SessionEnded:
        return RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    return RedirectResponse(f"{PREFIX}/client", status_code=303)


@router.get("/sign-in")
def sign_in_form(request: Request, ended: str | None = None) -> Response:
    return _sign_in_page(request, ended=ended)


def _sign_in_page(
    request: Request, *, ended: str | None = None, error: str | None = None, status_code: int = 200
) -> Response:
    t = words(language_of(request))
    notice = {
        "idle": t("sign_in.ended_idle", minutes=_settings(request).console_idle_minutes),
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
    sessions.set_sign_in_cookie(response, request, _settings(request), token)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_sign_in, request, form)


def _sign_in(request: Request, form: FormData) -> Response:
    settings = _settings(request)
    t = words(language_of(request))
    expected = request.cookies.get(sessions.SIGN_IN_COOKIE)
    if sessions.cross_site(request) or not sessions.same_token(
        expected, form.get(sessions.CSRF_FIELD)
    ):
        return _sign_in_page(request, error=t("sign_in.form_expired"), status_code=403)
    key = form.get("key")
    engine = request.app.state.engine
    caller = (
        authenticate(engine, key.strip(), allow_demo=settings.allow_demo_keys)
        if isinstance(key, str)
        else None
    )
    if caller is None:
        return _sign_in_page(request, error=t("sign_in.refused"), status_code=401)
    token, _ = sessions.start_session(engine, caller, settings)
    response = RedirectResponse(f"{PREFIX}/client", status_code=303)
    sessions.set_session_cookie(response, request, settings, token)
    response.delete_cookie(sessions.SIGN_IN_COOKIE, path=sessions.PATH)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_sign_out, request, form)


def _sign_out(request: Request, form: FormData) -> Response:
    session = _signed_in(request)
    _check_form(request, form, session)
    sessions.end(request.app.state.engine, session)
    response = RedirectResponse(f"{PREFIX}/sign-in?ended=signed_out", status_code=303)
    sessions.clear_session_cookie(response, request, _settings(request))
    return response


# --------------------------------------------------------------------------- client


@router.get("/client")
def client_page(request: Request) -> Response:
    session = _signed_in(request, roles=CASEWORKER)
    form = ClientForm({"as_of": today().isoformat(), "k": "3"})
    return _client_page(request, session, form)


def _client_page(
    request: Request,
    session: Session,
    form: ClientForm,
    *,
    errors: Mapping[str, str] | None = None,
    json_text: str = "",
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    language = language_of(request)
    t = words(language)
    engine = request.app.state.engine
    with read_transaction(engine) as connection:
        state = control_state(connection)
        events = recent_audit_events(connection, unit=session.caller.unit, limit=RECENT)
        decided = decisions_for_requests(connection, request_ids=[e.request_id for e in events])
    model = request.app.state.holder.current
    catalogue = model.router.catalogue if model is not None else None
    services = (
        {s.code: s.name[language] for s in catalogue.services} if catalogue is not None else {}
    )
    actions = dict(services)
    if catalogue is not None:
        actions[catalogue.no_new_service.code] = catalogue.no_new_service.name[language]
    statuses = option_lists(language)
    errors = dict(errors or {})
    error_list = [
        (name, f"{_label(name, t)}: {text}" if name else text) for name, text in errors.items()
    ]
    recent = [
        {
            "request_id": e.request_id,
            "when": e.created_at,
            "client_id": e.client_id,
            "first": actions.get(
                e.output["recommendations"][0]["service"],
                e.output["recommendations"][0]["name"],
            ),
            "decided": bool(decided.get(e.request_id)),
        }
        for e in events
    ]
    context = {
        "title_key": "client.title",
        "section": "client",
        "form": form,
        "errors": errors,
        "error_list": error_list,
        "options": statuses,
        "yes_no": [
            {"value": "true", "label": t("common.yes")},
            {"value": "false", "label": t("common.no")},
        ],
        "services_with_review": service_choices(
            services, with_review=True, review_label=t("status.review")
        ),
        "actions": service_choices(actions, with_review=False, review_label=""),
        "episode_status": [
            {"value": c.value, "label": t(f"status.{c.value}")} for c in statuses["episode_status"]
        ],
        "outcome_status": [
            {"value": c.value, "label": t(f"status.{c.value}")} for c in statuses["outcome_status"]
        ],
        "extras": dict(model.extras) if model is not None else {},
        "today": today().isoformat(),
        "json_text": json_text,
        "recent": recent,
        "banner": _banner(state, request, t),
        "notice": notice,
    }
    return page(request, "client.html", context, session=session, status_code=status_code)


def _label(name: str, t: Words) -> str:
    """The form label of a request path (client.birth_year, episodes.2.end_date)."""
    parts = name.split(".")
    if parts[0] == "client" and len(parts) > 1 and t.has(f"client.{parts[1]}"):
        return t(f"client.{parts[1]}")
    if parts[0] in ("episodes", "outcomes") and len(parts) == 3 and t.has(f"client.{parts[2]}"):
        title = t("client.episodes") if parts[0] == "episodes" else t("client.outcomes")
        row = t("client.episode_row", n=int(parts[1]) + 1) if parts[1].isdigit() else parts[1]
        return f"{title}, {row}: {t(f'client.{parts[2]}')}"
    if parts[0] in ("as_of", "k"):
        return t(f"client.{parts[0]}")
    return name


@router.post("/client")
async def submit_client(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_submit_client, request, form)


def _submit_client(request: Request, posted: FormData) -> Response:
    session = _signed_in(request, roles=CASEWORKER)
    _check_form(request, posted, session)
    more_rows = posted.get("action") == "more_rows"
    form = read_form(posted, more_rows=more_rows)
    if more_rows:
        return _client_page(request, session, form)
    language = language_of(request)
    model = request.app.state.holder.current
    document = request_document(form, extras=dict(model.extras) if model else {}, language=language)
    try:
        body = RecommendationRequest.model_validate(document)
    except ValidationError as exc:
        messages = _field_messages(field_errors(exc.errors()), words(language))
        return _client_page(request, session, form, errors=messages, status_code=422)
    return _ask(
        request,
        session,
        body,
        on_error=lambda errors, status: _client_page(
            request, session, form, errors=errors, status_code=status
        ),
    )


def _ask(
    request: Request, session: Session, body: RecommendationRequest, *, on_error: Any
) -> Response:
    """Ask for suggestions as the API does; to them, or back to the form with what was wrong."""
    engine = request.app.state.engine
    with read_transaction(engine) as connection:
        state = control_state(connection)
    try:
        answer = answer_checked(
            body,
            caller=session.caller,
            state=state,
            holder=request.app.state.holder,
            settings=_settings(request),
            engine=engine,
            request_id=request.state.request_id,
        )
    except Problem as problem:
        messages = _problem_messages(problem, words(language_of(request)))
        return on_error(messages, problem.status)  # type: ignore[no-any-return]
    return RedirectResponse(f"{PREFIX}/requests/{answer['request_id']}", status_code=303)


@router.post("/client/json")
async def submit_json(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_submit_json, request, form)


def _submit_json(request: Request, posted: FormData) -> Response:
    session = _signed_in(request, roles=CASEWORKER)
    _check_form(request, posted, session)
    text = posted.get("request_json")
    text = text if isinstance(text, str) else ""
    t = words(language_of(request))
    empty = ClientForm({"as_of": today().isoformat(), "k": "3"})

    def back(errors: Mapping[str, str], status: int) -> Response:
        return _client_page(
            request, session, empty, errors=errors, json_text=text, status_code=status
        )

    try:
        body = RecommendationRequest.model_validate_json(text)
    except ValidationError as exc:
        problems = field_errors(exc.errors())
        if any(error.code == "json_invalid" for error in problems):
            return back({"": t("client.json_invalid")}, 422)
        return back({f"JSON {e.field}": e.message for e in problems}, 422)
    return _ask(request, session, body, on_error=back)


@router.post("/client/csv")
async def submit_csv(request: Request) -> Response:
    form = await request.form()
    upload = form.get("client_csv")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    return await run_in_threadpool(_submit_csv, request, form, data)


def _submit_csv(request: Request, posted: FormData, data: bytes) -> Response:
    session = _signed_in(request, roles=CASEWORKER)
    _check_form(request, posted, session)
    t = words(language_of(request))
    try:
        form = form_from_csv(data)
    except ValueError as exc:
        empty = ClientForm({"as_of": today().isoformat(), "k": "3"})
        errors = {"": t("client.csv_invalid", why=str(exc))}
        return _client_page(request, session, empty, errors=errors, status_code=422)
    form.values.setdefault("as_of", today().isoformat())
    form.values.setdefault("k", "3")
    return _client_page(request, session, form, notice=t("client.csv_filled"))


# --------------------------------------------------------------------------- suggestions


def _request_id(request_id: str) -> str:
    if not re.fullmatch(UUID_PATTERN.strip("^$"), request_id):
        raise PageError(404, "errors.not_found")
    return request_id


@router.get("/requests/{request_id}")
def suggestions(request: Request, request_id: str, decided: str | None = None) -> Response:
    session = _signed_in(request, roles=CASEWORKER)
    t = words(language_of(request))
    notice = t("decision.recorded") if decided else None
    return _suggestions_page(request, session, _request_id(request_id), notice=notice)


def _suggestions_page(
    request: Request,
    session: Session,
    request_id: str,
    *,
    notice: str | None = None,
    errors: Mapping[str, str] | None = None,
    chosen: str = "",
    reason: str = "",
    comment: str = "",
    status_code: int = 200,
) -> Response:
    engine = request.app.state.engine
    try:
        event = find_event(engine, request_id, session.caller)
    except Problem:
        raise PageError(404, "errors.not_found") from None
    language = language_of(request)
    t = words(language)
    with read_transaction(engine) as connection:
        state = control_state(connection)
    context = {
        "title_key": "suggestions.title",
        "section": "client",
        "page": suggestions_page(event, language, request.app.state.holder.current),
        "decisions": decisions_on(engine, event),
        "reason_codes": REASON_CODES,
        "idempotency_keys": [str(uuid.uuid4()), str(uuid.uuid4())],
        "error_list": list((errors or {}).items()),
        "chosen": chosen,
        "reason": reason,
        "comment": comment,
        "notice": notice,
        "banner": t("common.paused", why=f" ({state.reason})" if state.reason else "")
        if state.paused
        else None,
    }
    return page(request, "suggestions.html", context, session=session, status_code=status_code)


@router.post("/requests/{request_id}/decision")
async def decide(request: Request, request_id: str) -> Response:
    form = await request.form()
    return await run_in_threadpool(_decide, request, _request_id(request_id), form)


def _decide(request: Request, request_id: str, posted: FormData) -> Response:
    session = _signed_in(request, roles=CASEWORKER)
    _check_form(request, posted, session)
    t = words(language_of(request))

    def text(name: str) -> str | None:
        value = posted.get(name)
        return value.strip() or None if isinstance(value, str) else None

    fields = {
        "request_id": request_id,
        "chosen_service": text("chosen_service") or "",
        "reason_code": text("reason_code"),
        "comment": text("comment"),
        "corrects": text("corrects"),
    }
    again = {
        "chosen": fields["chosen_service"] or "",
        "reason": fields["reason_code"] or "",
        "comment": fields["comment"] or "",
    }
    try:
        body = DecisionRequest.model_validate({k: v for k, v in fields.items() if v is not None})
        record_decision(
            body,
            caller=session.caller,
            idempotency_key=text("idempotency_key") or str(uuid.uuid4()),
            engine=request.app.state.engine,
        )
    except ValidationError as exc:
        errors = {e.field: f"{e.field}: {e.message}" for e in field_errors(exc.errors())}
        return _suggestions_page(
            request, session, request_id, errors=errors, status_code=422, **again
        )
    except Problem as problem:
        if problem.status == 404:
            raise PageError(404, "errors.not_found") from None
        errors = {
            e.field: t("decision.reason_required") if e.code == "reason_required" else e.message
            for e in problem.errors
        } or {"": problem.detail}
        return _suggestions_page(
            request, session, request_id, errors=errors, status_code=problem.status, **again
        )
    return RedirectResponse(f"{PREFIX}/requests/{request_id}?decided=1#decision", status_code=303)


@router.get("/requests/{request_id}/explanation")
def explanation(request: Request, request_id: str) -> Response:
    session = _signed_in(request, roles=CASEWORKER)
    engine = request.app.state.engine
    try:
        event = find_event(engine, _request_id(request_id), session.caller)
    except Problem:
        raise PageError(404, "errors.not_found") from None
    language = language_of(request)
    document = client_explanation(
        event, decisions_on(engine, event), language, request.app.state.holder.current
    )
    context = {
        "title_key": "explanation.title",
        "section": "client",
        "request_id": event.request_id,
        "text": explanation_text(document),
    }
    return page(request, "explanation.html", context, session=session)


# --------------------------------------------------------------------------- decisions


@router.get("/decisions")
def decisions(request: Request) -> Response:
    session = _signed_in(request, roles=frozenset({Role.caseworker, Role.admin}))
    language = language_of(request)
    scope = visible_unit(session.caller)
    with read_transaction(request.app.state.engine) as connection:
        rows = recent_decisions(connection, unit=scope, limit=DECISION_LIST)
    model = request.app.state.holder.current
    names = (
        {code: model.router.catalogue.get(code).name[language] for code in model.actions}
        if model is not None
        else {}
    )
    context = {
        "title_key": "decisions.title",
        "section": "decisions",
        "rows": rows,
        "names": names,
        "unit": session.caller.unit,
    }
    return page(request, "decisions.html", context, session=session)


# --------------------------------------------------------------------------- wiring


def _ended(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SessionEnded)
    where = f"{PREFIX}/sign-in" + (f"?ended={exc.why}" if exc.why else "")
    response = RedirectResponse(where, status_code=303)
    sessions.clear_session_cookie(response, request, _settings(request))
    return response


def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    t = words(language_of(request))
    try:
        session: Session | None = sessions.current_session(
            request, request.app.state.engine, _settings(request)
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


def install_console(app: FastAPI) -> None:
    """The console's routes, its static files and the pages its refusals are shown as."""
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(packages=[("api.console", "static")]), name="console-static")
    app.add_exception_handler(SessionEnded, _ended)
    app.add_exception_handler(PageError, _refused)
