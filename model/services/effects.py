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

`group_effects` gives the same effect per group of each group field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from model.evaluation.effects import average_effect
from model.evaluation.sensitivity import policy_value_sensitivity
from model.services.groups import field_label, group_label, published_groups
from model.vocab import NO_NEW_SERVICE

# The Lambda of the published sensitivity bound: odds of a choice off by up to 1.5x.
SENSITIVITY_LAMBDA: Final = 1.5
# Propensities below this are clipped in the doubly-robust terms (as in evaluation).
CLIP: Final = 0.01


@dataclass(frozen=True)
class ScoredRows:
    """Decision points with a known action and a complete outcome window, scored.

    `taken` are action indices into `actions`; `mu`, `propensity` and
    `eligible` are (n, A); `clients` the client ids (the bootstrap's clusters);
    `recommended` Polku's first-ranked action.
    """

    actions: tuple[str, ...]
    taken: np.ndarray
    y: np.ndarray
    mu: np.ndarray
    propensity: np.ndarray
    eligible: np.ndarray
    clients: np.ndarray
    recommended: np.ndarray

    @property
    def reference(self) -> int:
        return self.actions.index(NO_NEW_SERVICE)

    def take(self, mask: np.ndarray) -> ScoredRows:
        return ScoredRows(
            self.actions,
            self.taken[mask],
            self.y[mask],
            self.mu[mask],
            self.propensity[mask],
            self.eligible[mask],
            self.clients[mask],
            self.recommended[mask],
        )

    def comparable(self, action: int) -> np.ndarray:
        """The points where `action` and no new service were both eligible."""
        return self.eligible[:, action] & self.eligible[:, self.reference]


def _effect(rows: ScoredRows, action: int, k: int, n_boot: int, seed: int) -> dict[str, Any]:
    where = rows.comparable(action)
    part = rows.take(where)
    effect = average_effect(
        y=part.y,
        taken=part.taken,
        mu=part.mu,
        propensity=part.propensity,
        action=action,
        reference=rows.reference,
        clusters=part.clients,
        min_count=k,
        n_boot=n_boot,
        seed=seed,
        clip=CLIP,
    )
    return {"effect": effect.value, "low": effect.low, "high": effect.high}


def _sensitivity(
    rows: ScoredRows, action: int, lam: float, n_boot: int, seed: int
) -> dict[str, Any]:
    part = rows.take(rows.comparable(action))
    ends = {}
    for which, index in (("service", action), ("reference", rows.reference)):
        analysis = policy_value_sensitivity(
            y=part.y,
            taken=part.taken,
            propensity=part.propensity,
            recommended=np.full(len(part.y), index),
            clusters=part.clients,
            mu=part.mu,
            lambdas=(lam,),
            n_boot=n_boot,
            seed=seed,
            clip=CLIP,
            break_even=False,
        )
        ends[which] = analysis.bounds[0]
    return {
        "lambda": lam,
        "low": ends["service"].low - ends["reference"].high,
        "high": ends["service"].high - ends["reference"].low,
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
            effect = _effect(rows, j, k, n_boot, seed)
            record.update(effect)
            record["sensitivity"] = None
            if effect["effect"] is None or not np.isfinite(effect["effect"]):
                if (rows.comparable(j) & took).any():
                    record["suppressed"] += ["effect"]
            elif sensitivity_boot > 0:
                record["sensitivity"] = _sensitivity(
                    rows, j, sensitivity_lambda, sensitivity_boot, seed
                )
        out[rows.actions[j]] = record
    return out


def group_effects(
    rows: ScoredRows,
    groups: Mapping[str, np.ndarray],
    *,
    k: int,
    n_boot: int = 200,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Per group field, per published group: clients and, per service, the effect
    against no new service with its interval (None when fewer than k points took the
    service or no new service in the group). A pool of tiny categories that stays
    below k clients is listed with every figure hidden."""
    sections: list[dict[str, Any]] = []
    services = [j for j in range(len(rows.actions)) if j != rows.reference]
    for name, values in groups.items():
        published = published_groups(values, rows.clients, k)
        entries: list[dict[str, Any]] = []
        for group in _ordered(published):
            part = rows.take(published == group)
            n_clients = len(np.unique(part.clients))
            effects: dict[str, Any] = {}
            for j in services:
                effects[rows.actions[j]] = (
                    _effect(part, j, k, n_boot, seed)
                    if n_clients >= k
                    else {"effect": None, "low": None, "high": None}
                )
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
