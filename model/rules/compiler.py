"""Compiling a rule's syntax tree into a condition over columns, checked against the features.

Each comparison is checked against its feature's kind (a CEFR level, a
number, yes/no or a category) when the rule is read, so that a mistyped
rule is refused with the reason before it ever meets data.
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

from model.errors import CatalogueError
from model.features import FeatureKind
from model.rules.columns import CEFR_FEATURES, PreparedColumn
from model.rules.logic import Condition, Truth, all_of, any_of, constant, is_missing, known
from model.vocab import CEFR_RANK, UNKNOWN

_TRUE_WORDS: Final = frozenset({"true", "True"})
_FALSE_WORDS: Final = frozenset({"false", "False"})

_COMPARE: Final[dict[type[ast.cmpop], Callable[[Any, Any], Any]]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
# `value op feature` is `feature flipped(op) value`.
_FLIP: Final[dict[type[ast.cmpop], type[ast.cmpop]]] = {
    ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
    ast.Lt: ast.Gt,
    ast.LtE: ast.GtE,
    ast.Gt: ast.Lt,
    ast.GtE: ast.LtE,
}
_SYMBOL: Final[dict[type[ast.cmpop], str]] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}


class ConditionCompiler:
    """Compiles the syntax tree of one rule into a `Condition`.

    `fail(why)` makes the error to raise, naming the service and the rule;
    `used` collects the features the rule reads.
    """

    def __init__(
        self, kinds: Mapping[str, FeatureKind], fail: Callable[[str], CatalogueError]
    ) -> None:
        self.kinds = kinds
        self.fail = fail
        self.used: set[str] = set()

    # -- conditions -----------------------------------------------------------
    def condition(self, node: ast.expr) -> Condition:
        if isinstance(node, ast.BoolOp):
            parts = [self.condition(operand) for operand in node.values]
            return all_of(parts) if isinstance(node.op, ast.And) else any_of(parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.condition(node.operand)
            return lambda prepared: inner(prepared)[::-1]  # not: known-true and known-false swap
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Name):
            if node.id in _TRUE_WORDS or node.id in _FALSE_WORDS:
                return constant(node.id in _TRUE_WORDS)
            name = self.feature(node)
            if self.kinds[name] != "boolean":
                raise self.fail(
                    f"{name!r} is not a yes/no feature; compare it with a value, "
                    f"e.g. {name} {'>= A2' if name in CEFR_FEATURES else '== ...'}"
                )
            return lambda prepared: known(prepared[name], prepared[name][0] == 1.0)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return constant(node.value)
        raise self.fail(
            f"{ast.unparse(node)!r} is not a condition; a rule is made of comparisons "
            "such as finnish_level >= A2, joined by and / or / not"
        )

    def compare(self, node: ast.Compare) -> Condition:
        parts: list[Condition] = []
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            parts.append(self.one_comparison(left, op, right))
            left = right
        return parts[0] if len(parts) == 1 else all_of(parts)

    def one_comparison(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> Condition:
        left_is_feature = self.is_feature(left)
        right_is_feature = self.is_feature(right)
        if left_is_feature and right_is_feature:
            assert isinstance(left, ast.Name) and isinstance(right, ast.Name)
            raise self.fail(
                f"compares the feature {left.id!r} with the feature {right.id!r}; "
                "compare a feature with a value, e.g. finnish_level >= A2"
            )
        if not left_is_feature and not right_is_feature:
            raise self.fail(self.no_feature_message(left, right))
        if right_is_feature:
            if isinstance(op, ast.In | ast.NotIn):
                raise self.fail(
                    f"write the feature first: {ast.unparse(right)} {_SYMBOL[type(op)]} [..]"
                )
            left, right, op = right, left, _FLIP[type(op)]()
        assert isinstance(left, ast.Name)
        name = self.feature(left)
        kind = self.kinds[name]
        if isinstance(op, ast.In | ast.NotIn):
            return self.membership(name, kind, right, negate=isinstance(op, ast.NotIn))
        compare_values = _COMPARE[type(op)]
        if kind == "categorical" and not isinstance(op, ast.Eq | ast.NotEq):
            raise self.fail(
                f"{name!r} is a category; only ==, !=, in and not in apply to it, "
                f"not {_SYMBOL[type(op)]}"
            )
        if kind == "boolean" and not isinstance(op, ast.Eq | ast.NotEq):
            raise self.fail(f"{name!r} is yes/no; only == and != apply to it")
        if _is_unknown(right):
            if not isinstance(op, ast.Eq | ast.NotEq):
                raise self.fail(
                    f"'unknown' means the value is missing; write {name} == unknown "
                    f"or {name} != unknown, not {_SYMBOL[type(op)]}"
                )
            self.value(name, kind, right)  # still checks the feature
            return is_missing(name, negate=isinstance(op, ast.NotEq))
        value = self.value(name, kind, right)

        def comparison(prepared: Mapping[str, PreparedColumn]) -> Truth:
            values, present = prepared[name]
            with np.errstate(invalid="ignore"):
                hit = np.asarray(compare_values(values, value), dtype=bool)
            return known((values, present), hit)

        return comparison

    def membership(
        self, name: str, kind: FeatureKind, node: ast.expr, *, negate: bool
    ) -> Condition:
        if not isinstance(node, ast.List | ast.Tuple | ast.Set):
            raise self.fail(f"'in' needs a list in brackets, e.g. {name} in [a, b]")
        if not node.elts:
            raise self.fail(f"the list after 'in' is empty; name at least one value for {name!r}")
        asks_missing = any(_is_unknown(element) for element in node.elts)
        values = [
            self.value(name, kind, element) for element in node.elts if not _is_unknown(element)
        ]
        if kind == "categorical":
            wanted = np.asarray(values, dtype=str)
        else:
            wanted = np.asarray(values, dtype=float)

        def member(prepared: Mapping[str, PreparedColumn]) -> Truth:
            column_values, present = prepared[name]
            hit = np.isin(column_values, wanted)
            if asks_missing:  # `unknown` in the list: missing rows are members
                true_, false_ = (present & hit) | ~present, present & ~hit
            else:
                true_, false_ = known((column_values, present), hit)
            return (false_, true_) if negate else (true_, false_)

        return member

    # -- leaves ---------------------------------------------------------------
    def is_feature(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.kinds

    def feature(self, node: ast.Name) -> str:
        if node.id not in self.kinds:
            raise self.fail(self.unknown_feature(node.id))
        self.used.add(node.id)
        return node.id

    def unknown_feature(self, word: str) -> str:
        close = difflib.get_close_matches(word, list(self.kinds), n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown feature {word!r}{hint}; docs/catalogue.md lists the features"

    def no_feature_message(self, left: ast.expr, right: ast.expr) -> str:
        for node in (left, right):
            if isinstance(node, ast.Name) and not _is_plain_value_word(node.id):
                return self.unknown_feature(node.id)
        return "a comparison needs a feature on one side, e.g. finnish_level >= A2"

    def value(self, name: str, kind: FeatureKind, node: ast.expr) -> Any:
        """The literal `node` as a value of feature `name`, checked against its kind."""
        if _is_unknown(node):
            self.used.add(name)
            return None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = node.operand
            if not (
                isinstance(operand, ast.Constant)
                and isinstance(operand.value, int | float)
                and not isinstance(operand.value, bool)
            ):
                raise self.fail(f"only a number can have a sign, not {ast.unparse(operand)!r}")
            if kind != "numeric":
                raise self.fail(f"{name!r} cannot be compared with {ast.unparse(node)!r}")
            number = self.number(operand.value)
            return -number if isinstance(node.op, ast.USub) else number
        if isinstance(node, ast.Name):
            word: object = node.id
        elif isinstance(node, ast.Constant) and isinstance(node.value, str | int | float):
            word = node.value
        else:
            raise self.fail(f"{ast.unparse(node)!r} is not a value")

        if name in CEFR_FEATURES:
            if isinstance(word, bool):
                raise self.fail(f"{name!r} is a CEFR level; compare it with A0 .. C2")
            if isinstance(word, str):
                level = word.strip().upper()
                if level not in CEFR_RANK:
                    raise self.fail(
                        f"{word!r} is not a CEFR level; use one of {', '.join(CEFR_RANK)}"
                    )
                return float(CEFR_RANK[level])
            return self.number(word)
        if kind == "boolean":
            if isinstance(word, bool):
                return float(word)
            if isinstance(word, str) and word.strip().lower() in ("true", "false"):
                return float(word.strip().lower() == "true")
            if isinstance(word, int) and word in (0, 1):
                return float(word)
            raise self.fail(f"{name!r} is yes/no; compare it with true or false, not {word!r}")
        if kind == "numeric":
            if isinstance(word, str | bool):
                raise self.fail(f"{name!r} is a number; {word!r} is not a number")
            return self.number(word)
        # categorical
        if isinstance(word, bool):
            raise self.fail(f"{name!r} is a category; {word!r} is not one of its values")
        text = str(word).strip()
        if not text:
            raise self.fail(f"{name!r}: an empty word is not a value")
        return text

    def number(self, value: object) -> float:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (OverflowError, ValueError, TypeError):
            raise self.fail(f"{value!r} is not a usable number") from None
        if not np.isfinite(number):
            raise self.fail(f"{value!r} is not a usable number")
        return number


def _is_plain_value_word(word: str) -> bool:
    """Words that are values wherever they appear, never mistyped features."""
    return (
        word in _TRUE_WORDS or word in _FALSE_WORDS or word == UNKNOWN or word.upper() in CEFR_RANK
    )


def _is_unknown(node: ast.expr) -> bool:
    """The word `unknown`, bare or quoted: it stands for a missing value."""
    if isinstance(node, ast.Name):
        return node.id == UNKNOWN
    return isinstance(node, ast.Constant) and node.value == UNKNOWN
