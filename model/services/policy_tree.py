"""A shallow tree of plain rules that approximates Polku's recommendations.

A recommender that ranks services from dozens of features is hard to
explain as policy; a tree of depth 2 or 3 over a few readable client fields
("Tertiary education and Finnish A2 or better → degree recognition") is
not. Athey & Wager (2021, "Policy learning with observational data",
Econometrica 89(1)) learn such trees from doubly-robust scores; Cockx,
Lechner & Bollens (2023, "Priority to unemployed immigrants? A causal
machine learning evaluation of training in Belgium", Labour Economics 80)
found that a shallow tree kept about 85 % of the gain of the full
assignment rule. Here the tree is fitted to imitate the recommender
(scikit-learn's `DecisionTreeClassifier`): each decision point's label is
Polku's first recommendation, weighted by how much it matters there (the
outcome model's chance under it minus the mean over the eligible actions),
so that the tree spends its few splits where following Polku changes the
outcome most.

The tree's policy at a decision point: the actions of its leaf, in order of
weight, and the first of them open to the client (otherwise no new
service). Its value is estimated like the full policy's (doubly robust, on
held-out clients): `policy_summary` reports the share of the full policy's
gain over history that the rules keep.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, Self

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from model.evaluation.policy_value import dr_terms, policy_values
from model.explain import FIELD_LABELS, VALUE_LABELS
from model.vocab import CEFR_LEVELS, EDUCATION_LEVELS, NO_NEW_SERVICE, RESIDENCE_BASES, UNKNOWN

NUMERIC_FIELDS: Final = (
    "finnish_level",
    "years_since_arrival",
    "months_since_intake",
    "age",
    "prior_work_years",
    "n_services",
    "n_interrupted",
)
BOOLEAN_FIELDS: Final = ("literacy_needs", "health_limitation", "in_service")
COMPLETED_PREFIX: Final = "completed_"
# Education as a rank (unknown is -1, as every missing value is).
EDUCATION_RANK: Final = {
    level: rank for rank, level in enumerate(EDUCATION_LEVELS) if level != UNKNOWN
}
ONE_HOT: Final = "="
# Actions a leaf offers in turn when the first is not open to the client.
LEAF_CHOICES: Final = 3
CLIP: Final = 0.01

_AND: Final = {"fi": " ja ", "sv": " och ", "en": " and "}
_OTHERWISE: Final = {"fi": "muuten", "sv": "annars", "en": "otherwise"}
_EVERYONE: Final = {"fi": "Kaikille", "sv": "För alla", "en": "Everyone"}
_OR_ELSE: Final = {
    "fi": "tai, jos ei avoinna, ",
    "sv": "eller, om den inte är öppen, ",
    "en": "or, when not open, ",
}


class NotFittedError(ValueError):
    """The policy tree was used before `fit`."""


def tree_columns(frame: pd.DataFrame) -> list[str]:
    """The readable columns the tree may split on, as far as the frame has them."""
    columns = [c for c in (*NUMERIC_FIELDS, *BOOLEAN_FIELDS) if c in frame.columns]
    if "education_level" in frame.columns:
        columns.append("education_level")
    if "residence_basis" in frame.columns:
        columns += [f"residence_basis{ONE_HOT}{v}" for v in RESIDENCE_BASES if v != UNKNOWN]
    columns += [str(c) for c in frame.columns if str(c).startswith(COMPLETED_PREFIX)]
    return columns


def encode(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The tree's matrix: numbers as they are, yes/no as 1/0, education as its rank,
    one column per basis of residence; missing values as -1."""
    out = np.full((len(frame), len(columns)), -1.0)
    for j, name in enumerate(columns):
        if ONE_HOT in name:
            field, value = name.split(ONE_HOT, 1)
            out[:, j] = (frame[field].astype(object) == value).to_numpy(dtype=float)
        elif name == "education_level":
            ranks = frame[name].astype(object).map(EDUCATION_RANK)
            out[:, j] = ranks.fillna(-1).to_numpy(dtype=float)
        else:
            values = pd.to_numeric(frame[name].astype("Float64"), errors="coerce")
            out[:, j] = values.fillna(-1).to_numpy(dtype=float)
    return out


