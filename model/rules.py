"""Eligibility rules: small expressions over decision-point features.

A municipality writes rules such as ``finnish_level >= A2 and
years_since_arrival <= 3`` or ``education_level in [bachelor,
master_or_higher]`` in the service catalogue. They are parsed with Python's
own grammar (``ast.parse``) but only a whitelisted subset of node types is
accepted, and the tree is compiled into numpy operations: nothing is ever
evaluated with ``eval`` or ``exec``, and no name in a rule can reach a Python
builtin, attribute, function or module.

Language (docs/catalogue.md explains it for editors):
- feature names (see `model.features`) and bare words, which are values:
  CEFR levels (``A2``) when compared with a CEFR feature, category values
  (``bachelor``) otherwise, and ``true`` / ``false``;
- numbers (``3``, ``-0.5``) and quoted words (``"Northern Sami"``);
- comparisons ``== != < <= > >=`` between a feature and a value, in either
  order (``A1 <= finnish_level`` is ``finnish_level >= A1``) and chained
  (``A1 <= finnish_level <= B1``); ``in [..]`` and ``not in [..]``;
- ``and``, ``or``, ``not`` and parentheses.

Missing values (NaN, None, empty text and the contract's ``unknown``): a
comparison on a missing value is itself unknown, and unknowns propagate
through ``and`` / ``or`` / ``not`` by three-valued (Kleene) logic, as in SQL.
A rule admits a client only when it is known to be true, so no rule — not
even one written with ``not`` or ``!=`` — admits a client on data that is not
there, unless it asks for it by name: ``education_level == unknown`` is true
exactly where the value is missing, and ``unknown`` may appear in an ``in``
list.
"""

from __future__ import annotations

import ast
import difflib
import operator
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from model.errors import CatalogueError, DataContractError
from model.features import FeatureKind
from model.vocab import CEFR_RANK, UNKNOWN

# Features whose values are CEFR ranks; bare CEFR levels compare against them.
CEFR_FEATURES: Final = frozenset({"finnish_level", "finnish_level_intake"})

# Longer rules are refused: they are unreadable for a person, and a bound on
# the length bounds the nesting depth the parser and compiler have to handle.
MAX_RULE_LENGTH: Final = 1000

Columns = Mapping[str, Any]
# A prepared column: its values and which rows have a value.
Prepared = tuple[np.ndarray, np.ndarray]
# A compiled condition answers two masks: rows where it is known to be true
# and rows where it is known to be false. Rows in neither are unknown.
Tri = tuple[np.ndarray, np.ndarray]
Compiled = Callable[[Mapping[str, Prepared]], Tri]

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

