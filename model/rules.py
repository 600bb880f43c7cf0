"""Eligibility rules: small expressions over decision-point features.

A municipality writes rules such as ``finnish_level >= A2 and
years_since_arrival <= 3`` or ``education_level in [bachelor,
master_or_higher]`` in the service catalogue. They are parsed with Python's
own grammar (``ast.parse``) but only a whitelisted subset of node types is
accepted, and the tree is compiled into numpy operations: nothing is ever
evaluated with ``eval`` or ``exec``.

Language:
- feature names (see `model.features`) and bare words, which are literals:
  CEFR levels (``A2``) when compared with a CEFR feature, category values
  (``bachelor``) otherwise, and ``true`` / ``false``;
- numbers and quoted strings;
- comparisons ``== != < <= > >=``, ``in [..]`` and ``not in [..]``;
- ``and``, ``or``, ``not`` and parentheses.
A missing value makes a comparison false, so a rule never admits a client on
data that is not there.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.errors import CatalogueError
from model.features import FeatureKind
from model.vocab import CEFR_RANK

# Features whose values are CEFR ranks; bare CEFR levels compare against them.
CEFR_FEATURES = frozenset({"finnish_level", "finnish_level_intake"})

Columns = Mapping[str, np.ndarray]
Compiled = Callable[[Columns], np.ndarray]

_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed eligibility rule, ready to evaluate on columns of features."""

    source: str
    features: frozenset[str]
    _fn: Compiled

    def evaluate(self, columns: Columns) -> np.ndarray:
        """Boolean array: which rows the rule admits."""
        result = np.asarray(self._fn(columns), dtype=bool)
        if result.ndim == 0:
            n = len(next(iter(columns.values()))) if columns else 1
            result = np.full(n, bool(result))
        return result


def parse_rule(source: str, kinds: Mapping[str, FeatureKind], *, service: str) -> Rule:
    """Parse and type-check a rule; raise `CatalogueError` naming the service."""
    text = source.strip()
    if not text:
        return Rule(source, frozenset(), lambda columns: np.asarray(True))
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CatalogueError(
            f"service {service!r}: eligibility rule {source!r} is not a valid expression "
            f"(near column {exc.offset})"
        ) from None
    compiler = _Compiler(kinds, service, source)
    fn = compiler.boolean(tree.body)
    return Rule(source, frozenset(compiler.used), fn)


class _Compiler:
    def __init__(self, kinds: Mapping[str, FeatureKind], service: str, source: str) -> None:
        self.kinds = kinds
        self.service = service
        self.source = source
        self.used: set[str] = set()

    def fail(self, why: str) -> CatalogueError:
        return CatalogueError(f"service {self.service!r}: eligibility rule {self.source!r}: {why}")

    # -- boolean positions -------------------------------------------------
    def boolean(self, node: ast.expr) -> Compiled:
        if isinstance(node, ast.BoolOp):
            parts = [self.boolean(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return lambda c: _reduce(np.logical_and, parts, c)
            return lambda c: _reduce(np.logical_or, parts, c)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.boolean(node.operand)
            return lambda c: np.logical_not(inner(c))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Name):
            if node.id in ("true", "false", "True", "False"):
                value = node.id.lower() == "true"
                return lambda c: np.asarray(value)
            name = self.feature(node)
            if self.kinds[name] != "boolean":
                raise self.fail(f"{name!r} is not a yes/no feature; compare it with a value")
            return lambda c: _truthy(c[name])
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            value = node.value
            return lambda c: np.asarray(value)
        raise self.fail(f"{ast.unparse(node)!r} is not a condition")

    def compare(self, node: ast.Compare) -> Compiled:
        left_node = node.left
        parts: list[Compiled] = []
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            parts.append(self.one_comparison(left_node, op, right_node))
            left_node = right_node
        return lambda c: _reduce(np.logical_and, parts, c)

    def one_comparison(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> Compiled:
        if not (isinstance(left, ast.Name) and left.id in self.kinds):
            raise self.fail("a comparison must start with a feature name, e.g. finnish_level >= A2")
        name = self.feature(left)
        kind = self.kinds[name]
        if isinstance(op, ast.In | ast.NotIn):
            if not isinstance(right, ast.List | ast.Tuple | ast.Set):
                raise self.fail(f"'in' needs a list, e.g. {name} in [a, b]")
            values = [self.literal(name, kind, v) for v in right.elts]
            negate = isinstance(op, ast.NotIn)

            def member(c: Columns) -> np.ndarray:
                col = c[name]
                hit = np.isin(col, np.asarray(values, dtype=col.dtype if kind != "categorical" else object))
                present = _present(col)
                return present & (~hit if negate else hit)

            return member
        fn = _COMPARE.get(type(op))
        if fn is None:
            raise self.fail(f"operator {type(op).__name__} is not allowed")
        value = self.literal(name, kind, right)
        if kind == "categorical" and not isinstance(op, ast.Eq | ast.NotEq):
            raise self.fail(f"{name!r} is a category; only ==, !=, in and not in apply")

        def cmp(c: Columns) -> np.ndarray:
            col = c[name]
            with np.errstate(invalid="ignore"):
                out = fn(col, value)
            return _present(col) & np.asarray(out, dtype=bool)

        return cmp

    # -- leaves --------------------------------------------------------------
    def feature(self, node: ast.Name) -> str:
        if node.id not in self.kinds:
            raise self.fail(f"unknown feature {node.id!r}")
        self.used.add(node.id)
        return node.id

    def literal(self, name: str, kind: FeatureKind, node: ast.expr) -> Any:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.literal(name, kind, node.operand)
            if isinstance(inner, int | float):
                return -inner
            raise self.fail(f"cannot negate {ast.unparse(node.operand)!r}")
        if isinstance(node, ast.Name):
            if node.id in self.kinds:
                raise self.fail(f"compare {name!r} with a value, not with the feature {node.id!r}")
            word = node.id
        elif isinstance(node, ast.Constant) and isinstance(node.value, str | int | float):
            word = node.value
        else:
            raise self.fail(f"{ast.unparse(node)!r} is not a value")
        if name in CEFR_FEATURES:
            if isinstance(word, str):
                if word not in CEFR_RANK:
                    raise self.fail(f"{word!r} is not a CEFR level (A0 .. C2)")
                return float(CEFR_RANK[word])
            return float(word)
        if kind == "boolean":
            if isinstance(word, str) and word.lower() in ("true", "false"):
                return word.lower() == "true"
            if isinstance(word, bool) or word in (0, 1):
                return bool(word)
            raise self.fail(f"{name!r} is yes/no; compare it with true or false")
        if kind == "numeric":
            if isinstance(word, str) or isinstance(word, bool):
                raise self.fail(f"{name!r} is a number; {word!r} is not")
            return float(word)
        return str(word)


def _reduce(op: Any, parts: list[Compiled], columns: Columns) -> np.ndarray:
    result = parts[0](columns)
    for part in parts[1:]:
        result = op(result, part(columns))
    return result


def _present(col: np.ndarray) -> np.ndarray:
    if col.dtype.kind == "f":
        return ~np.isnan(col)
    if col.dtype.kind == "O":
        return np.asarray([v is not None and v == v for v in col], dtype=bool)
    return np.ones(col.shape, dtype=bool)


def _truthy(col: np.ndarray) -> np.ndarray:
    if col.dtype.kind == "f":
        return np.nan_to_num(col, nan=0.0) > 0.5
    return col.astype(bool)
