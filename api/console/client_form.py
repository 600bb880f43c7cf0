"""The Client page's form: its fields, a request built from them, and a CSV row read into them.

Field names are the request's own paths (``client.birth_year``,
``episodes.2.end_date``, ``as_of``), so an error the API reports for a path
is shown at the field of that name. Values stay text while the form is
shown; `request_document` turns them into the request's JSON types, and
the request model (the same as the API's) judges them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from model.explain import format_value
from model.features import FeatureKind
from model.vocab import (
    CEFR_VALUES,
    CLIENT_OPTIONAL_COLUMNS,
    CLIENT_REQUIRED_COLUMNS,
    EDUCATION_LEVELS,
    EPISODE_STATUSES,
    GENDERS,
    OUTCOME_STATUSES,
    RESIDENCE_BASES,
    REVIEW,
    UNKNOWN,
)

EPISODE_ROWS: Final = 6
OUTCOME_ROWS: Final = 3
MORE_ROWS: Final = 4
MAX_ROWS: Final = 60
EPISODE_FIELDS: Final = (
    "service",
    "start_date",
    "end_date",
    "status",
    "language_level_after",
    "planned_service",
)
OUTCOME_FIELDS: Final = ("status", "start_date", "end_date")
CITIZENSHIP_REGIONS: Final = (
    "eu_efta",
    "europe_other",
    "middle_east",
    "africa",
    "asia",
    "americas",
    UNKNOWN,
)
MAX_CSV_BYTES: Final = 64 * 1024
_TRUE: Final = frozenset({"true", "1", "yes", "kyllä", "ja", "t", "y"})
_FALSE: Final = frozenset({"false", "0", "no", "ei", "nej", "f", "n"})


@dataclass
class ClientForm:
    """The form's values as text, by field name, and how many history rows it shows."""

    values: dict[str, str] = field(default_factory=dict)
    episode_rows: int = EPISODE_ROWS
    outcome_rows: int = OUTCOME_ROWS

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def _rows(form: Mapping[str, Any], key: str, default: int) -> int:
    try:
        return max(1, min(MAX_ROWS, int(str(form.get(key, default)))))
    except ValueError:
        return default


def read_form(form: Mapping[str, Any], *, more_rows: bool = False) -> ClientForm:
    """The values posted (text fields only; files and the CSRF token are left out)."""
    values = {
        name: value.strip()
        for name, value in form.items()
        if isinstance(value, str) and name not in ("csrf_token", "action")
    }
    extra = MORE_ROWS if more_rows else 0
    return ClientForm(
        values,
        _rows(form, "rows.episodes", EPISODE_ROWS) + extra,
        _rows(form, "rows.outcomes", OUTCOME_ROWS) + (extra // 2),
    )


def _number(text: str) -> int | float | str:
    """A whole number as int, a decimal as float (comma or point); other text as it is."""
    cleaned = text.replace(",", ".").replace("\u2212", "-")
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        return float(cleaned)
    except ValueError:
        return text  # the request model refuses it at this field


def _truth(text: str) -> bool | str:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return text


def request_document(
    form: ClientForm, *, extras: Mapping[str, FeatureKind], language: str
) -> dict[str, Any]:
    """The recommendation request the form describes, in the API's JSON types."""
    get = form.get
    client: dict[str, Any] = {}
    for name in CLIENT_REQUIRED_COLUMNS + CLIENT_OPTIONAL_COLUMNS:
        text = get(f"client.{name}")
        if not text:
            continue  # the request model names a required field that is missing
        if name in ("birth_year", "children_under_school_age", "prior_work_years"):
            client[name] = _number(text)
        elif name in ("literacy_needs", "health_limitation"):
            client[name] = _truth(text)
        else:
            client[name] = text
    chosen_extras: dict[str, Any] = {}
    for name, kind in extras.items():
        text = get(f"extra.{name}")
        if not text:
            continue
        if kind == "numeric":
            chosen_extras[name] = _number(text)
        elif kind == "boolean":
            chosen_extras[name] = _truth(text)
        else:
            chosen_extras[name] = text
    if chosen_extras:
        client["extras"] = chosen_extras
    episodes = _history(form, "episodes", EPISODE_FIELDS, form.episode_rows)
    outcomes = _history(form, "outcomes", OUTCOME_FIELDS, form.outcome_rows)
    document: dict[str, Any] = {
        "client": client,
        "episodes": episodes,
        "outcomes": outcomes,
        "language": language,
    }
    if get("as_of"):
        document["as_of"] = get("as_of")
    if get("k"):
        document["k"] = _number(get("k"))
    return document


def _history(
    form: ClientForm, table: str, fields: tuple[str, ...], rows: int
) -> list[dict[str, Any]]:
    """The rows that have any value; `end_date` and the optional fields left out when empty."""
    out = []
    for i in range(rows):
        row = {name: form.get(f"{table}.{i}.{name}") for name in fields}
        if not any(row.values()):
            continue
        record: dict[str, Any] = {name: value for name, value in row.items() if value}
        record.setdefault("end_date", None)
        out.append(record)
    return out


def form_from_csv(data: bytes) -> ClientForm:
    """A form filled in from a CSV file of the clients table: a header and one client row.

    Comma, semicolon or tab separated; UTF-8 with or without a byte order
    mark. Raises ValueError with a reason a person can act on.
    """
    if len(data) > MAX_CSV_BYTES:
        raise ValueError(f"the file is larger than {MAX_CSV_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise ValueError("the file needs a header row and one client row")
    if len(lines) > 2:
        raise ValueError("the file has more than one client row; upload one client at a time")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    header, row = list(csv.reader(io.StringIO("\n".join(lines)), dialect))[:2]
    if len(header) != len(row):
        raise ValueError("the client row has a different number of columns than the header")
    columns = {name.strip().lower(): value.strip() for name, value in zip(header, row, strict=True)}
    missing = [name for name in CLIENT_REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ValueError(f"missing column(s): {', '.join(missing)}")
    values: dict[str, str] = {}
    for name, value in columns.items():
        if name in CLIENT_REQUIRED_COLUMNS or name in CLIENT_OPTIONAL_COLUMNS:
            if name in ("literacy_needs", "health_limitation") and value:
                truth = _truth(value)
                value = ("true" if truth else "false") if isinstance(truth, bool) else value
            values[f"client.{name}"] = value
        elif name != "client_id":
            values[f"extra.{name}"] = value
    return ClientForm(values)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def choices(field_name: str, values: tuple[str, ...], language: str) -> list[Choice]:
    """Category values with their names in `language` (the explanations' words)."""
    return [Choice(value, format_value(field_name, value, language)) for value in values]


def option_lists(language: str) -> dict[str, list[Choice]]:
    """The form's fixed lists, named in `language`."""
    return {
        "gender": choices("gender", GENDERS, language),
        "citizenship_region": choices("citizenship_region", CITIZENSHIP_REGIONS, language),
        "residence_basis": choices("residence_basis", RESIDENCE_BASES, language),
        "education_level": choices("education_level", EDUCATION_LEVELS, language),
        "cefr": [
            Choice(v, v if v != UNKNOWN else format_value("x", None, language)) for v in CEFR_VALUES
        ],
        "episode_status": [Choice(v, v) for v in EPISODE_STATUSES],
        "outcome_status": [Choice(v, v) for v in OUTCOME_STATUSES],
    }


def service_choices(
    services: Mapping[str, str], *, with_review: bool, review_label: str
) -> list[Choice]:
    out = [Choice(code, name) for code, name in services.items()]
    if with_review:
        out.append(Choice(REVIEW, review_label))
    return out
