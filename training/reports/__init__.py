"""The fairness report and the model card: built from a router, written as JSON and HTML.

- `training.reports.build`: the two documents of one model version and their files.
- `training.reports.html`: the two pages, rendered from the Jinja2 templates in `templates/`.
- `training.reports.plots`: the figures on the pages.

docs/fairness.md describes the documents and where they are served.
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
