"""Reading caseworkers' decisions and the audit events they answer, for reports.

Read only: the schema is not migrated and nothing is written. Comments are
not read (reports never show free text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import String, inspect, make_url, select, type_coerce
from sqlalchemy.exc import ArgumentError, OperationalError

from api.storage.engine import make_engine
from api.storage.tables import audit_events, decisions
from model.errors import PolkuError


class DecisionLogError(PolkuError, ValueError):
    """The decisions database cannot be read; the message says why (never its URL)."""


def _driver_error(exc: OperationalError) -> str:
    """The database driver's error class: says what failed without the URL or its password."""
    return type(getattr(exc, "orig", None) or exc).__name__


def _refuse_missing_sqlite_file(url: str) -> None:
    """Refuse a SQLite URL whose file does not exist.

    SQLite creates a missing file on connect, which would leave an empty
    database behind and read no decisions; a mistyped path must say so instead.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # make_engine names the problem
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or database in (None, "", ":memory:"):
        return
    if database.startswith("file:"):
        return  # a SQLite URI names its own mode
    if not Path(database).is_file():
        raise DecisionLogError(
            f"--decisions-db: there is no SQLite file {database} (the demo's API writes "
            "data/polku.db: sqlite:///data/polku.db)"
        )


def _frame(result: Any, columns: list[str]) -> pd.DataFrame:
    """A query's rows as a frame of plain Python values (no per-row attribute lookups,
    no conversion of long JSON texts to Arrow strings)."""
    return pd.DataFrame([tuple(row) for row in result], columns=columns, dtype=object)


def read_decision_log(
    url: str, *, model_name: str, with_outputs: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Caseworkers' decisions and the audit events they answer, read from the API's database.

    For `polku report fairness --decisions-db URL`. Read only: the schema is
    not migrated and nothing is written. Comments are not read (reports
    never show free text). Returns (decisions, audit) as frames for
    `model.fairness.decisions.decisions_from_store`. `with_outputs` also
    reads the audit's `output` (the suggestions and their p_outcome) and the
    decisions' `unit`, for `polku report followup`.
    """
    _refuse_missing_sqlite_file(url)
    try:
        db = make_engine(url, pool_size=1)
    except (ValueError, ArgumentError) as exc:
        raise DecisionLogError(
            f"--decisions-db: not a database URL Polku can read ({exc})"
        ) from None
    try:
        with db.connect() as connection:
            present = set(inspect(connection).get_table_names())
            missing = [t.name for t in (audit_events, decisions) if t.name not in present]
            if missing:
                raise DecisionLogError(
                    "--decisions-db: the database has no Polku "
                    f"{' or '.join(missing)} table (is it the API's database?)"
                )
            audit_columns: list[Any] = [
                audit_events.c.request_id,
                audit_events.c.client_id,
                audit_events.c.model_version,
                audit_events.c.as_of,
                audit_events.c.features,
            ]
            if with_outputs:
                # As JSON text: the follow-up parses only what it needs, much faster
                # than the driver's conversion of every document to Python objects.
                audit_columns[-1] = type_coerce(audit_events.c.features, String).label("features")
                audit_columns.append(type_coerce(audit_events.c.output, String).label("output"))
            audit = _frame(
                connection.execute(
                    select(*audit_columns).where(audit_events.c.model_name == model_name)
                ),
                [c.key for c in audit_columns],
            )
            decision_columns = [
                decisions.c.decision_id,
                decisions.c.request_id,
                decisions.c.created_at,
                decisions.c.chosen_service,
                decisions.c.recommended_service,
                decisions.c.reason_code,
                decisions.c.corrects,
            ]
            if with_outputs:
                decision_columns.append(decisions.c.unit)
            rows = _frame(
                connection.execute(select(*decision_columns)), [c.name for c in decision_columns]
            )
    except OperationalError as exc:
        reason = _driver_error(exc)
        raise DecisionLogError(f"--decisions-db: the database does not answer ({reason})") from None
    finally:
        db.dispose()
    rows = rows[rows["request_id"].isin(set(audit["request_id"]))]
    return rows.reset_index(drop=True), audit
