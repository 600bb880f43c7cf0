"""The rules about one column at a time, as pandera schemas.

Presence, types, missing values, categories, ranges, unique ids, identity
codes and undeclared columns: `clients_schema`, `episodes_schema`,
`outcomes_schema`. docs/data.md (sections 2 to 5) lists the same rules for
the people who export the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import pandas as pd
import pandera.pandas as pa

from model.catalogue import Catalogue
from model.config import RunConfig
from model.privacy import personal_identity_code_mask
from model.vocab import (
    CEFR_VALUES,
    CLIENT_OPTIONAL_COLUMNS,
    CLIENT_REQUIRED_COLUMNS,
    EDUCATION_LEVELS,
    EPISODE_OPTIONAL_COLUMNS,
    EPISODE_REQUIRED_COLUMNS,
    EPISODE_STATUSES,
    GENDERS,
    OUTCOME_OPTIONAL_COLUMNS,
    OUTCOME_REQUIRED_COLUMNS,
    OUTCOME_STATUSES,
    RESIDENCE_BASES,
    REVIEW,
    UNKNOWN,
)
from training.tables import DTYPES, column_kinds

MIN_BIRTH_YEAR: Final = 1900
MIN_AGE_AT_INTAKE: Final = 15
MOTHER_TONGUE_PATTERN: Final = r"[a-z]{2,3}"

# What the `out_of_range` rule says, by column.
RANGE_TEXT: Final[Mapping[str, str]] = {
    "birth_year": (
        f"birth_year must be between {MIN_BIRTH_YEAR} and the intake year minus {MIN_AGE_AT_INTAKE}"
    ),
    "prior_work_years": "prior_work_years must be 0 or more (or empty when not known)",
    "children_under_school_age": "children_under_school_age must be 0 or more (or empty)",
}


def _in(values: Sequence[str], rule: str) -> pa.Check:
    allowed = frozenset(values)
    return pa.Check(lambda values: values.isin(allowed), name=rule, ignore_na=True)


def _no_identity_codes() -> pa.Check:
    return pa.Check(
        lambda values: pd.Series(~personal_identity_code_mask(values), index=values.index),
        name="personal_identity_code",
        ignore_na=True,
    )


def _at_least(bound: float) -> pa.Check:
    return pa.Check(lambda values: values >= bound, name="out_of_range", ignore_na=True)


def _category(values: Sequence[str], *, nullable: bool = False, required: bool = True) -> pa.Column:
    return pa.Column(
        DTYPES["category"],
        nullable=nullable,
        required=required,
        checks=_in(values, "not_in_categories"),
    )


def _client_id(*, unique: bool = False) -> pa.Column:
    return pa.Column(
        DTYPES["id"],
        nullable=False,
        unique=unique,
        report_duplicates="exclude_first",
        checks=_no_identity_codes(),
    )


def _date(*, nullable: bool = False) -> pa.Column:
    return pa.Column(DTYPES["date"], nullable=nullable)


def clients_schema(config: RunConfig | None = None) -> pa.DataFrameSchema:
    """Column rules of `clients`; extras declared in `config` are accepted and typed."""
    config = config or RunConfig()
    columns: dict[str, pa.Column] = {
        "client_id": _client_id(unique=True),
        "intake_date": _date(),
        "arrival_date": _date(),
        "birth_year": pa.Column(DTYPES["int"], nullable=False, checks=_at_least(MIN_BIRTH_YEAR)),
        "gender": _category(GENDERS),
        "mother_tongue": pa.Column(
            DTYPES["category"],
            nullable=False,
            checks=pa.Check(
                lambda values: (
                    values.str.fullmatch(MOTHER_TONGUE_PATTERN).fillna(False).astype(bool)
                    | (values == UNKNOWN)
                ),
                name="not_in_categories",
                ignore_na=True,
            ),
        ),
        "citizenship_region": pa.Column(
            DTYPES["category"], nullable=False, checks=_no_identity_codes()
        ),
        "residence_basis": _category(RESIDENCE_BASES),
        "education_level": _category(EDUCATION_LEVELS),
        "prior_work_years": pa.Column(DTYPES["float"], nullable=True, checks=_at_least(0)),
        "literacy_needs": pa.Column(DTYPES["bool"], nullable=False),
        "finnish_level": _category(CEFR_VALUES),
        "health_limitation": pa.Column(DTYPES["bool"], nullable=True, required=False),
        "children_under_school_age": pa.Column(
            DTYPES["int"], nullable=True, required=False, checks=_at_least(0)
        ),
    }
    assert set(columns) == set(CLIENT_REQUIRED_COLUMNS) | set(CLIENT_OPTIONAL_COLUMNS)
    kinds = column_kinds("clients", config)
    for name in config.extra_features:
        checks = [_no_identity_codes()] if kinds[name] == "category" else []
        columns[name] = pa.Column(DTYPES[kinds[name]], nullable=True, checks=checks)
    return pa.DataFrameSchema(columns, strict=True, name="clients")


def episodes_schema(catalogue: Catalogue) -> pa.DataFrameSchema:
    """Column rules of `episodes` for the services of `catalogue`."""
    columns = {
        "client_id": _client_id(),
        "service": pa.Column(
            DTYPES["category"],
            nullable=False,
            checks=_in((*catalogue.service_codes, REVIEW), "unknown_service"),
        ),
        "start_date": _date(),
        "end_date": _date(nullable=True),
        "status": _category(EPISODE_STATUSES),
        "language_level_after": _category(CEFR_VALUES, nullable=True, required=False),
        "planned_service": pa.Column(
            DTYPES["category"],
            nullable=True,
            required=False,
            checks=_in(catalogue.actions, "unknown_service"),
        ),
    }
    assert set(columns) == set(EPISODE_REQUIRED_COLUMNS) | set(EPISODE_OPTIONAL_COLUMNS)
    return pa.DataFrameSchema(columns, strict=True, name="episodes")


def outcomes_schema() -> pa.DataFrameSchema:
    """Column rules of `outcomes`."""
    columns = {
        "client_id": _client_id(),
        "status": _category(OUTCOME_STATUSES),
        "start_date": _date(),
        "end_date": _date(nullable=True),
        "matches_education": pa.Column(DTYPES["bool"], nullable=True, required=False),
    }
    assert set(columns) == set(OUTCOME_REQUIRED_COLUMNS) | set(OUTCOME_OPTIONAL_COLUMNS)
    return pa.DataFrameSchema(columns, strict=True, name="outcomes")
