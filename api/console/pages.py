"""Rendering the console's pages: one Jinja2 environment, number and date formats, headers.

Every page is sent with a Content-Security-Policy that allows scripts,
styles and images from this server only and no inline script or style, is
never cached (pages hold client data) and may not be framed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from api.console.locale import language_names, words
from model.locale_numbers import format_percent, format_points

HELSINKI: Final = ZoneInfo("Europe/Helsinki")
STATIC_PATH: Final = "/console/static"

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def percent(value: float, language: str) -> str:
    """A probability as whole percent, as the language writes it (28 % / 28%)."""
    return format_percent(value, language, 0)


def points(value: float, language: str) -> str:
    """A difference of probabilities in whole percentage points, with its sign (+4, −2, ±0)."""
    if round(value * 100) == 0:
        return "±0"
    return format_points(value, language, 0, signed=True)


def day(value: date | str, language: str) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return value.isoformat() if language == "en" else f"{value.day}.{value.month}.{value.year}"


def moment(value: datetime, language: str) -> str:
    local = value.astimezone(HELSINKI)
    if language == "en":
        return local.strftime("%Y-%m-%d %H:%M")
    at = {"fi": "klo", "sv": "kl."}[language]
    return f"{day(local.date(), language)} {at} {local.hour}.{local.minute:02d}"


environment = Environment(
    loader=PackageLoader("api.console", "templates"),
    autoescape=select_autoescape(("html",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals.update(
    percent=percent, points=points, day=day, moment=moment, static=STATIC_PATH
)


def render(
    template: str,
    language: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page in `language` with the console's headers."""
    html = environment.get_template(template).render(
        lang=language, t=words(language), languages=language_names(), **context
    )
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})
