"""Reading a rule's text: Python's grammar, but only the rule language's part of it.

The text is parsed with ``ast.parse`` and every node outside a whitelist is
refused with a message that says what was found, before anything is
compiled; nothing is ever evaluated with ``eval`` or ``exec``.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable
from typing import Final

from model.errors import CatalogueError

# Longer rules are refused: they are unreadable for a person, and a bound on
# the length bounds the nesting depth the parser and compiler have to handle.
MAX_RULE_LENGTH: Final = 1000

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


def parse_expression(text: str, fail: Callable[[str], CatalogueError]) -> ast.Expression:
    """The syntax tree of a rule's (stripped, non-empty) text, in the rule language only.

    `fail(why)` makes the error to raise, naming the service and the rule.
    """
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
    except RecursionError:
        raise fail("the rule is nested too deeply") from None
    return tree


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