class PolicyTree:
    """A depth-limited tree imitating a recommender; see the module docstring."""

    def __init__(
        self, *, max_depth: int = 3, min_leaf: int = 5, min_leaf_share: float = 0.01, seed: int = 0
    ) -> None:
        self.max_depth = max_depth
        self.min_leaf = min_leaf
        self.min_leaf_share = min_leaf_share
        self.seed = seed

    def fit(
        self,
        frame: pd.DataFrame,
        recommended: np.ndarray,
        weights: np.ndarray,
        actions: Sequence[str],
    ) -> Self:
        """Fit to `recommended` (action indices) with sample `weights` (>= 0)."""
        if not 1 <= self.max_depth <= 4:
            raise ValueError(
                f"max_depth must be 1 to 4 for rules a person can read, got {self.max_depth}"
            )
        self.actions_ = tuple(actions)
        self.columns_ = tree_columns(frame)
        X = encode(frame, self.columns_)
        min_leaf = max(self.min_leaf, math.ceil(self.min_leaf_share * len(frame)))
        self.tree_ = DecisionTreeClassifier(
            max_depth=self.max_depth, min_samples_leaf=min_leaf, random_state=self.seed
        ).fit(X, np.asarray(recommended), sample_weight=np.asarray(weights, dtype=float))
        classes = self.tree_.classes_
        values = self.tree_.tree_.value[:, 0, :]  # weighted class shares per node
        self.leaf_actions_ = {
            int(node): [
                int(classes[i])
                for i in np.argsort(-values[node], kind="stable")[:LEAF_CHOICES]
                if values[node, i] > 0
            ]
            for node in np.flatnonzero(self.tree_.tree_.children_left == -1)
        }
        return self

    def _check(self) -> None:
        if not hasattr(self, "tree_"):
            raise NotFittedError("call PolicyTree.fit before predict or rules")

    def predict(self, frame: pd.DataFrame, eligible: np.ndarray) -> np.ndarray:
        """Each decision point's action: its leaf's first action open to the client, else
        no new service."""
        self._check()
        leaves = self.tree_.apply(encode(frame, self.columns_))
        reference = self.actions_.index(NO_NEW_SERVICE)
        out = np.full(len(frame), reference, dtype=np.intp)
        chosen = np.zeros(len(frame), dtype=bool)
        for leaf, choices in self.leaf_actions_.items():
            rows = leaves == leaf
            for action in choices:
                take = rows & ~chosen & eligible[:, action]
                out[take] = action
                chosen |= take
        return out

    def _same_actions(self, node: int) -> list[int] | None:
        """The actions every leaf under `node` offers, when they are all the same."""
        tree = self.tree_.tree_
        if tree.children_left[node] == -1:
            return self.leaf_actions_[node]
        left = self._same_actions(int(tree.children_left[node]))
        right = self._same_actions(int(tree.children_right[node]))
        return left if left is not None and left == right else None

    def rules(self, service_names: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
        """One rule per leaf: its conditions and actions in words (fi, sv, en), and the
        weighted share of decision points it covers. A split whose sides offer the same
        actions is left out of the words (it changes nothing a client gets)."""
        self._check()
        tree = self.tree_.tree_
        out: list[dict[str, Any]] = []

        def walk(node: int, path: list[tuple[str, bool, float]]) -> None:
            if tree.children_left[node] == -1 or self._same_actions(node) is not None:
                out.append(self._rule(node, path, service_names))
                return
            name = self.columns_[int(tree.feature[node])]
            threshold = float(tree.threshold[node])
            walk(int(tree.children_left[node]), [*path, (name, True, threshold)])
            walk(int(tree.children_right[node]), [*path, (name, False, threshold)])

        walk(0, [])
        return out

    def _rule(
        self, node: int, path: list[tuple[str, bool, float]], names: Mapping[str, Mapping[str, str]]
    ) -> dict[str, Any]:
        # The tightest bound per column and side reads best ("Finnish A1 or lower" once).
        bounds: dict[tuple[str, bool], float] = {}
        for name, below, threshold in path:
            key = (name, below)
            bounds[key] = (
                min(bounds.get(key, threshold), threshold)
                if below
                else max(bounds.get(key, threshold), threshold)
            )
        conditions: list[dict[str, Any]] = [
            {"field": n, "at_most": b, "threshold": t} for (n, b), t in bounds.items()
        ]
        actions = [self.actions_[a] for a in self._same_actions(node) or []]
        text = {}
        for lang in ("fi", "sv", "en"):
            said = _AND[lang].join(
                condition_text(c["field"], c["at_most"], c["threshold"], lang, names)
                for c in conditions
            )
            first = (
                _name(actions[0], names, lang) if actions else _name(NO_NEW_SERVICE, names, lang)
            )
            rest = "".join(f" ({_OR_ELSE[lang]}{_name(a, names, lang)})" for a in actions[1:2])
            text[lang] = f"{said or _EVERYONE[lang]} → {first}{rest}"
        return {
            "conditions": conditions,
            "actions": actions,
            "share": float(
                self.tree_.tree_.weighted_n_node_samples[node]
                / self.tree_.tree_.weighted_n_node_samples[0]
            ),
            "text": text,
        }


def _name(action: str, names: Mapping[str, Mapping[str, str]], lang: str) -> str:
    return names.get(action, {}).get(lang, action)


def condition_text(
    field: str, at_most: bool, threshold: float, lang: str, names: Mapping[str, Mapping[str, str]]
) -> str:
    """One split in words: "Finnish level A1 or lower", "degree recognition not completed"."""
    yes, no = {"fi": ("kyllä", "ei"), "sv": ("ja", "nej"), "en": ("yes", "no")}[lang]
    words = {
        "fi": (
            "enintään",
            "yli",
            "ei",
            "tai heikompi",
            "tai parempi",
            "tai alempi",
            "tai ylempi",
            "suoritettu",
            "ei suoritettu",
            "ei tiedossa",
        ),
        "sv": (
            "högst",
            "över",
            "inte",
            "eller lägre",
            "eller bättre",
            "eller lägre",
            "eller högre",
            "slutförd",
            "inte slutförd",
            "okänd",
        ),
        "en": (
            "at most",
            "over",
            "not",
            "or lower",
            "or better",
            "or lower",
            "or higher",
            "completed",
            "not completed",
            "unknown",
        ),
    }[lang]
    most, over, not_, lower, better, below_edu, above_edu, done, not_done, unknown = words
    label = FIELD_LABELS.get(field, {}).get(lang, field)
    if ONE_HOT in field:
        base, value = field.split(ONE_HOT, 1)
        value_label = VALUE_LABELS.get(base, {}).get(value, {}).get(lang, value)
        base_label = FIELD_LABELS.get(base, {}).get(lang, base)
        return f"{base_label} {not_ + ' ' if at_most else ''}{value_label}"
    if field.startswith(COMPLETED_PREFIX):
        service = _name(field.removeprefix(COMPLETED_PREFIX), names, lang)
        if threshold < 1:
            return f"{service} {not_done if at_most else done}"
        return f"{service} {most if at_most else over} {math.floor(threshold)}×"
    if field in BOOLEAN_FIELDS:
        return f"{label}: {no if at_most else yes}"
    if field == "finnish_level":
        step = math.floor(threshold)
        if step < 0:
            return f"{label} {unknown}" if at_most else f"{label} {CEFR_LEVELS[0]} {better}"
        return (
            f"{label} {CEFR_LEVELS[step]} {lower}"
            if at_most
            else f"{label} {CEFR_LEVELS[min(step + 1, 6)]} {better}"
        )
    if field == "education_level":
        step = math.floor(threshold)
        levels = [lvl for lvl in EDUCATION_LEVELS if lvl != UNKNOWN]
        if step < 0:
            return (
                f"{label} {unknown}"
                if at_most
                else f"{label} {VALUE_LABELS['education_level'][levels[0]][lang]} {above_edu}"
            )
        if at_most:
            return f"{label} {VALUE_LABELS['education_level'][levels[step]][lang]} {below_edu}"
        return f"{label} {VALUE_LABELS['education_level'][levels[min(step + 1, len(levels) - 1)]][lang]} {above_edu}"
    shown = f"{threshold:.1f}".replace(".", "," if lang != "en" else ".")
    return f"{label} {most if at_most else over} {shown}"


def value_share(v_hist: float, v_rec: float, v_tree: float) -> float | None:
    """(V_tree - V_hist) / (V_rec - V_hist): the share of the full policy's gain kept."""
    room = v_rec - v_hist
    if not math.isfinite(room) or abs(room) < 1e-9:
        return None
    return (v_tree - v_hist) / room


def policy_summary(
    tree: PolicyTree,
    frame: pd.DataFrame,
    *,
    eligible: np.ndarray,
    y: np.ndarray,
    taken: np.ndarray,
    mu: np.ndarray,
    propensity: np.ndarray,
    recommended: np.ndarray,
    service_names: Mapping[str, Mapping[str, str]],
    truth: np.ndarray | None = None,
) -> dict[str, Any]:
    """The tree's rules and its value on the rows given (held-out clients): the doubly-robust
    values of history, of the full policy and of the rules, the share of the full policy's gain
    the rules keep, and the same on known truth when given (simulation only)."""
    actions = tree.predict(frame, eligible)
    v_hist = float(np.mean(y)) if len(y) else float("nan")

    def dr_value(policy: np.ndarray) -> float:
        terms = dr_terms(
            y=y, taken=taken, mu=mu, propensity=propensity, recommended=policy, clip=CLIP
        )
        return float(np.mean(terms)) if len(terms) else float("nan")

    v_rec = dr_value(recommended)
    v_tree = dr_value(actions)
    summary: dict[str, Any] = {
        "method": "policy_tree",
        "max_depth": tree.max_depth,
        "leaves": len(tree.leaf_actions_),
        "rules": tree.rules(service_names),
        "rows": len(y),
        "agreement": float(np.mean(actions == recommended)) if len(y) else None,
        "v_hist": v_hist,
        "v_rec": v_rec,
        "v_tree": v_tree,
        "share_of_gain": value_share(v_hist, v_rec, v_tree),
    }
    if truth is not None:
        full = policy_values(truth=truth, eligible=eligible, taken=taken, recommended=recommended)
        rules = policy_values(truth=truth, eligible=eligible, taken=taken, recommended=actions)
        summary["truth"] = {
            "v_hist": full.v_hist,
            "v_rec": full.v_rec,
            "v_tree": rules.v_rec,
            "share_of_gain": value_share(full.v_hist, full.v_rec, rules.v_rec),
        }
    return summary


def imitation_weights(mu: np.ndarray, eligible: np.ndarray, recommended: np.ndarray) -> np.ndarray:
    """How much following the recommendation matters at each point: the chance under it
    minus the mean chance over the eligible actions (at least a small floor)."""
    masked = np.where(eligible, mu, np.nan)
    mean = np.nanmean(masked, axis=1)
    chosen = mu[np.arange(len(mu)), recommended]
    return np.maximum(np.nan_to_num(chosen - mean), 1e-3)
