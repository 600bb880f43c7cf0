"""Which conditions of a rule one client does not meet: what to name when saying why not.

A rule is read again into a tree of its comparisons (`Clause`), joined by
all-of and any-of; ``not`` is pushed down to the comparisons (``not
finnish_level >= B1`` is ``finnish_level < B1``; ``not (a and b)`` is ``not a
or not b``), so every leaf is a plain condition a person can read. Each
comparison is compiled by the same `ConditionCompiler` as the rule itself,
so it agrees with the rule on every value, missing values included.

`unmet_conditions` then walks the tree for one client: of an all-of, the
parts not met; of an any-of that no part meets, the alternatives, each with
what it lacks. A comparison on a missing value is unmet and says so
(`Unmet.known` is False).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from model.errors import CatalogueError
from model.features import FeatureKind
from model.rules.columns import PreparedColumn, prepare_column
from model.rules.compiler import ConditionCompiler
from model.rules.logic import Condition
from model.rules.rule import Rule
from model.rules.syntax import parse_expression
from model.vocab import UNKNOWN

# Operators of a clause. `missing` / `present` are `== unknown` / `!= unknown`;
# `always` / `never` are the constants true / false (they name no feature).
OPERATORS: Final = (
    ">=",
    "<=",
    ">",
    "<",
    "==",
    "!=",
    "in",
    "not in",
    "missing",
    "present",
    "always",
    "never",
)
_NEGATED: Final = {
    ">=": "<",
    "<": ">=",
    "<=": ">",
    ">": "<=",
    "==": "!=",
    "!=": "==",
    "in": "not in",
    "not in": "in",
    "missing": "present",
    "present": "missing",
    "always": "never",
    "never": "always",
}
_SYMBOLS: Final[dict[type[ast.cmpop], str]] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_FLIPPED: Final = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


@dataclass(frozen=True, slots=True)
class Clause:
    """One comparison: `feature operator values`, as the rule's own values.

    Values are as the rule compiler reads them: CEFR levels as ranks
    (A0=0 .. C2=6), numbers as floats, yes/no as True / False, categories
    as text.
    """

    feature: str
    kind: FeatureKind | None
    operator: str
    values: tuple[Any, ...]
    condition: Condition = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Node, ...]


Node = Clause | AllOf | AnyOf


@dataclass(frozen=True, slots=True)
class Unmet:
    """A comparison the client does not meet; `known` False: the client's value is missing."""

    clause: Clause
    known: bool


@dataclass(frozen=True, slots=True)
class Alternatives:
    """Any one of `options` would do; each option lists what it lacks."""

    options: tuple[tuple[Reason, ...], ...]


Reason = Unmet | Alternatives


def clause_tree(rule: Rule) -> Node | None:
    """The rule as a tree of plain comparisons; None for an empty rule (admits everyone)."""
    text = "\n".join(rule.source.replace("\x00", " ").splitlines()).strip()
    if not text:
        return None

    def fail(why: str) -> CatalogueError:
        return CatalogueError(f"service {rule.service!r}: eligibility rule {rule.source!r}: {why}")

    tree = parse_expression(text, fail)
    return _Builder(ConditionCompiler(rule.kinds, fail)).node(tree.body, negate=False)


def unmet_conditions(
    tree: Node | None, features: Mapping[str, Any], *, service: str = ""
) -> tuple[Reason, ...]:
    """What one client (its decision-point `features`) lacks; empty when the rule admits it."""
    if tree is None:
        return ()
    prepared: dict[str, PreparedColumn] = {}
    return _unmet(tree, features, prepared, service)


