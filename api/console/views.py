"""The console's pages: Client, Suggestions, Decision, the decision list, the explanation.

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
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api.capacity import availability
from api.common import UUID_PATTERN
from api.console import reports, sign_in
from api.console.client_form import (
    ClientForm,
    form_from_csv,
    option_lists,
    read_form,
    request_document,
    service_choices,
)
from api.console.explanation import client_explanation, decisions_on, explanation_text
from api.console.locale import Words, words
from api.console.pages import STATIC_PATH
from api.console.session import Session, SessionEnded
from api.console.suggestions import suggestions_page
from api.console.web import (
    CASEWORKER,
    DECISION_READERS,
    PREFIX,
    PageError,
    banner,
    check_form,
    field_messages,
    language_of,
    page,
    problem_messages,
    refused,
    session_ended,
    settings_of,
    signed_in,
)
from api.decisions.schemas import DecisionRequest
from api.decisions.service import record_decision, visible_unit
from api.problems import Problem, field_errors
from api.recommendations.schemas import RecommendationRequest
from api.recommendations.service import answer_checked, now, today
from api.recommendations.stored import find_event
from api.storage.audit import recent_audit_events
from api.storage.control import control_state
from api.storage.decisions import decisions_for_requests, recent_decisions
from api.storage.engine import read_transaction
from model.vocab import REASON_CODES

RECENT: Final = 15
DECISION_LIST: Final = 100
router = APIRouter(prefix=PREFIX, include_in_schema=False)


# --------------------------------------------------------------------------- client


@router.get("/client")
def client_page(request: Request) -> Response:
    session = signed_in(request, roles=CASEWORKER)
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
        "banner": banner(state, request, t),
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
    session = signed_in(request, roles=CASEWORKER)
    check_form(request, posted, session)
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
        messages = field_messages(field_errors(exc.errors()), words(language))
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
            settings=settings_of(request),
            engine=engine,
            request_id=request.state.request_id,
        )
    except Problem as problem:
        messages = problem_messages(problem, words(language_of(request)))
        return on_error(messages, problem.status)  # type: ignore[no-any-return]
    request.app.state.limits.audit.written()
    return RedirectResponse(f"{PREFIX}/requests/{answer['request_id']}", status_code=303)


@router.post("/client/json")
async def submit_json(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_submit_json, request, form)


def _submit_json(request: Request, posted: FormData) -> Response:
    session = signed_in(request, roles=CASEWORKER)
    check_form(request, posted, session)
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
    session = signed_in(request, roles=CASEWORKER)
    check_form(request, posted, session)
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
    session = signed_in(request, roles=CASEWORKER)
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
        "page": suggestions_page(
            event, language, request.app.state.holder.current, availability(engine, now())
        ),
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
    session = signed_in(request, roles=CASEWORKER)
    check_form(request, posted, session)
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
            max_decisions=settings_of(request).max_decisions_per_recommendation,
        )
    except ValidationError as exc:
        errors = {
            e.field: f"{t(f'decision.{e.field}')}: {t('common.required')}"
            if t.has(f"decision.{e.field}") and not fields.get(e.field)
            else f"{e.field}: {e.message}"
            for e in field_errors(exc.errors())
        }
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
    session = signed_in(request, roles=CASEWORKER)
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
    session = signed_in(request, roles=DECISION_READERS)
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


def install_console(app: FastAPI) -> None:
    """The console's routes, its static files and the pages its refusals are shown as."""
    app.include_router(sign_in.router)
    app.include_router(router)
    app.include_router(reports.router)
    app.mount(STATIC_PATH, StaticFiles(packages=[("api.console", "static")]), name="console-static")
    app.add_exception_handler(SessionEnded, session_ended)
    app.add_exception_handler(PageError, refused)
