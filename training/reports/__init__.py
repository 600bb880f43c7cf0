"""The reports: fairness report, model card and follow-up, written as JSON and HTML.

- `training.reports.build`: the fairness report and model card of one model version and their files.
- `training.reports.followup`: the follow-up of decisions (`polku report followup`).
- `training.reports.html`: the pages' template environment (Jinja2, `templates/`).
- `training.reports.plots`: the figures on the pages.

docs/fairness.md and docs/reports.md describe the documents and where they are served.
"""

from training.reports.build import (
    FAIRNESS_HTML,
    FAIRNESS_JSON,
    MODEL_CARD_HTML,
    MODEL_CARD_JSON,
    Reports,
    build_reports,
    fairness_report_for,
    model_card_for,
    to_json,
    write_reports,
)
from training.reports.html import format_value, render_fairness_html, render_model_card_html

__all__ = [
    "FAIRNESS_HTML",
    "FAIRNESS_JSON",
    "MODEL_CARD_HTML",
    "MODEL_CARD_JSON",
    "Reports",
    "build_reports",
    "fairness_report_for",
    "format_value",
    "model_card_for",
    "render_fairness_html",
    "render_model_card_html",
    "to_json",
    "write_reports",
]
