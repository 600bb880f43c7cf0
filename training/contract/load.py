"""Checking the tables against the contract, and loading only tables that pass.

`check_tables` converts the tables and runs every rule: the conversion
failures and the schemas (`column_problems`), then the rules across columns
and tables (`cross_checks`). Nothing is trained on tables that fail:
`load_valid_tables` and `require_valid_tables` raise `DataContractError`
listing the problems.
"""

from __future__ import annotations

from pathlib import Path

from model.catalogue import Catalogue
from model.config import RunConfig
from model.errors import DataContractError
from training.contract.column_problems import record_bad_cells, run_schema
from training.contract.cross_checks import check_across_tables, check_rows
from training.contract.problems import PROBLEM_LIMIT, Findings, Problem, Report
from training.contract.schemas import clients_schema, episodes_schema, outcomes_schema
from training.tables import Tables, convert_tables, read_tables


def check_tables(
    tables: Tables,
    *,
    catalogue: Catalogue,
    config: RunConfig | None = None,
    limit: int = PROBLEM_LIMIT,
) -> Report:
    """Convert the tables and check every rule of the contract; collect all failures."""
    config = config or RunConfig()
    converted = convert_tables(tables, config=config)
    findings = Findings()
    bad_masks = record_bad_cells(converted, findings)
    schemas = {
        "clients": clients_schema(config),
        "episodes": episodes_schema(catalogue),
        "outcomes": outcomes_schema(),
    }
    for name, frame in converted.items():
        run_schema(name, frame, schemas[name], findings, bad_masks, catalogue=catalogue)
    check_rows(converted, findings)
    check_across_tables(converted, findings)
    return findings.report(converted, limit)


def validate_tables(
    tables: Tables, *, catalogue: Catalogue, config: RunConfig | None = None
) -> list[Problem]:
    """Every problem of `tables` (the first `PROBLEM_LIMIT`); empty when they are valid."""
    return list(check_tables(tables, catalogue=catalogue, config=config).problems)


def require_valid_tables(
    tables: Tables, *, catalogue: Catalogue, config: RunConfig | None = None
) -> Tables:
    """The converted tables, or `DataContractError` listing the problems."""
    report = check_tables(tables, catalogue=catalogue, config=config)
    if not report.ok:
        raise _contract_error(report)
    return report.tables


def load_valid_tables(
    data_dir: str | Path, *, catalogue: Catalogue, config: RunConfig | None = None
) -> Tables:
    """Read the three tables of `data_dir` and return them only if they meet the contract."""
    tables = read_tables(data_dir, config=config)
    return require_valid_tables(tables, catalogue=catalogue, config=config)


def _contract_error(report: Report) -> DataContractError:
    first = report.problems[0]
    message = (
        f"the input tables break the data contract: {report.summary()}; "
        f"first: {first.where()}: {first.rule}: {first.message}. "
        "Nothing is trained on tables that fail; `polku validate --data DIR` lists every problem."
    )
    return DataContractError(message, [problem.to_dict() for problem in report.problems])
