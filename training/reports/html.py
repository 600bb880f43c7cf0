"""The fairness report and the model card as self-contained HTML pages.

`render_fairness_html` and `render_model_card_html` turn the JSON-ready
dicts into one HTML page each, from the Jinja2 templates in `templates/`
(autoescaped: every value from the dict is escaped). The page has inline
CSS and its plots embedded as base64 PNG (one per language), no scripts and nothing fetched,
so it opens from a file, an MLflow artifact or the API alike. Finnish,
Swedish and English are all on the page, with a switch (pure CSS) choosing
the one shown; headline findings come first, in plain language; print rules
lay it out on A4 landscape with every column kept. The follow-up report
(`training.reports.followup`) uses the same environment and templates.

Every number on the page is rendered from the dict, never recomputed, and
carries its place in the JSON (`data-key`, a JSON list of keys) and its
value (`data-value`), so a test can check that the page shows exactly the
JSON's numbers. Suppressed values are shown as `model.fairness.suppression.MARK`.
How numbers are written (`format_value`, with `model.locale_numbers`) is
here too, as the templates' `number` filter.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined

from model.fairness.report import REPORT_KIND
from model.fairness.suppression import MARK
from model.fairness.text import ATTRIBUTE_LABELS
from model.locale_numbers import format_number, format_percent, format_points
from model.model_card import CARD_KIND
from model.model_card_texts import FIGURE_LABELS
from training.plot_labels import plot_texts
from training.reports.plots import (
    group_outcomes_png,
    headline_gaps_png,
    in_every_language,
    learner_values_png,
)

LANGUAGES: Final = ("fi", "sv", "en")
LANGUAGE_NAMES: Final = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}


def format_value(value: Any, kind: str, language: str) -> str:
    """A number as the page shows it; `kind` is count, days, share, pp (signed
    percentage points), points (unsigned percentage points), prob, ratio or level
    (CEFR steps, signed)."""
    if kind == "days":
        return format_number(value, language, 0, grouped=True)
    if kind == "level":
        return format_number(value, language, 1, signed=True)
    if kind == "count":
        # A whole number: rounded first, so that nothing is written as "−0".
        whole = value is not None and math.isfinite(value)
        return format_number(round(value) if whole else value, language, 0, grouped=True)
    if kind == "share":
        return format_percent(value, language, 1)
    if kind in ("pp", "points"):
        # What rounds to zero is written as zero, never "−0.0".
        if value is not None and math.isfinite(value) and abs(value) < 0.0005:
            value = 0.0
        return format_points(value, language, 1, signed=kind == "pp")
    return format_number(value, language, 2 if kind == "ratio" else 3)


# -- the templates' filters -----------------------------------------------------------


def data_key(key: Sequence[str]) -> str:
    """A number's place in the JSON, as the page's `data-key` holds it."""
    return json.dumps(list(key), ensure_ascii=False)


def data_value(value: Any, kind: str) -> str:
    """A number's exact value, as the page's `data-value` holds it."""
    if value is None:
        return "null"
    return str(int(value)) if kind == "count" else repr(float(value))


def plain_text(value: Any) -> str:
    """A value of a name-value list: nested values as JSON."""
    return (
        json.dumps(value, ensure_ascii=False) if isinstance(value, Mapping | list) else str(value)
    )


def attribute_names(attributes: Iterable[str], language: str) -> str:
    return ", ".join(ATTRIBUTE_LABELS[name][language] for name in attributes)


def count_where(items: Iterable[Mapping[str, Any]], key: str, value: Any) -> int:
    return sum(1 for item in items if item.get(key) == value)


def columns_present(
    columns: Sequence[tuple[str, ...]], groups: Iterable[Mapping[str, Any]]
) -> list[tuple[str, ...]]:
    """The group table's columns that some group has (the gain interval when gain_low is there)."""
    present = {key for group in groups for key in group}
    if "gain_low" in present:
        present.add("gain_interval")
    return [column for column in columns if column[0] in present]


def columns_used(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """A distribution's columns with a count somewhere (a hidden count counts)."""
    return [
        column
        for column in columns
        if any(
            (row["counts"].get(column) or 0) > 0 or row["counts"].get(column) is None
            for row in rows
        )
    ]


def given_for(figures: Iterable[str], compared: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The figures that at least one of the compared learners has."""
    return [
        key for key in figures if any(values.get(key) is not None for values in compared.values())
    ]


@cache
def environment() -> Environment:
    """The templates' environment: autoescaped, failing on a missing value."""
    env = Environment(
        loader=PackageLoader("training.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        number=format_value,
        data_key=data_key,
        data_value=data_value,
        plain_text=plain_text,
        attribute_names=attribute_names,
        count_where=count_where,
        columns_present=columns_present,
        columns_used=columns_used,
        given_for=given_for,
    )
    env.globals.update(
        LANGUAGES=LANGUAGES,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        MARK=MARK,
        ATTRIBUTE_LABELS=ATTRIBUTE_LABELS,
        FIGURE_LABELS=FIGURE_LABELS,
        plot_texts=plot_texts,
    )
    return env


def check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")


def render_fairness_html(report: Mapping[str, Any], language: str = "fi") -> str:
    """The fairness report as one self-contained HTML page (Finnish, Swedish and English).

    `report` is the dict of `model.fairness.report.fairness_report` (or its JSON read
    back); the model card's fairness summary is not a report and is refused.
    `language` is the one shown first.
    """
    if report.get("kind") != REPORT_KIND:
        raise ValueError(
            "not a fairness report: expected the dict of model.fairness.fairness_report"
        )
    check_language(language)
    plots = {
        "headline": in_every_language(headline_gaps_png, report),
        "groups": [
            in_every_language(group_outcomes_png, section)
            for section in report.get("attributes", [])
        ],
    }
    template = environment().get_template("fairness.html.j2")
    return template.render(report=report, language=language, plots=plots)


def render_model_card_html(card: Mapping[str, Any], language: str = "fi") -> str:
    """The model card as one self-contained HTML page (Finnish, Swedish and English)."""
    if card.get("kind") != CARD_KIND:
        raise ValueError("not a model card: expected the dict of model.model_card.build_model_card")
    check_language(language)
    plots = {"learners": in_every_language(learner_values_png, card)}
    template = environment().get_template("model_card.html.j2")
    return template.render(card=card, language=language, plots=plots)
