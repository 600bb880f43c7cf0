"""The service report as one self-contained HTML page, in the report family's templates.

`render_services_html` renders `templates/services.html.j2` (inline CSS, no
scripts, nothing fetched): Finnish, Swedish and English with the pure-CSS
switch, the key findings first, every number carrying its place in the JSON
(`data-key`) as the other reports' numbers do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from model.services.report import SERVICE_REPORT_KIND
from training.reports.html import LANGUAGES, environment


def render_services_html(report: Mapping[str, Any], language: str = "fi") -> str:
    """The service report (the dict of `model.services.report.service_report`) as HTML;
    `language` is the one shown first."""
    if report.get("kind") != SERVICE_REPORT_KIND:
        raise ValueError(
            "not a service report: expected the dict of model.services.report.service_report"
        )
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    return environment().get_template("services.html.j2").render(report=report, language=language)
