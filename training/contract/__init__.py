"""The data contract: what the three input tables must satisfy.

Every rule of the contract is checked here and every failure is reported as a
`Problem` naming the file, the row, the column and the rule. Nothing is
trained on tables that fail: `load_valid_tables` raises `DataContractError`
listing the problems. docs/data.md describes the rules and `polku validate`'s
output for the people who export the data. One module per concept:

- `schemas`: the rules about one column at a time (presence, types, missing
  values, categories, ranges, unique ids, identity codes, undeclared
  columns), as pandera schemas;
- `column_problems`: values that could not be converted to their column's
  kind (found while reading, `training.tables.convert_tables`) and the
  schemas' failures, as problems with their messages;
- `cross_checks`: the rules across the columns of a row (dates in order,
  status against end date) and across tables (episodes and outcomes of known
  clients, services after intake), as vectorised pandas;
- `problems`: `Problem`, the collected findings and the `Report`;
- `load`: `check_tables`, and loading only tables that pass;
- `command`: `polku validate`, printing the problems with Rich.

The names below are the package's public interface; code inside the package
imports from the modules.
"""

from training.contract.command import validate_command
from training.contract.load import (
    check_tables,
    load_valid_tables,
    require_valid_tables,
    validate_tables,
)
from training.contract.problems import PROBLEM_LIMIT, Problem, Report, RuleCount

__all__ = [
    "PROBLEM_LIMIT",
    "Problem",
    "Report",
    "RuleCount",
    "check_tables",
    "load_valid_tables",
    "require_valid_tables",
    "validate_command",
    "validate_tables",
]
