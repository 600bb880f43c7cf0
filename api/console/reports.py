"""The console's Reports page: the served model's knowledge reports, and each one opened.

Only the roles the API lets read the reports see the page and its menu
entry (`api.reports.logged.REPORT_READERS`). The list says which reports
the served version's run has; a report opens as the self-contained page
training logged, the one `GET /v1/reports/...` serves to a browser, read
through the same cache (`api.reports.logged`), showing the console's
language first. A report page embeds its styles and plots and has no
script: it is sent with a policy that allows its own style blocks (by
hash) and images inside the page, and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import State

from api.console.pages import PAGE_HEADERS, moment
from api.console.web import PREFIX, PageError, language_of, page, remember_language, signed_in
from api.reports.logged import (
    REPORT_READERS,
    RUN_REPORTS,
    RunReport,
    fairness_page,
    run_report,
    run_report_page,
)
from api.serving import LoadedModel

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@dataclass(frozen=True)
class ReportKind:
    """A report of the served version's run: its JSON (None until logged) and its page."""

    name: str
    command: str
    report: Callable[[State, LoadedModel], Mapping[str, Any] | None]
    page: Callable[[State, LoadedModel], str | None]


def _logged_later(kind: RunReport) -> ReportKind:
    return ReportKind(
        kind.name,
        kind.command,
        lambda state, model: run_report(state, model, kind),
        lambda state, model: run_report_page(state, model, kind),
    )


REPORTS: Final = (
    ReportKind(
        "fairness",
        "polku report fairness --log",
        lambda _state, model: model.fairness or None,
        fairness_page,
    ),
    *(_logged_later(kind) for kind in RUN_REPORTS),
)

# The language switch of training's report pages (training/reports/templates/
# base.html.j2): one radio button per language, the checked one shown.
_LANGUAGE_CHOICE: Final = re.compile(
    r'<input class="lang-input" type="radio" name="lang" id="lang-([a-z]{2})"(?: checked)?>'
)
_PAGE_LANGUAGE: Final = re.compile(r'<html lang="[a-z]{2}">')
_STYLE_BLOCK: Final = re.compile(r"<style>(.*?)</style>", re.DOTALL)


@router.get("/reports")
def reports(request: Request) -> Response:
    session = signed_in(request, roles=REPORT_READERS, refusal="errors.reports_forbidden")
    language = language_of(request)
    model = request.app.state.holder.current
    rows = []
    if model is not None:
        for kind in REPORTS:
            report = kind.report(request.app.state, model)
            rows.append(
                {
                    "name": kind.name,
                    "command": kind.command,
                    "available": report is not None,
                    "generated": _generated(report, language),
                }
            )
    context = {
        "title_key": "reports.title",
        "section": "reports",
        "model": model,
        "reports": rows,
    }
    return page(request, "reports.html", context, session=session)


@router.get("/reports/{name}")
def report(request: Request, name: str) -> Response:
    signed_in(request, roles=REPORT_READERS, refusal="errors.reports_forbidden")
    kind = next((k for k in REPORTS if k.name == name), None)
    if kind is None:
        raise PageError(404, "errors.no_such_report")
    model = request.app.state.holder.current
    if model is None:
        raise PageError(503, "common.model_unavailable")
    text = kind.page(request.app.state, model)
    if text is None:
        raise PageError(404, "errors.report_missing", command=kind.command)
    shown = in_language(text, language_of(request))
    headers = {**PAGE_HEADERS, "Content-Security-Policy": report_policy(shown)}
    response = HTMLResponse(shown, headers=headers)
    remember_language(request, response)
    return response


def in_language(text: str, language: str) -> str:
    """The report page with `language` chosen in its own switch (unchanged if it has none)."""
    if language not in {found.group(1) for found in _LANGUAGE_CHOICE.finditer(text)}:
        return text

    def choice(found: re.Match[str]) -> str:
        code = found.group(1)
        checked = " checked" if code == language else ""
        return f'<input class="lang-input" type="radio" name="lang" id="lang-{code}"{checked}>'

    text = _LANGUAGE_CHOICE.sub(choice, text)
    return _PAGE_LANGUAGE.sub(f'<html lang="{language}">', text, count=1)


def report_policy(text: str) -> str:
    """The page's Content-Security-Policy: its own style blocks and embedded images only."""
    hashes = [
        "'sha256-"
        + base64.b64encode(hashlib.sha256(block.group(1).encode("utf-8")).digest()).decode()
        + "'"
        for block in _STYLE_BLOCK.finditer(text)
    ]
    styles = " ".join(hashes) or "'none'"
    return (
        f"default-src 'none'; style-src {styles}; img-src data:; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )


def _generated(report: Mapping[str, Any] | None, language: str) -> str:
    """When the report was made, as the console writes a moment (as written when unreadable)."""
    text = str((report or {}).get("generated_at") or "")
    try:
        when = datetime.fromisoformat(text.replace(" UTC", "+00:00"))
    except ValueError:
        return text
    return moment(when, language) if when.tzinfo is not None else text
