"""The catalogue's eligibility rules for one client at a time, remembered, with reasons in words.

A rule reads a handful of features, most of them small counts and
categories, so the same values come back request after request. Each rule's
answer is remembered by the exact values (and types) of the features it
reads; only new combinations are evaluated, which makes eligibility a small
share of a request instead of a large one. Values that are not hashable, or
NaN (never equal to itself), are simply evaluated every time. The reason a
service is not offered is written once per answer and language and kept
with the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from model.catalogue import Catalogue
from model.reasons import ineligibility_reason
from model.rules.unmet import Node, clause_tree, unmet_conditions
from model.vocab import LANGUAGES

# Bound on the remembered rule answers (a few MB at most); forgotten all at once.
MAX_REMEMBERED: Final = 50_000


def _one_row(value: Any) -> np.ndarray:
    return np.asarray([value], dtype=object if isinstance(value, str) or value is None else None)


@dataclass(slots=True)
class RuleAnswer:
    """A rule's answer for some values of its features, and its reasons in words by language."""

    admits: bool
    reasons: dict[str, str] = field(default_factory=dict)


class RuleAnswers:
    """Every service's rule, answered for one client's features (module docstring)."""

    def __init__(self, catalogue: Catalogue, names: Mapping[str, Mapping[str, str]]) -> None:
        self.catalogue = catalogue
        self._names = names
        self._rules = [
            (j, s.eligibility, tuple(sorted(s.eligibility.features)))
            for j, s in enumerate(catalogue.services)
        ]
        self._admits: dict[tuple[int, tuple[Any, ...]], RuleAnswer] = {}
        # Rules as trees of plain conditions, read on the first reason needed.
        self._trees: dict[int, Node | None] = {}

    @property
    def remembered(self) -> int:
        """How many answers are remembered now."""
        return len(self._admits)

    def answer(self, features: Mapping[str, Any]) -> tuple[np.ndarray, list[RuleAnswer]]:
        """(1, n_actions) eligibility, as `Catalogue.eligibility` gives it, and each rule's answer."""
        out = np.ones((1, len(self.catalogue.actions)), dtype=bool)
        answers: list[RuleAnswer] = []
        admits = self._admits
        for j, rule, names in self._rules:
            try:
                key = (j, tuple((type(v := features[name]), v) for name in names))
                answer = admits.get(key)
            except (KeyError, TypeError):
                key, answer = None, None
            if answer is None:
                columns = {name: _one_row(features[name]) for name in names if name in features}
                answer = RuleAnswer(bool(rule.evaluate(columns, 1)[0]))
                if key is not None:
                    if len(admits) >= MAX_REMEMBERED:
                        admits.clear()
                    admits[key] = answer
            out[0, j] = answer.admits
            answers.append(answer)
        return out, answers

    def reason(
        self,
        j: int,
        features: Mapping[str, Any],
        language: str,
        answer: RuleAnswer | None = None,
    ) -> str:
        """Why action `j` is not offered, written once per rule answer and language."""
        if answer is None:
            answer = self.answer(features)[1][j]
        text = answer.reasons.get(language)
        if text is not None:
            return text
        service = self.catalogue.services[j]
        if j not in self._trees:
            self._trees[j] = clause_tree(service.eligibility)
        text = ineligibility_reason(
            unmet_conditions(self._trees[j], features, service=service.code),
            language,
            features,
            service_names=self._names[language if language in LANGUAGES else "en"],
            catalogue_text=service.eligibility_text,
        )
        answer.reasons[language] = text
        return text
