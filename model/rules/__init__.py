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

The modules, in the order a rule goes through them: `syntax` reads the text,
`compiler` checks it against the features and turns it into a condition of
`logic`, `rule` holds the result, and `columns` prepares the data a rule is
evaluated on.
"""

from model.rules.columns import CEFR_FEATURES
from model.rules.rule import Rule, parse_rule
from model.rules.syntax import MAX_RULE_LENGTH

__all__ = ["CEFR_FEATURES", "MAX_RULE_LENGTH", "Rule", "parse_rule"]