# The only syntax a rule may contain. Everything else is refused before
# compiling, with a message that says what was found.
_ALLOWED_NODES: Final = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Set,
)
_REFUSED: Final[tuple[tuple[type[ast.AST] | tuple[type[ast.AST], ...], str], ...]] = (
    (ast.Call, "calling a function is not allowed"),
    (ast.Attribute, "attribute access with '.' is not allowed"),
    (ast.Subscript, "indexing or slicing with [..] is not allowed"),
    (ast.Lambda, "lambda is not allowed"),
    (
        (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
        "comprehensions ('for' inside brackets) are not allowed",
    ),
    ((ast.BinOp, ast.Invert), "arithmetic is not allowed; compare a feature with a value"),
    ((ast.Is, ast.IsNot), "'is' is not allowed; use == or !="),
    (ast.IfExp, "'if .. else' is not allowed; combine conditions with and / or"),
    (ast.NamedExpr, "':=' is not allowed"),
    (ast.Dict, "a {key: value} table is not allowed; a list is written [a, b]"),
    (ast.Starred, "'*' is not allowed"),
    ((ast.JoinedStr, ast.FormattedValue), "f-strings are not allowed; write a plain quoted word"),
    ((ast.Await, ast.Yield, ast.YieldFrom), "this Python construct is not allowed"),
)


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed eligibility rule, ready to evaluate on columns of features."""

    source: str
    features: frozenset[str]
    _fn: Compiled = field(repr=False, compare=False)
    service: str = ""
    kinds: Mapping[str, FeatureKind] = field(default_factory=dict, repr=False, compare=False)

    def evaluate(
        self,
        columns: Columns,
        n_rows: int | None = None,
        cache: dict[str, Prepared] | None = None,
    ) -> np.ndarray:
        """Boolean array: which rows the rule admits (known to be true).

        `columns` maps feature names to equally long arrays (numpy arrays,
        pandas Series or lists). Every feature the rule uses must be there;
        missing *values* (NaN, None, pandas NA, empty text, ``unknown``) are
        fine and are never admitted unless the rule asks for ``unknown``.
        """
        prepared: dict[str, Prepared] = {}
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
            prepared[name] = _prepare(name, self.kinds[name], columns[name], self.service)
            if cache is not None:
                cache[name] = prepared[name]
        n = _row_count(prepared, columns, n_rows, self.service)
        known_true, _ = self._fn(prepared)
        return np.broadcast_to(np.asarray(known_true, dtype=bool), (n,)).copy()


def parse_rule(source: str, kinds: Mapping[str, FeatureKind], *, service: str) -> Rule:
    """Parse and type-check a rule; raise `CatalogueError` naming the service.

    An empty rule admits everyone. Nothing in `source` is executed.
    """
    if not isinstance(source, str):
        raise CatalogueError(f"service {service!r}: the eligibility rule must be text")
    text = "\n".join(source.replace("\x00", " ").splitlines()).strip()
    if not text:
        return Rule(source, frozenset(), _constant(True), service, {})

    def fail(why: str) -> CatalogueError:
        return CatalogueError(f"service {service!r}: eligibility rule {source!r}: {why}")

    if len(text) > MAX_RULE_LENGTH:
        raise fail(f"a rule may be at most {MAX_RULE_LENGTH} characters long")
    # A rule may span several lines in the catalogue (TOML """..."""), each
    # with a # comment. Inside parentheses Python's grammar allows both, and a
    # comment then ends at its own line instead of swallowing the rest. A
    # one-line rule is parsed as written, so error positions are exact.
    wrapped = "\n" in text
    try:
        with warnings.catch_warnings():
            # e.g. "invalid escape sequence" in a quoted word: not the editor's concern
            warnings.simplefilter("ignore")
            tree = ast.parse(f"({text}\n)" if wrapped else text, mode="eval")
    except SyntaxError as exc:
        raise fail(f"not a valid rule{_where(exc, text, wrapped)} ({_plain(exc.msg)})") from None
    except (ValueError, RecursionError, MemoryError):
        raise fail("not a valid rule") from None
    try:
        _check_syntax(tree, fail)
        compiler = _Compiler(kinds, fail)
        fn = compiler.boolean(tree.body)
    except RecursionError:
        raise fail("the rule is nested too deeply") from None
    used = frozenset(compiler.used)
    return Rule(source, used, fn, service, {name: kinds[name] for name in used})


def _where(exc: SyntaxError, text: str, wrapped: bool) -> str:
    """Where a syntax error is, in the editor's own text (without our parentheses)."""
    lines = text.count("\n") + 1
    line, column = exc.lineno or 1, exc.offset or 0
    if line > lines or (not wrapped and (column == 0 or column > len(text))):
        return " at the end"
    if wrapped and line == 1:
        column -= 1
    if column < 1 or (wrapped and line == 1 and column == 1):
        return ""
    if lines > 1:
        return f" on line {line} near character {column}"
    return f" near character {column}"


_PYTHON_HINTS: Final = (
    ("Perhaps you forgot a comma", "two values side by side; join conditions with and / or"),
    ("instead of '='", "use == to compare"),
)


def _plain(message: str) -> str:
    """Python's hints speak of Python; say it in the rule language instead."""
    for python, plain in _PYTHON_HINTS:
        if python in message:
            return plain
    return message


def _check_syntax(tree: ast.AST, fail: Callable[[str], CatalogueError]) -> None:
    """Refuse every node outside the rule language before anything else."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise fail(f"names starting with '__' are not allowed ({node.id!r})")
        if isinstance(node, _ALLOWED_NODES):
            continue
        for kinds, why in _REFUSED:
            if isinstance(node, kinds):
                raise fail(why)
        raise fail(f"{type(node).__name__} is not part of the rule language")


class _Compiler:
    def __init__(
        self, kinds: Mapping[str, FeatureKind], fail: Callable[[str], CatalogueError]
    ) -> None:
        self.kinds = kinds
        self.fail = fail
        self.used: set[str] = set()

    # -- conditions -----------------------------------------------------------
    def boolean(self, node: ast.expr) -> Compiled:
        if isinstance(node, ast.BoolOp):
            parts = [self.boolean(v) for v in node.values]
            return _and(parts) if isinstance(node.op, ast.And) else _or(parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.boolean(node.operand)
            return lambda c: inner(c)[::-1]  # not: known-true and known-false swap
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Name):
            if node.id in _TRUE_WORDS or node.id in _FALSE_WORDS:
                return _constant(node.id in _TRUE_WORDS)
            name = self.feature(node)
            if self.kinds[name] != "boolean":
                raise self.fail(
                    f"{name!r} is not a yes/no feature; compare it with a value, "
                    f"e.g. {name} {'>= A2' if name in CEFR_FEATURES else '== ...'}"
                )
            return lambda c: _known(c[name], c[name][0] == 1.0)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return _constant(node.value)
        raise self.fail(
            f"{ast.unparse(node)!r} is not a condition; a rule is made of comparisons "
            "such as finnish_level >= A2, joined by and / or / not"
        )

    def compare(self, node: ast.Compare) -> Compiled:
        parts: list[Compiled] = []
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            parts.append(self.one_comparison(left, op, right))
            left = right
        return parts[0] if len(parts) == 1 else _and(parts)

    def one_comparison(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> Compiled:
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
        fn = _COMPARE[type(op)]
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
            return _is_missing(name, negate=isinstance(op, ast.NotEq))
        value = self.value(name, kind, right)

        def comparison(c: Mapping[str, Prepared]) -> Tri:
            values, present = c[name]
            with np.errstate(invalid="ignore"):
                hit = np.asarray(fn(values, value), dtype=bool)
            return _known((values, present), hit)

        return comparison

    def membership(self, name: str, kind: FeatureKind, node: ast.expr, *, negate: bool) -> Compiled:
        if not isinstance(node, ast.List | ast.Tuple | ast.Set):
            raise self.fail(f"'in' needs a list in brackets, e.g. {name} in [a, b]")
        if not node.elts:
            raise self.fail(f"the list after 'in' is empty; name at least one value for {name!r}")
        asks_missing = any(_is_unknown(v) for v in node.elts)
        values = [self.value(name, kind, v) for v in node.elts if not _is_unknown(v)]
        if kind == "categorical":
            wanted = np.asarray(values, dtype=str)
        else:
            wanted = np.asarray(values, dtype=float)

        def member(c: Mapping[str, Prepared]) -> Tri:
            values_, present = c[name]
            hit = np.isin(values_, wanted)
            if asks_missing:  # `unknown` in the list: missing rows are members
                true_, false_ = (present & hit) | ~present, present & ~hit
            else:
                true_, false_ = _known((values_, present), hit)
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


# -- evaluation ----------------------------------------------------------------


def _constant(value: bool) -> Compiled:
    truth = np.asarray(value)
    falsity = np.asarray(not value)
    return lambda c: (truth, falsity)


def _is_missing(name: str, *, negate: bool) -> Compiled:
    """`name == unknown`: known for every row, true where the value is missing."""

    def missing(c: Mapping[str, Prepared]) -> Tri:
        _, present = c[name]
        return (present, ~present) if negate else (~present, present)

    return missing


def _known(column: Prepared, hit: np.ndarray) -> Tri:
    _, present = column
    return present & hit, present & ~hit


def _and(parts: list[Compiled]) -> Compiled:
    def conjunction(c: Mapping[str, Prepared]) -> Tri:
        true_, false_ = parts[0](c)
        for part in parts[1:]:
            t, f = part(c)
            true_, false_ = true_ & t, false_ | f
        return true_, false_

    return conjunction


def _or(parts: list[Compiled]) -> Compiled:
    def disjunction(c: Mapping[str, Prepared]) -> Tri:
        true_, false_ = parts[0](c)
        for part in parts[1:]:
            t, f = part(c)
            true_, false_ = true_ | t, false_ & f
        return true_, false_

    return disjunction


def _row_count(
    prepared: Mapping[str, Prepared], columns: Columns, n_rows: int | None, service: str
) -> int:
    lengths = {name: len(values) for name, (values, _) in prepared.items()}
    if n_rows is None:
        if lengths:
            n_rows = next(iter(lengths.values()))
        elif columns:
            n_rows = len(next(iter(columns.values())))
        else:
            n_rows = 1
    wrong = sorted(name for name, length in lengths.items() if length != n_rows)
    if wrong:
        raise DataContractError(
            f"service {service!r}: feature column(s) {wrong} do not have {n_rows} rows"
        )
    return n_rows


def _prepare(name: str, kind: FeatureKind, column: object, service: str) -> Prepared:
    """Values and presence of one feature column, in the form its comparisons use.

    Numeric, CEFR and yes/no features become floats with NaN for missing
    (yes/no as 1.0 / 0.0; CEFR levels written as text become their ranks).
    Categories become text, with missing values (None, NaN, NA, empty text)
    marked absent.
    """
    col = np.asarray(column)
    if col.ndim != 1:
        col = col.reshape(-1)
    try:
        if kind == "categorical":
            return _categories(col)
        values = _floats(col, cefr=name in CEFR_FEATURES)
    except (TypeError, ValueError):
        raise DataContractError(
            f"service {service!r}: feature {name!r} should be {kind} but has values such as "
            f"{_sample(col)}"
        ) from None
    if kind == "boolean":
        present = ~np.isnan(values)
        if not np.isin(values[present], (0.0, 1.0)).all():
            raise DataContractError(
                f"service {service!r}: feature {name!r} should be yes/no but has values such as "
                f"{_sample(values[present & ~np.isin(values, (0.0, 1.0))])}"
            )
        return values, present
    return values, ~np.isnan(values)


def _floats(col: np.ndarray, *, cefr: bool) -> np.ndarray:
    if col.dtype.kind in "fiub":
        return np.asarray(col, dtype=np.float64)  # no copy when already float64
    if col.dtype.kind in "OUS":
        out = np.empty(col.shape, dtype=np.float64)
        missing = pd.isna(col)
        for i, v in enumerate(col):
            out[i] = np.nan if missing[i] else _float(v, cefr=cefr)
        return out
    raise TypeError(col.dtype)


def _float(v: object, *, cefr: bool) -> float:
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str):
        word = v.strip()
        if not word or word == UNKNOWN:
            return np.nan
        if cefr:
            return float(CEFR_RANK.get(word.upper(), np.nan))  # `unknown` is missing
        lowered = word.lower()
        if lowered in ("true", "false"):
            return float(lowered == "true")
        return float(word)
    return float(v)  # type: ignore[arg-type]


def _categories(col: np.ndarray) -> Prepared:
    if col.dtype.kind == "U":
        # Fixed-width text has no None or NaN; strip only when needed.
        if len(col) and (np.char.startswith(col, " ").any() or np.char.endswith(col, " ").any()):
            col = np.char.strip(col)
        return col, (col != "") & (col != UNKNOWN)
    missing = np.asarray(pd.isna(col), dtype=bool)
    texts = np.char.strip(np.where(missing, "", col).astype(str))
    return texts, (texts != "") & (texts != UNKNOWN)


def _sample(col: np.ndarray) -> str:
    return ", ".join(repr(v) for v in col[:3].tolist())
