"""Failures of the rules about one column, as problems with messages a person can act on.

Two sources: values that could not be converted to their column's kind (a
date that is not a date, a number that is not a number), found while
reading (`training.tables.convert_tables`), and the failure cases of the
pandera schemas (`training.contract.schemas`).

Messages never carry personal data: a client id is never echoed, nor any
value that looks like a personal identity code; a value that breaks a
category or type rule is quoted so that it can be found and fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from model.catalogue import Catalogue
from model.vocab import (
    CEFR_VALUES,
    CLIENT_REQUIRED_COLUMNS,
    EDUCATION_LEVELS,
    EPISODE_STATUSES,
    GENDERS,
    OUTCOME_STATUSES,
    RESIDENCE_BASES,
    REVIEW,
)
from training.contract.problems import Findings
from training.contract.schemas import RANGE_TEXT
from training.tables import Tables, shown

MISSING_VALUE: Final = "a value is required here"
IDENTITY_CODE_IN_DATA: Final = (
    "looks like a personal identity code, which must not be in the input data; remove it"
)
PSEUDONYMISE_HINT: Final = (
    "looks like a personal identity code; ids must be pseudonymous (see `polku pseudonymize`)"
)

# The allowed values a `not_in_categories` message lists, by column.
_ALLOWED: Final[Mapping[str, Sequence[str]]] = {
    "gender": GENDERS,
    "residence_basis": RESIDENCE_BASES,
    "education_level": EDUCATION_LEVELS,
    "finnish_level": CEFR_VALUES,
    "language_level_after": CEFR_VALUES,
}


def record_bad_cells(tables: Tables, findings: Findings) -> dict[tuple[str, str], np.ndarray]:
    """Record the cells that could not be converted; their masks by (table, column).

    A cell that could not be converted is missing in the converted table; the
    masks keep the schema from reporting it a second time as a missing value.
    """
    masks: dict[tuple[str, str], np.ndarray] = {}
    for bad in tables.bad_cells:
        findings.add(bad.table, bad.column, bad.rule, bad.positions, bad.message)
        mask = masks.setdefault(
            (bad.table, bad.column), np.zeros(len(tables[bad.table]), dtype=bool)
        )
        mask[bad.positions] = True
    return masks


def run_schema(
    table: str,
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    findings: Findings,
    bad_masks: Mapping[tuple[str, str], np.ndarray],
    *,
    catalogue: Catalogue,
) -> None:
    """Validate `frame` against `schema` and record every failure case as a problem."""
    try:
        schema.validate(frame, lazy=True, inplace=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return
    if table == "clients" and "client_id" in frame.columns:
        first_rows = _first_rows(frame["client_id"])
    else:
        first_rows = {}
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        column_name = None if pd.isna(column) else str(column)
        check = str(check)
        if check in ("column_in_dataframe", "column_in_schema"):
            for value in group["failure_case"]:
                _column_problem(table, str(value), check, findings, schema)
            continue
        if check.startswith("dtype("):
            expected = check.removeprefix("dtype(").removesuffix(")")
            actual = str(group["failure_case"].iloc[0])
            findings.add(
                table,
                column_name,
                "wrong_type",
                None,
                f"the column has type {actual}, expected {expected}",
            )
            continue
        if group["index"].isna().any():
            # A check that could not run at all (a bug in the schema, not in the data).
            findings.add(
                table, column_name, check, None, f"the check {check} could not run on this column"
            )
            continue
        positions = group["index"].to_numpy(dtype=np.int64)
        values = group["failure_case"].to_numpy()
        if check == "not_nullable":
            mask = bad_masks.get((table, column_name or ""))
            if mask is not None:
                keep = ~mask[positions]
                positions, values = positions[keep], values[keep]
            findings.add(table, column_name, "missing_value", positions, MISSING_VALUE)
        elif check == "field_uniqueness":

            def duplicate(k: int, rows: np.ndarray = positions) -> str:
                first = first_rows.get(int(rows[k]))
                where = f" as row {first + 1}" if first is not None else " as an earlier row"
                return f"the same client_id{where}; each client has exactly one row"

            findings.add(table, column_name, "duplicate_id", positions, duplicate)
        elif check == "personal_identity_code":
            hint = PSEUDONYMISE_HINT if column_name == "client_id" else IDENTITY_CODE_IN_DATA
            findings.add(table, column_name, check, positions, hint)
        else:
            findings.add(
                table,
                column_name,
                check,
                positions,
                _value_message(table, column_name, check, values, catalogue),
            )


def _first_rows(ids: pd.Series) -> dict[int, int]:
    """For each repeated id's later row, the position of its first row."""
    repeated = ids.duplicated(keep="first") & ids.notna()
    if not repeated.any():
        return {}
    first = pd.Series(np.arange(len(ids)), index=ids.index).groupby(ids.to_numpy()).transform("min")
    later = np.flatnonzero(repeated.to_numpy())
    return dict(zip(later.tolist(), first.to_numpy()[later].tolist(), strict=True))


def _column_problem(
    table: str, column: str, check: str, findings: Findings, schema: pa.DataFrameSchema
) -> None:
    """A column the file lacks, or one the contract does not have."""
    if check == "column_in_dataframe":
        if table == "clients" and column not in CLIENT_REQUIRED_COLUMNS:
            message = (
                f"column '{column}' is declared under extra_features in the run configuration "
                "but the file does not have it"
            )
        else:
            message = f"required column '{column}' is missing"
        findings.add(table, column, "missing_column", None, message)
        return
    if table == "clients":
        message = (
            f"column '{column}' is not in the data contract; to use it as a feature, declare it "
            f'under [extra_features] in the run configuration (e.g. {column} = "categorical", '
            '"numeric" or "boolean"), otherwise remove it'
        )
    else:
        message = f"column '{column}' is not in the data contract; {table} has only " + ", ".join(
            schema.columns
        )
    findings.add(table, column, "undeclared_column", None, message)


def _value_message(
    table: str,
    column: str | None,
    rule: str,
    values: np.ndarray,
    catalogue: Catalogue,
) -> Callable[[int], str]:
    """The message of the k-th failing value of a value rule."""
    if rule == "not_in_categories":
        allowed = _ALLOWED.get(column or "")
        if column == "mother_tongue":
            expected = "a lower-case ISO 639-1 language code (ar, ru, so, ...) or 'unknown'"
        elif table == "episodes" and column == "status":
            expected = "one of " + ", ".join(EPISODE_STATUSES)
        elif table == "outcomes" and column == "status":
            expected = "one of " + ", ".join(OUTCOME_STATUSES)
        elif allowed is not None:
            expected = "one of " + ", ".join(allowed)
        else:
            expected = "an allowed value"
        return lambda k: f"{shown(values[k])} is not {expected}"
    if rule == "unknown_service":
        if column == "planned_service":
            expected = f"an action of the service catalogue ({catalogue.source}) or empty"
        else:
            expected = f"a service code of the catalogue ({catalogue.source}) or '{REVIEW}'"
        return lambda k: f"{shown(values[k])} is not {expected}"
    if rule == "out_of_range":
        text = RANGE_TEXT.get(column or "", "the value is out of range")
        return lambda _k: text
    return lambda _k: f"breaks the rule {rule}"
