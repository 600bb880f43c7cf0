"""Correcting the served model's service effects with the assignment units' habits.

When the run configuration declares `assignment_units` (the office, team or
caseworker that handled a client), their habits are instruments: they move
clients between services for reasons unrelated to how ready the clients are
(`model.instruments`). After the learner is chosen, its residuals on the
training and validation clients are set against what each unit adds to the
historical policy; the per-service bias this shows, shrunk together by
empirical Bayes (`model.instruments.pooled_shrinkage`), is taken off the
service's chance (`Router.adjustment`).

The units never enter the outcome models (they would learn each unit's
selection as if it were an effect) nor the propensity model, whose
predictions say what the features alone would lead a caseworker to. A unit
that predicts outcomes beyond the services it assigns (a local labour
market) fails the overidentification test: the run warns, and the unit's
remaining direct effect widens every correction's standard error, so the
corrections that rest on it shrink.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from model.decision_points.points import DecisionPoints
from model.instruments import UnitCorrection, unit_correction
from model.json_values import json_value
from model.learners.outcome import OutcomeLearner
from model.locale_numbers import format_points
from model.vocab import NO_NEW_SERVICE
from training.pipeline.fit import FittedModels
from training.pipeline.split import Split
from training.router_figures import action_indices, evaluable_rows

logger = logging.getLogger(__name__)

# Largest correction of one service's chance, in probability points. No
# service's effect or selection bias measured on the simulated worlds comes
# near it; beyond it lies the noise of a few units moving several services,
# which would leave served chances that no longer mean what they say.
MAX_ADJUSTMENT: Final = 0.25
# Smallest correction the notes and the model card name.
SHOWN_ADJUSTMENT: Final = 0.005


@dataclass(frozen=True)
class UnitStep:
    """The correction found (None without declared units) and what to tell the data scientist."""

    adjustment: np.ndarray | None
    correction: UnitCorrection | None
    note: str

    def record(self, actions: tuple[str, ...]) -> dict[str, Any] | None:
        """What the model card and metadata keep: per service bias, SE, shrunk value."""
        if self.correction is None:
            return None
        c = self.correction
        shrunk = c.shrunk()
        return {
            "note": self.note,
            "used": self.adjustment is not None,
            "units": c.n_units,
            "rows": c.n_rows,
            "overidentification": {
                "j": c.j_statistic,
                "degrees": c.j_degrees,
                "p_value": c.j_p_value,
            },
            "services": {
                action: {
                    "bias": float(c.bias[j]),
                    "standard_error": json_value(float(c.standard_error[j])),
                    "moved_by_units": float(c.first_stage[j]),
                    "adjustment": float(shrunk[j]) if self.adjustment is not None else 0.0,
                }
                for j, action in enumerate(actions)
                if action != NO_NEW_SERVICE
            },
        }


def moved_services(actions: tuple[str, ...], adjustment: np.ndarray) -> list[str]:
    """ "service -0.012" for each service whose chance a correction moves by half a point or more."""
    return [
        f"{action} {-adjustment[j]:+.3f}"
        for j, action in enumerate(actions)
        if abs(adjustment[j]) >= SHOWN_ADJUSTMENT
    ]


def listed_points(corrected: Mapping[str, float]) -> dict[str, str]:
    """Corrections as the model card lists them ("service −1,2 %-yksikköä"), in Finnish,
    Swedish and English: the change to each service's chance, so minus the correction."""
    return {
        language: ", ".join(
            f"{k} {format_points(-v, language, signed=True, unit='short')}"
            for k, v in corrected.items()
        )
        for language in ("fi", "sv", "en")
    }


def units_limitation(record: dict[str, Any]) -> dict[str, str]:
    """The model card's note on the units' check of the services' effects (fi, sv, en)."""
    corrected = {
        service: entry["adjustment"]
        for service, entry in record["services"].items()
        if abs(entry["adjustment"]) >= SHOWN_ADJUSTMENT
    }
    listed = listed_points(corrected)
    if corrected:
        fi = (
            "Seuraavien palveluiden arviota on korjattu, koska niihin valikoitui muita "
            f"valmiimpia (tai vähemmän valmiita) asiakkaita: {listed['fi']}"
        )
        sv = (
            "Dessa tjänsters chanser har korrigerats eftersom kunder som var mer (eller mindre) "
            f"redo än andra valdes till dem: {listed['sv']}"
        )
        en = (
            "These services' chances were corrected because clients more (or less) ready "
            f"than others were chosen for them: {listed['en']}"
        )
    else:
        fi = "Yksiköiden erot eivät osoittaneet kohinaa suurempaa valikoitumista."
        sv = "Enheterna visade inget urval utöver bruset."
        en = "The units showed no selection beyond their noise."
    return {
        "id": "selection_corrected_by_units",
        "fi": "Palveluiden vaikutukset on tarkistettu asiakkaita käsitelleiden yksiköiden "
        "(toimipiste, tiimi tai työntekijä) erojen avulla. " + fi,
        "sv": "Tjänsternas effekter har kontrollerats mot skillnaderna mellan de enheter "
        "(kontor, team eller handläggare) som hanterade kunderna. " + sv,
        "en": "The services' effects were checked against the differences between the "
        "units (office, team or caseworker) that handled the clients. " + en,
    }


def unit_keys(dp: DecisionPoints, clients: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Each decision point's unit: the declared columns of its client, joined."""
    table = clients.set_index(clients["client_id"].astype(str))
    ids = dp.frame["client_id"].astype(str)
    parts = [ids.map(table[column].astype(str)).fillna("unknown") for column in columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + "|" + part
    return joined.to_numpy(dtype=object)


def correct_with_units(
    *,
    dp: DecisionPoints,
    clients: pd.DataFrame,
    units: tuple[str, ...],
    split: Split,
    models: FittedModels,
    learner: OutcomeLearner,
) -> UnitStep:
    """The served learner's per-service bias as the units show it (module docstring)."""
    if not units:
        return UnitStep(None, None, "no assignment units declared")
    keys = unit_keys(dp, clients, units)
    taken = action_indices(dp.frame, dp.actions)
    eligible = dp.eligibility()
    rows = evaluable_rows(dp, split.train | split.validation)
    n = int(rows.sum())
    X = models.X[rows]
    y = dp.frame["label"].to_numpy(dtype=float)[rows]
    p = learner.predict(X)
    correction = unit_correction(
        residual=y - p[np.arange(n), taken[rows]],
        taken=taken[rows],
        propensity=models.propensity.predict_proba(X, eligible[rows]),
        units=keys[rows],
        reference=dp.actions.index(NO_NEW_SERVICE),
        clusters=dp.frame["client_id"].astype(str).to_numpy()[rows],
    )
    adjustment = np.clip(correction.shrunk(), -MAX_ADJUSTMENT, MAX_ADJUSTMENT)
    warning = ""
    if correction.rejected:
        warning = (
            f"; warning: the units predict outcomes beyond the services they assign "
            f"(overidentification p = {correction.j_p_value:.2g}; unit effects of about "
            f"{100 * correction.extra['unit_scatter_sd']:.1f} points), so they may not be valid "
            "instruments (a local labour market?): corrections that rest on them are reduced"
        )
        logger.warning(warning[2:])
    moved = moved_services(dp.actions, adjustment)
    note = f"{correction.n_units} assignment units ({', '.join(units)}) as instruments: " + (
        "chances corrected for selection the data does not show: " + ", ".join(moved)
        if moved
        else "no service's effect differs from what the units show beyond its noise"
    )
    logger.info(note)
    return UnitStep(adjustment, correction, note)
