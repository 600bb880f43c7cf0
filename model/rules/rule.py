"""A rule as the catalogue holds it: its text, the features it reads, and its condition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from model.errors import CatalogueError, DataContractError
from model.features import FeatureKind
from model.rules.columns import Columns, PreparedColumn, prepare_column, row_count
from model.rules.compiler import ConditionCompiler
from model.rules.logic import Condition, constant
from model.rules.syntax import parse_expression


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed eligibility rule, ready to evaluate on columns of features."""

    source: str
    features: frozenset[str]
    condition: Condition = field(repr=False, compare=False)
    service: str = ""
    kinds: Mapping[str, FeatureKind] = field(default_factory=dict, repr=False, compare=False)

    def evaluate(
        self,
        columns: Columns,
        n_rows: int | None = None,
        cache: dict[str, PreparedColumn] | None = None,
    ) -> np.ndarray:
        """Boolean array: which rows the rule admits (known to be true).

        `columns` maps feature names to equally long arrays (numpy arrays,
        pandas Series or lists). Every feature the rule uses must be there;
        missing *values* (NaN, None, pandas NA, empty text, ``unknown``) are
        fine and are never admitted unless the rule asks for ``unknown``.
        """
        prepared: dict[str, PreparedColumn] = {}
        for name in sorted(self.features):
            if name not in columns:
                raise DataContractError(
                    f"service {self.service!r}: eligibility rule {self.source!r} needs the "
                    f"feature {name!r}, which the data does not have"
                )
            # Rules of one catalogue share prepared columns (same name, same kind).
            if cache is not None and name in cache:
                prepared[name] = cache[name]
                continue
            prepared[name] = prepare_column(name, self.kinds[name], columns[name], self.service)
            if cache is not None:
                cache[name] = prepared[name]
        n = row_count(prepared, columns, n_rows, self.service)
        known_true, _ = self.condition(prepared)
        return np.broadcast_to(np.asarray(known_true, dtype=bool), (n,)).copy()


def parse_rule(source: str, kinds: Mapping[str, FeatureKind], *, service: str) -> Rule:
    """Parse and type-check a rule; raise `CatalogueError` naming the service.

    An empty rule admits everyone. Nothing in `source` is executed.
    """
    if not isinstance(source, str):
        raise CatalogueError(f"service {service!r}: the eligibility rule must be text")
    text = "\n".join(source.replace("\x00", " ").splitlines()).strip()
    if not text:
        return Rule(source, frozenset(), constant(True), service, {})

    def fail(why: str) -> CatalogueError:
        return CatalogueError(f"service {service!r}: eligibility rule {source!r}: {why}")

    tree = parse_expression(text, fail)
    try:
        compiler = ConditionCompiler(kinds, fail)
        condition = compiler.condition(tree.body)
    except RecursionError:
        raise fail("the rule is nested too deeply") from None
    used = frozenset(compiler.used)
    return Rule(source, used, condition, service, {name: kinds[name] for name in used})