class _Builder:
    def __init__(self, compiler: ConditionCompiler) -> None:
        self.compiler = compiler

    def node(self, node: ast.expr, *, negate: bool) -> Node:
        if isinstance(node, ast.BoolOp):
            parts = tuple(self.node(operand, negate=negate) for operand in node.values)
            conjunction = isinstance(node.op, ast.And) != negate  # De Morgan under `not`
            return AllOf(parts) if conjunction else AnyOf(parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.node(node.operand, negate=not negate)
        if isinstance(node, ast.Compare):
            clauses: list[Node] = []
            left = node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                clauses.append(self.comparison(left, op, right, negate=negate))
                left = right
            if len(clauses) == 1:
                return clauses[0]
            return AnyOf(tuple(clauses)) if negate else AllOf(tuple(clauses))
        condition = self.compiler.condition(node)
        if isinstance(node, ast.Name) and node.id in self.compiler.kinds:
            return self._clause(node.id, "==", (True,), condition, negate)
        # the constants true and false (`condition` already checked there is nothing else)
        value = (isinstance(node, ast.Name) and node.id in ("true", "True")) or (
            isinstance(node, ast.Constant) and node.value is True
        )
        return self._clause("", "always" if value else "never", (), condition, negate)

    def comparison(self, left: ast.expr, op: ast.cmpop, right: ast.expr, *, negate: bool) -> Clause:
        condition = self.compiler.one_comparison(left, op, right)
        symbol = _SYMBOLS[type(op)]
        if not self.compiler.is_feature(left):
            left, right, symbol = right, left, _FLIPPED[symbol]
        assert isinstance(left, ast.Name)
        name = left.id
        kind = self.compiler.kinds[name]
        if symbol in ("in", "not in"):
            assert isinstance(right, ast.List | ast.Tuple | ast.Set)
            values = tuple(
                UNKNOWN if _is_unknown(element) else self.compiler.value(name, kind, element)
                for element in right.elts
            )
        elif _is_unknown(right):
            symbol, values = ("missing" if symbol == "==" else "present"), ()
        else:
            value = self.compiler.value(name, kind, right)
            values = (bool(value),) if kind == "boolean" else (value,)
        return self._clause(name, symbol, values, condition, negate)

    def _clause(
        self, name: str, symbol: str, values: tuple[Any, ...], condition: Condition, negate: bool
    ) -> Clause:
        kind = self.compiler.kinds.get(name) if name else None
        if negate:
            inner = condition
            condition = lambda prepared: inner(prepared)[::-1]  # noqa: E731
            if kind == "boolean" and symbol in ("==", "!="):
                values = (not values[0],)
            else:
                symbol = _NEGATED[symbol]
        return Clause(name, kind, symbol, values, condition)


def _is_unknown(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id == UNKNOWN
    return isinstance(node, ast.Constant) and node.value == UNKNOWN


def _unmet(
    node: Node,
    features: Mapping[str, Any],
    prepared: dict[str, PreparedColumn],
    service: str,
) -> tuple[Reason, ...]:
    if isinstance(node, Clause):
        met, known = _truth(node, features, prepared, service)
        return () if met else (Unmet(node, known),)
    if isinstance(node, AllOf):
        return tuple(
            reason for part in node.parts for reason in _unmet(part, features, prepared, service)
        )
    options = []
    for part in node.parts:
        lacks = _unmet(part, features, prepared, service)
        if not lacks:
            return ()
        options.append(lacks)
    return (Alternatives(tuple(options)),)


def _truth(
    clause: Clause,
    features: Mapping[str, Any],
    prepared: dict[str, PreparedColumn],
    service: str,
) -> tuple[bool, bool]:
    """(met, known) of one clause for one client."""
    name = clause.feature
    if name and name not in prepared:
        value = features.get(name)
        column = np.asarray(
            [value], dtype=object if isinstance(value, str) or value is None else None
        )
        assert clause.kind is not None
        prepared[name] = prepare_column(name, clause.kind, column, service)
    true_, false_ = clause.condition(prepared)
    met = bool(np.asarray(true_).reshape(-1)[0])
    known = met or bool(np.asarray(false_).reshape(-1)[0])
    return met, known
