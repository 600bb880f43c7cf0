"""The client groups of "what works for whom", and their names in three languages.

A group field is a column of the decision points (a categorical or yes/no
client field: `residence_basis`, `education_level`, `gender`, a declared
extra, ...) or one of the bands of `BANDS` made from a numeric one. A
decision point belongs to the group of its own date: the Finnish level band
is the level reached by then. Missing values are the group ``unknown``.
Categories of fewer than k clients are pooled into ``other``
(`model.services.cells.pooled_categories`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from model.category_labels import group_words
from model.services.cells import OTHER, pooled_categories
from model.vocab import UNKNOWN

DEFAULT_GROUP_FIELDS: Final = (
    "residence_basis",
    "education_level",
    "finnish_level_band",
    "years_since_arrival_band",
)

# Band name: (numeric column, upper edges (exclusive), group names).
BANDS: Final[Mapping[str, tuple[str, tuple[float, ...], tuple[str, ...]]]] = {
    "finnish_level_band": ("finnish_level", (2.0, 3.0), ("A0-A1", "A2", "B1+")),
    "years_since_arrival_band": (
        "years_since_arrival",
        (1.0, 3.0, 5.0),
        ("<1", "1-3", "3-5", "5+"),
    ),
    "age_band": ("age", (25.0, 35.0, 50.0), ("<25", "25-34", "35-49", "50+")),
}

FIELD_LABELS: Final[dict[str, dict[str, str]]] = {
    "residence_basis": {
        "fi": "Oleskeluperuste",
        "sv": "Grund för uppehåll",
        "en": "Basis of residence",
    },
    "education_level": {"fi": "Koulutustaso", "sv": "Utbildningsnivå", "en": "Education"},
    "finnish_level_band": {
        "fi": "Suomen kielen taso",
        "sv": "Nivå i finska",
        "en": "Finnish level",
    },
    "years_since_arrival_band": {
        "fi": "Vuosia maahantulosta",
        "sv": "År sedan ankomsten",
        "en": "Years since arrival",
    },
    "age_band": {"fi": "Ikäryhmä", "sv": "Åldersgrupp", "en": "Age band"},
    "gender": {"fi": "Sukupuoli", "sv": "Kön", "en": "Gender"},
    "mother_tongue": {"fi": "Äidinkieli", "sv": "Modersmål", "en": "Mother tongue"},
    "citizenship_region": {
        "fi": "Kansalaisuuden alue",
        "sv": "Medborgarskapets region",
        "en": "Region of citizenship",
    },
    "health_limitation": {
        "fi": "Terveydellinen rajoite",
        "sv": "Hälsobegränsning",
        "en": "Health limitation",
    },
    "literacy_needs": {
        "fi": "Lukutaidon tarve",
        "sv": "Behov av läsfärdighet",
        "en": "Literacy needs",
    },
}

GROUP_LABELS: Final[dict[str, dict[str, str]]] = {
    **group_words(),
    OTHER: {"fi": "muu", "sv": "annan", "en": "other"},
    "A0-A1": {"fi": "A0–A1", "sv": "A0–A1", "en": "A0–A1"},
    "B1+": {"fi": "B1 tai parempi", "sv": "B1 eller bättre", "en": "B1 or better"},
    "<1": {"fi": "alle 1", "sv": "under 1", "en": "under 1"},
    "1-3": {"fi": "1–3", "sv": "1–3", "en": "1–3"},
    "3-5": {"fi": "3–5", "sv": "3–5", "en": "3–5"},
    "5+": {"fi": "5 tai enemmän", "sv": "5 eller fler", "en": "5 or more"},
    "<25": {"fi": "alle 25", "sv": "under 25", "en": "under 25"},
    "25-34": {"fi": "25–34", "sv": "25–34", "en": "25–34"},
    "35-49": {"fi": "35–49", "sv": "35–49", "en": "35–49"},
    "50+": {"fi": "50 tai yli", "sv": "50 eller äldre", "en": "50 or older"},
}


class GroupFieldError(ValueError):
    """A group field that the decision points cannot group by."""


def field_label(name: str) -> dict[str, str]:
    return FIELD_LABELS.get(name, {"fi": name, "sv": name, "en": name})


def group_label(group: str) -> dict[str, str]:
    return GROUP_LABELS.get(group, {"fi": group, "sv": group, "en": group})


def check_group_fields(fields: Sequence[str], frame: pd.DataFrame) -> tuple[str, ...]:
    """`fields` if each is a band or a categorical or yes/no column of `frame`, else an error
    that names the field and what can be used instead."""
    usable = sorted(
        {*BANDS}
        | {
            str(c)
            for c in frame.columns
            if frame[c].dtype == object
            or isinstance(frame[c].dtype, pd.StringDtype | pd.BooleanDtype | pd.CategoricalDtype)
            or frame[c].dtype == bool
        }
        - {
            "dp_id",
            "client_id",
            "kind",
            "action",
            "action_source",
            "last_service",
            "last_service_status",
        }
    )
    for name in fields:
        if name not in usable:
            raise GroupFieldError(
                f"cannot group clients by {name!r}: use one of {', '.join(usable)}"
            )
    if len(set(fields)) != len(fields):
        raise GroupFieldError("a group field is named twice")
    return tuple(fields)


def group_values(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Each decision point's group of field `name`, as text (``unknown`` when missing)."""
    if name in BANDS:
        column, edges, names = BANDS[name]
        values = frame[column].to_numpy(dtype=float)
        index = np.searchsorted(np.asarray(edges), values, side="right")
        labels = np.asarray(names, dtype=object)[np.minimum(index, len(names) - 1)]
        return np.where(np.isnan(values), UNKNOWN, labels).astype(object)
    series = frame[name]
    if series.dtype == bool or isinstance(series.dtype, pd.BooleanDtype):
        text = series.astype("boolean").map({True: "yes", False: "no"})
        return text.astype(object).where(text.notna(), UNKNOWN).to_numpy(dtype=object)
    text = series.astype(object)
    return (
        text.where(text.notna() & (text.astype(str) != ""), UNKNOWN)
        .astype(str)
        .to_numpy(dtype=object)
    )


def published_groups(values: np.ndarray, clients: np.ndarray, k: int) -> np.ndarray:
    """The groups as published: categories of fewer than k clients pooled into ``other``."""
    frame = pd.DataFrame({"group": values, "client": clients}).drop_duplicates()
    counts = frame.groupby("group").size().to_dict()
    mapping = pooled_categories({str(g): int(c) for g, c in counts.items()}, k)
    return np.asarray([mapping[str(v)] for v in values], dtype=object)
