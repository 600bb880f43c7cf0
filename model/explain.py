"""Explanations a caseworker can read: SHAP contributions in their own words.

Contributions come from exact TreeSHAP (LightGBM's `pred_contrib`, the same
values as shap's TreeExplainer). A service's explanation is contrastive: the
contributions of the service row minus those of the `no_new_service` row,
which answer "why this service rather than continuing as now". The reference
(`no_new_service`) is explained against the average client.

Contributions on the logit scale are rescaled by one factor per row so that
they are in probability points and add up exactly to the difference they
explain (the score minus the reference's score, or minus the average
client's): the signs and relative sizes are TreeSHAP's, the total is the
difference a caseworker sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from model.category_labels import VALUE_LABELS
from model.locale_numbers import LOCALES, format_number, format_points
from model.vocab import CEFR_LEVELS

# The action's own share of a contrast (the service itself, not the client).
SERVICE_FIELD = "service"
# What a service's chance was lowered (or raised) by because its takers were
# selected on what the data does not record (`Router.adjustment`).
SELECTION_FIELD = "selection_correction"
TOP_CONTRIBUTIONS = 5


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    value: Any  # as JSON holds it: None where missing (`model.json_values.json_value`)
    contribution: float  # probability points (0.04 = 4 percentage points)
    text: str
    # The value as people write it (A1, humanitaarinen, 2,5); None for the service's own share.
    value_text: str | None = None


def rescale_to_probability(
    contrib: np.ndarray, p_target: np.ndarray, p_base: np.ndarray, scale: str
) -> np.ndarray:
    """Contributions (n, c) that sum to `p_target - p_base` row by row."""
    if scale == "probability":
        total = contrib.sum(axis=1)
        gap = p_target - p_base
        factor = np.where(
            np.abs(total) > 1e-12, gap / np.where(np.abs(total) > 1e-12, total, 1.0), 0.0
        )
        return contrib * factor[:, None]
    total = contrib.sum(axis=1)
    gap = p_target - p_base
    # d p / d margin at the midpoint, for differences too small to divide by.
    slope = expit(total / 2) * (1 - expit(total / 2))
    factor = np.where(np.abs(total) > 1e-9, gap / np.where(np.abs(total) > 1e-9, total, 1.0), slope)
    return contrib * factor[:, None]


# --------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------

FIELD_LABELS: dict[str, dict[str, str]] = {
    "birth_year": {"fi": "Ikä", "sv": "Ålder", "en": "Age"},
    "age": {"fi": "Ikä", "sv": "Ålder", "en": "Age"},
    "gender": {"fi": "Sukupuoli", "sv": "Kön", "en": "Gender"},
    "mother_tongue": {"fi": "Äidinkieli", "sv": "Modersmål", "en": "Mother tongue"},
    "citizenship_region": {
        "fi": "Kansalaisuusalue",
        "sv": "Medborgarskapsregion",
        "en": "Region of citizenship",
    },
    "residence_basis": {
        "fi": "Oleskeluperuste",
        "sv": "Uppehållsgrund",
        "en": "Basis of residence",
    },
    "education_level": {"fi": "Koulutustaso", "sv": "Utbildningsnivå", "en": "Education"},
    "prior_work_years": {
        "fi": "Aiempi työkokemus (vuotta)",
        "sv": "Tidigare arbetserfarenhet (år)",
        "en": "Prior work experience (years)",
    },
    "literacy_needs": {
        "fi": "Luku- ja kirjoitustaidon tarve",
        "sv": "Behov av läs- och skrivundervisning",
        "en": "Literacy needs",
    },
    "finnish_level": {
        "fi": "Suomen kielen taso",
        "sv": "Kunskaper i finska",
        "en": "Finnish level",
    },
    "finnish_level_intake": {
        "fi": "Suomen kielen taso alussa",
        "sv": "Kunskaper i finska vid start",
        "en": "Finnish level at intake",
    },
    "health_limitation": {
        "fi": "Terveydellinen rajoite",
        "sv": "Hälsobegränsning",
        "en": "Health limitation",
    },
    "children_under_school_age": {
        "fi": "Alle kouluikäisiä lapsia",
        "sv": "Barn under skolåldern",
        "en": "Children under school age",
    },
    "years_since_arrival": {
        "fi": "Aika maahantulosta (vuotta)",
        "sv": "Tid sedan ankomsten (år)",
        "en": "Years since arrival",
    },
    "months_since_intake": {
        "fi": "Aika asiakkuuden alusta (kk)",
        "sv": "Tid sedan klientskapets början (mån)",
        "en": "Months since intake",
    },
    "n_services": {
        "fi": "Aiempien palvelujen määrä",
        "sv": "Antal tidigare tjänster",
        "en": "Services so far",
    },
    "n_interrupted": {
        "fi": "Keskeytyneet palvelut",
        "sv": "Avbrutna tjänster",
        "en": "Interrupted services",
    },
    "in_service": {"fi": "Palvelu käynnissä", "sv": "Pågående tjänst", "en": "In a service now"},
    "last_service": {"fi": "Edellinen palvelu", "sv": "Föregående tjänst", "en": "Last service"},
    "last_service_status": {
        "fi": "Edellisen palvelun tila",
        "sv": "Föregående tjänsts status",
        "en": "Status of the last service",
    },
    "days_since_last_service_end": {
        "fi": "Päiviä edellisen palvelun päättymisestä",
        "sv": "Dagar sedan föregående tjänst slutade",
        "en": "Days since the last service ended",
    },
    "n_reviews": {
        "fi": "Suunnitelman tarkistuksia",
        "sv": "Planeringsmöten",
        "en": "Plan reviews so far",
    },
    "months_unemployed": {
        "fi": "Työttömyyttä (kk)",
        "sv": "Arbetslöshet (mån)",
        "en": "Months unemployed",
    },
    SERVICE_FIELD: {"fi": "Palvelu itse", "sv": "Tjänsten själv", "en": "The service itself"},
    SELECTION_FIELD: {
        "fi": "Korjaus sille, että palveluun on valikoitunut muita valmiimpia asiakkaita,",
        "sv": "Korrigeringen för att mer redo kunder har valts till tjänsten",
        "en": "The correction for clients more ready than others being chosen for the service",
    },
}

COMPLETED_LABEL = {"fi": "Suoritettu: {}", "sv": "Genomförd: {}", "en": "Completed: {}"}

# Followed by the amount: percentage points and their unit word (`format_points`).
VERBS = {
    "fi": ("kasvattaa arviota", "pienentää arviota"),
    "sv": ("höjer bedömningen med", "sänker bedömningen med"),
    "en": ("raises the estimate by", "lowers the estimate by"),
}

YES_NO = {"fi": ("kyllä", "ei"), "sv": ("ja", "nej"), "en": ("yes", "no")}

_CEFR_FIELDS = {"finnish_level", "finnish_level_intake"}


def field_label(field: str, language: str, service_names: Mapping[str, str] | None = None) -> str:
    if field in FIELD_LABELS:
        return FIELD_LABELS[field].get(language, FIELD_LABELS[field]["en"])
    if field.startswith("completed_"):
        code = field.removeprefix("completed_")
        name = (service_names or {}).get(code, code.replace("_", " "))
        return COMPLETED_LABEL.get(language, COMPLETED_LABEL["en"]).format(name)
    return field.replace("_", " ")


_BOOLEAN_FIELDS = {"literacy_needs", "health_limitation", "in_service"}
# Lengths of time in years are written with one decimal, as people write them (2,5 vuotta).
_YEAR_FIELDS = {"years_since_arrival", "prior_work_years"}


def format_value(
    field: str, value: Any, language: str, service_names: Mapping[str, str] | None = None
) -> str:
    if value is None or (isinstance(value, float) and value != value) or value == "unknown":
        return {"fi": "ei tiedossa", "sv": "okänd", "en": "unknown"}.get(language, "unknown")
    if field in _CEFR_FIELDS and isinstance(value, int | float):
        rank = round(float(value))
        return CEFR_LEVELS[rank] if 0 <= rank < len(CEFR_LEVELS) else str(value)
    if field in _BOOLEAN_FIELDS and isinstance(value, int | float):
        value = bool(value >= 0.5)
    if isinstance(value, str):
        if field == "last_service" and service_names and value in service_names:
            return service_names[value]
        labels = VALUE_LABELS.get(field, {}).get(value)
        if labels:
            return labels.get(language, labels["en"])
        return value
    if isinstance(value, bool):
        yes, no = YES_NO.get(language, YES_NO["en"])
        return yes if value else no
    if field in _YEAR_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(float(value), language if language in LOCALES else "en", 1)
    if isinstance(value, float):
        return format_number(value, language if language in LOCALES else "en", 1, trim=True)
    return str(value)


def contribution(
    field: str,
    value: Any,
    points: float,
    language: str,
    service_names: Mapping[str, str] | None = None,
) -> Contribution:
    """A contribution with its sentence and its value in words, in `language`."""
    shown = (
        None
        if field in (SERVICE_FIELD, SELECTION_FIELD)
        else format_value(field, value, language, service_names)
    )
    return Contribution(
        field, value, points, _sentence(field, shown, points, language, service_names), shown
    )


def describe(
    field: str,
    value: Any,
    contribution: float,
    language: str,
    service_names: Mapping[str, str] | None = None,
) -> str:
    """One sentence, e.g. "Suomen kielen taso A1 pienentää arviota 4 prosenttiyksikköä"."""
    shown = (
        None
        if field in (SERVICE_FIELD, SELECTION_FIELD)
        else format_value(field, value, language, service_names)
    )
    return _sentence(field, shown, contribution, language, service_names)


def _sentence(
    field: str,
    shown: str | None,
    contribution: float,
    language: str,
    service_names: Mapping[str, str] | None,
) -> str:
    if language not in VERBS:
        language = "en"
    up, down = VERBS[language]
    size = abs(contribution)
    # One decimal under ten points, none from ten up; no ".0".
    amount = format_points(size, language, 1 if size * 100 < 9.95 else 0, trim=True, unit="long")
    verb = f"{up if contribution > 0 else down} {amount}"
    label = field_label(field, language, service_names)
    if shown is None:
        return f"{label} {verb}"
    return f"{label} {shown} {verb}"
