"""Outcomes per service and their doubly-robust effects, overall and per client group.

The rows are decision points whose outcome window is complete and whose
action is known, scored by a router (`ScoredRows`): the outcome model's
chance of a good outcome under each action (``mu``) and the propensity of
each action (the support model's). Per service:

- the observed rate of a good outcome among the decision points that took it;
- the doubly-robust (AIPW) average effect against ``no_new_service`` over the
  points where both were eligible, with a cluster-bootstrap 95 % interval
  (`model.evaluation.effects.average_effect`); hidden when fewer than k
  points took either;
- the sensitivity bound: how far that effect could move if caseworkers chose
  on something the data does not record that changes the odds of a choice by
  up to a factor Lambda (the marginal sensitivity model of
  `model.evaluation.sensitivity.policy_value_sensitivity`, applied to the
  value of the service and of no new service on the same points: the effect
  lies between the lower end of one minus the upper end of the other).

`group_effects` gives the same effect per group of each group field, with a
cluster-robust normal interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from model.evaluation.effects import average_effect, effect_terms
from model.evaluation.sensitivity import policy_value_sensitivity
from model.services.groups import field_label, group_label, published_groups
from model.vocab import NO_NEW_SERVICE

# The Lambda of the published sensitivity bound: odds of a choice off by up to 1.5x.
SENSITIVITY_LAMBDA: Final = 1.5
# Propensities below this are clipped in the doubly-robust terms (as in evaluation).
CLIP: Final = 0.01
# The normal quantile of a two-sided 95 % interval.
Z_95: Final = 1.959963984540054


@dataclass(frozen=True)
class ScoredRows:
    """Decision points with a known action and a complete outcome window, scored.

    `taken` are action indices into `actions`; `mu` (the outcome model's
    chances, NaN where not needed: outside `eligible`), `propensity` and
    `eligible` are (n, A); `clients` the client of each point (any hashable
    ids; integer codes are fastest), the bootstrap's clusters.
    """

    actions: tuple[str, ...]
    taken: np.ndarray
    y: np.ndarray
    mu: np.ndarray
    propensity: np.ndarray
    eligible: np.ndarray
    clients: np.ndarray

    @property
    def reference(self) -> int:
        return self.actions.index(NO_NEW_SERVICE)

    def comparable(self, action: int) -> np.ndarray:
        """The points where `action` and no new service were both eligible."""
        return self.eligible[:, action] & self.eligible[:, self.reference]


@dataclass(frozen=True)
class _Pair:
    """One service against no new service on the comparable points, as a two-action
    problem (0: the service, 1: no new service, 2: anything else)."""

    index: np.ndarray  # positions of the comparable points among all rows
    y: np.ndarray
    taken: np.ndarray
    mu: np.ndarray
    propensity: np.ndarray
    clients: np.ndarray


def _pair(rows: ScoredRows, action: int) -> _Pair:
    index = np.flatnonzero(rows.comparable(action))
    ref = rows.reference
    taken = rows.taken[index]
    n = len(index)
    return _Pair(
        index=index,
        y=rows.y[index],
        taken=np.where(taken == action, 0, np.where(taken == ref, 1, 2)),
        mu=np.column_stack([rows.mu[index, action], rows.mu[index, ref], np.zeros(n)]),
        propensity=np.column_stack(
            [rows.propensity[index, action], rows.propensity[index, ref], np.ones(n)]
        ),
        clients=rows.clients[index],
    )


def _effect(pair: _Pair, k: int, n_boot: int, seed: int) -> dict[str, Any]:
    effect = average_effect(
        y=pair.y,
        taken=pair.taken,
        mu=pair.mu,
        propensity=pair.propensity,
        action=0,
        reference=1,
        clusters=pair.clients,
        min_count=k,
        n_boot=n_boot,
        seed=seed,
        clip=CLIP,
    )
    return {"effect": effect.value, "low": effect.low, "high": effect.high}


def _sensitivity(pair: _Pair, lam: float, n_boot: int, seed: int) -> dict[str, Any]:
    ends = {}
    for which in (0, 1):
        analysis = policy_value_sensitivity(
            y=pair.y,
            taken=pair.taken,
            propensity=pair.propensity,
            recommended=np.full(len(pair.y), which),
            clusters=pair.clients,
            mu=pair.mu,
            lambdas=(lam,),
            n_boot=n_boot,
            seed=seed,
            clip=CLIP,
            break_even=False,
        )
        ends[which] = analysis.bounds[0]
    return {
        "lambda": lam,
        "low": ends[0].low - ends[1].high,
        "high": ends[0].high - ends[1].low,
    }


def service_outcomes(
    rows: ScoredRows,
    *,
    k: int,
    n_boot: int = 200,
    seed: int = 0,
    sensitivity_lambda: float = SENSITIVITY_LAMBDA,
    sensitivity_boot: int = 100,
) -> dict[str, dict[str, Any]]:
    """Per action (no new service first): decision points, clients, observed rate and,
    for services, the effect against no new service with its interval and sensitivity
    bound. None where hidden or not computable; `suppressed` names what the small-cell
    rule hid."""
    out: dict[str, dict[str, Any]] = {}
    order = [rows.reference, *[j for j in range(len(rows.actions)) if j != rows.reference]]
    for j in order:
        took = rows.taken == j
        n_clients = len(np.unique(rows.clients[took]))
        record: dict[str, Any] = {
            "decisions": int(took.sum()),
            "clients": n_clients,
            "suppressed": [],
        }
        if 0 < n_clients < k:
            record.update(decisions=None, clients=None, observed_rate=None)
            record["suppressed"] += ["decisions", "clients", "observed_rate"]
        else:
            record["observed_rate"] = float(rows.y[took].mean()) if took.any() else None
        if j != rows.reference:
            pair = _pair(rows, j)
            effect = _effect(pair, k, n_boot, seed)
            record.update(effect)
            record["sensitivity"] = None
            if not np.isfinite(effect["effect"]):
                if (pair.taken == 0).any():
                    record["suppressed"] += ["effect"]
            elif sensitivity_boot > 0:
                record["sensitivity"] = _sensitivity(
                    pair, sensitivity_lambda, sensitivity_boot, seed
                )
        out[rows.actions[j]] = record
    return out


def clustered_interval(
    terms: np.ndarray, clusters: np.ndarray, z: float = Z_95
) -> tuple[float, float, float]:
    """Mean of `terms` with a cluster-robust (sandwich) normal interval: the variance of a
    mean of clustered rows, sum_c (S_c - N_c m)^2 / n^2 (Liang & Zeger 1986)."""
    n = len(terms)
    mean = float(terms.mean())
    codes, _ = pd.factorize(clusters)
    sums = np.bincount(codes, weights=terms)
    sizes = np.bincount(codes)
    se = math.sqrt(float(np.sum((sums - sizes * mean) ** 2))) / n
    return mean, mean - z * se, mean + z * se


def group_effects(
    rows: ScoredRows,
    groups: Mapping[str, np.ndarray],
    *,
    k: int,
) -> list[dict[str, Any]]:
    """Per group field, per published group: clients and, per service, the effect
    against no new service with its interval (None when fewer than k points took the
    service or no new service in the group). A pool of tiny categories that stays
    below k clients is listed with every figure hidden.

    The effect is the same doubly-robust estimate as overall, on the group's
    points; its interval is the cluster-robust normal one (`clustered_interval`),
    which costs one pass over the points for the hundreds of cells a report has.
    """
    services = [j for j in range(len(rows.actions)) if j != rows.reference]
    pairs = {}
    for j in services:
        pair = _pair(rows, j)
        terms = effect_terms(
            y=pair.y,
            taken=pair.taken,
            mu=pair.mu,
            propensity=pair.propensity,
            action=0,
            reference=1,
            clip=CLIP,
        )
        pairs[j] = (pair, terms)
    sections: list[dict[str, Any]] = []
    for name, values in groups.items():
        published = published_groups(values, rows.clients, k)
        entries: list[dict[str, Any]] = []
        for group in _ordered(published):
            in_group = published == group
            n_clients = len(np.unique(rows.clients[in_group]))
            effects: dict[str, Any] = {}
            for j in services:
                pair, terms = pairs[j]
                mask = in_group[pair.index]
                took, reference = pair.taken[mask] == 0, pair.taken[mask] == 1
                if n_clients < k or min(int(took.sum()), int(reference.sum())) < k:
                    effects[rows.actions[j]] = {"effect": None, "low": None, "high": None}
                    continue
                value, low, high = clustered_interval(terms[mask], pair.clients[mask])
                effects[rows.actions[j]] = {"effect": value, "low": low, "high": high}
            entries.append(
                {
                    "group": group,
                    "label": group_label(group),
                    "clients": n_clients if n_clients >= k else None,
                    "effects": effects,
                }
            )
        sections.append({"name": name, "label": field_label(name), "groups": entries})
    return sections


def _ordered(values: np.ndarray) -> list[str]:
    """Groups largest first, with ``other`` and ``unknown`` last."""
    names, counts = np.unique(values.astype(str), return_counts=True)
    order = sorted(
        zip(names, counts, strict=True),
        key=lambda item: (item[0] in ("other", "unknown"), -item[1], item[0]),
    )
    return [str(name) for name, _ in order]
