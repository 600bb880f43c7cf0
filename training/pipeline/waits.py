"""Correcting the served model's service effects with what clients did while they waited.

Reviews that record their plan show, for each planned service, how fast its
clients found work or education before the service began: that speed is
their readiness, not the service's effect (`model.negative_control`). After
the learner is chosen, each plan's readiness ratio, shrunk by its own
standard error, is turned into the part of the service's chance that the
takers' readiness accounts for, and taken off it (`Router.adjustment`).

Only the training and validation clients' reviews are read. Without recorded
plans (or with too few per service) nothing is corrected, and the run says
so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import pandas as pd

from model.catalogue import Catalogue
from model.config import RunConfig, WaitsCorrection
from model.decision_points.conversions import day_number
from model.decision_points.features import feature_frame, feature_values
from model.decision_points.histories import ClientHistories
from model.decision_points.labels import extract_date
from model.decision_points.points import DecisionPoints
from model.features import feature_catalogue
from model.json_values import json_value
from model.learners.outcome import OutcomeLearner
from model.negative_control import WaitSelection, chance_adjustment, wait_selection
from model.vocab import NO_NEW_SERVICE
from training.pipeline.fit import FittedModels
from training.pipeline.split import Split
from training.pipeline.units import SHOWN_ADJUSTMENT, UnitStep, listed_points, moved_services
from training.router_figures import evaluable_rows

logger = logging.getLogger(__name__)

# Largest correction of one service's chance, in probability points.
MAX_ADJUSTMENT: Final = 0.5
# A plan not begun within a year is read as given up.
LONGEST_WAIT_DAYS: Final = 365
# `half_where_clear`: the share of a correction served, and how many standard
# errors from zero its readiness ratio must be.
CLEAR_SHARE: Final = 0.5
CLEAR_Z: Final = 2.0


@dataclass(frozen=True)
class PlannedWaits:
    """Reviews with a recorded plan: the plan, the wait's length and whether it ended in work."""

    codes: np.ndarray
    days: np.ndarray
    plans: np.ndarray  # index into the actions
    events: np.ndarray
    exposure_days: np.ndarray


@dataclass(frozen=True)
class WaitStep:
    """The correction found (None when it cannot be measured) and what to tell the data scientist."""

    adjustment: np.ndarray | None
    selection: WaitSelection | None
    note: str
    # Standard error of each action's adjustment, in probability points (inf: none).
    standard_error: np.ndarray | None = None
    # How much of the adjustment the ranking takes (`correct_with_waits`).
    mode: WaitsCorrection = "full"

    @property
    def used(self) -> bool:
        return self.mode != "off"

    def with_mode(self, mode: WaitsCorrection) -> WaitStep:
        """The same measurement, served as `mode` says."""
        if mode != "off" or self.adjustment is None:
            return replace(self, mode=mode)
        return replace(
            self,
            mode=mode,
            note=self.note + " (reported only: correct_with_waits is off, the ranking is not "
            "corrected)",
        )

    @property
    def applied(self) -> np.ndarray | None:
        """The part of the adjustment the ranking takes (None: nothing)."""
        if self.adjustment is None or not self.used:
            return None
        if self.mode == "full" or self.selection is None:
            return self.adjustment
        with np.errstate(invalid="ignore", divide="ignore"):
            z = self.selection.log_ratio / self.selection.standard_error
        clear = np.abs(np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)) > CLEAR_Z
        return np.where(clear, CLEAR_SHARE * self.adjustment, 0.0)

    def record(self) -> dict[str, Any] | None:
        """What the model card and metadata keep: per service ratio, SE and correction."""
        if self.selection is None:
            return None
        s = self.selection
        shrunk = s.shrunk()
        applied = self.applied
        return {
            "note": self.note,
            "used": self.used and self.adjustment is not None,
            "mode": self.mode,
            "prior_sd": s.prior_sd,
            "services": {
                action: {
                    "planned_reviews": int(s.reviews[j]),
                    "events_in_wait": int(s.events[j]),
                    "log_readiness_ratio": json_value(float(s.log_ratio[j])),
                    "standard_error": json_value(float(s.standard_error[j])),
                    "shrunk": float(shrunk[j]),
                    "adjustment": float(self.adjustment[j]) if self.adjustment is not None else 0.0,
                    "applied": float(applied[j]) if applied is not None else 0.0,
                }
                for j, action in enumerate(s.actions)
            },
        }


def planned_waits(
    histories: ClientHistories,
    *,
    actions: tuple[str, ...],
    config: RunConfig,
    keep_clients: np.ndarray,
) -> PlannedWaits:
    """Every recorded plan of the kept clients and what happened before its service began.

    A wait runs from the review to the first of: a service start, the next
    review, `LONGEST_WAIT_DAYS` and the extract date; its event is the first
    spell of the target's statuses that begins in it. No service runs in a
    wait, whatever was planned, so all of it is time before any effect.
    """
    planned = histories.episode_planned
    action_index = {action: j for j, action in enumerate(actions)}
    plan_codes = np.array([action_index.get(p, -1) if p is not None else -1 for p in planned])
    rows = histories.episode_is_review & (plan_codes >= 0)
    rows &= keep_clients[np.maximum(histories.episode_code, 0)] & (histories.episode_code >= 0)
    codes = histories.episode_code[rows]
    days = histories.episode_start[rows]
    extract = extract_date(histories, config)
    extract_day = np.inf if extract is None else day_number(extract)
    starts = histories.service_starts
    reviews = histories.review_starts
    targets = histories.target_starts(config.target_statuses)
    next_start = starts.first_from(codes, days)
    next_review = reviews.first_from(codes, days, strictly_after=True)
    end = np.minimum.reduce(
        [next_start, next_review, days + LONGEST_WAIT_DAYS, np.full(len(days), extract_day)]
    )
    first_event = targets.first_from(codes, days)
    event = first_event < end
    exposure = np.where(event, first_event - days + 0.5, end - days)
    return PlannedWaits(codes, days, plan_codes[rows], event.astype(float), exposure)


def correct_with_waits(
    *,
    dp: DecisionPoints,
    tables: Any,
    catalogue: Catalogue,
    config: RunConfig,
    split: Split,
    models: FittedModels,
    learner: OutcomeLearner,
) -> WaitStep:
    """The served learner's per-service readiness bias as the waits show it (module docstring)."""
    episodes = tables.episodes
    if "planned_service" not in episodes.columns or episodes["planned_service"].isna().all():
        return WaitStep(None, None, "no recorded plans: the waits cannot show selection")
    histories = ClientHistories(tables.clients, episodes, tables.outcomes)
    known = split.train | split.validation
    kept_ids = pd.Index(dp.frame.loc[known, "client_id"].astype(str).unique())
    keep_clients = np.asarray(pd.Index(histories.client_ids.astype(str)).isin(kept_ids))
    waits = planned_waits(histories, actions=dp.actions, config=config, keep_clients=keep_clients)
    if len(waits.codes) == 0:
        return WaitStep(None, None, "no recorded plans among the training clients")
    feature_list = feature_catalogue(catalogue.service_codes, config.extra_features)
    values = feature_values(histories, waits.codes, waits.days, catalogue, config)
    X = models.encoder.transform(feature_frame(values, feature_list))
    reference = dp.actions.index(NO_NEW_SERVICE)
    cells = np.zeros((len(X), len(dp.actions)), dtype=bool)
    cells[:, reference] = True  # only the chance without a new service is needed
    prognostic = learner.predict_cells(X, cells)[:, reference]
    selection = wait_selection(
        actions=dp.actions,
        plans=waits.plans,
        eligible=catalogue.eligibility(values, len(waits.codes)),
        prognostic=prognostic,
        events=waits.events,
        exposure_days=waits.exposure_days,
    )
    if not np.isfinite(selection.log_ratio).any():
        note = "too few recorded plans per service to measure selection in the waits"
        return WaitStep(None, selection, note)
    if not np.any(selection.shrunk()):
        return WaitStep(None, selection, "no plan's clients differ in readiness beyond the noise")
    rows = evaluable_rows(dp, known)
    eligible = dp.eligibility()[rows]
    # Only the eligible cells are averaged: predicting them alone spares the
    # learner's matrix of every row under every action.
    p = learner.predict_cells(models.X[rows], eligible)
    shrunk = selection.shrunk()
    adjustment = np.clip(chance_adjustment(p, eligible, shrunk), -MAX_ADJUSTMENT, MAX_ADJUSTMENT)
    # One standard error of the ratio, carried through to the chance.
    ratio_error = np.where(np.isfinite(selection.standard_error), selection.standard_error, 0.0)
    moved_by_error = chance_adjustment(p, eligible, shrunk + ratio_error)
    standard_error = np.where(
        np.isfinite(selection.standard_error), np.abs(moved_by_error - adjustment), np.inf
    )
    moved = moved_services(dp.actions, adjustment)
    note = f"{len(waits.codes)} recorded plans, {int(waits.events.sum())} ended in the wait: " + (
        "the planned clients' readiness accounts for these parts of the services' chances: "
        + ", ".join(moved)
        if moved
        else "no plan's clients differ in readiness beyond the noise"
    )
    logger.info(note)
    return WaitStep(adjustment, selection, note, standard_error)


def combined_adjustment(units: UnitStep, waits: WaitStep) -> np.ndarray | None:
    """The correction served, from the units' and the waits' measurements.

    Both measure the same selection with independent data (which unit
    handled a client; what the client did before a service began). With the
    whole of the waits' correction, where both measured a service the
    inverse-variance weighted mean is the more precise estimate, and where
    one did not, the other stands alone. With `half_where_clear` the waits'
    served part is added to the units' correction, as it was tried on the
    generated worlds.
    """
    own_units = units.adjustment if units.correction is not None else None
    applied = waits.applied
    if applied is None:
        return own_units
    if own_units is None:
        return applied
    if waits.mode != "full" or waits.standard_error is None or units.correction is None:
        return own_units + applied
    with np.errstate(divide="ignore"):
        # The units' reference service has no estimate of its own (error 0).
        unit_precision = np.where(
            np.isfinite(units.correction.standard_error) & (units.correction.standard_error > 0),
            1.0 / np.maximum(units.correction.standard_error, 1e-12) ** 2,
            0.0,
        )
        wait_precision = np.where(
            np.isfinite(waits.standard_error),
            1.0 / np.maximum(waits.standard_error, 1e-12) ** 2,
            0.0,
        )
    total = unit_precision + wait_precision
    with np.errstate(invalid="ignore"):
        mean = (unit_precision * units.adjustment + wait_precision * waits.adjustment) / total
    return np.where(total > 0, mean, 0.0)


def waits_limitation(record: dict[str, Any]) -> dict[str, str]:
    """The model card's note on the selection the waits show, in Finnish, Swedish and English."""
    measured = {
        service: entry["adjustment"]
        for service, entry in record["services"].items()
        if abs(entry["adjustment"]) >= SHOWN_ADJUSTMENT
    }
    mode = record.get("mode") or "full"
    if not record["used"]:
        mode = "off"
    if not measured:
        found = {
            "fi": "Odotusajat eivät osoittaneet kohinaa suurempaa valikoitumista.",
            "sv": "Väntetiderna visade inget urval utöver bruset.",
            "en": "The waits showed no selection beyond their noise.",
        }
    elif mode == "full":
        listed = listed_points(measured)
        found = {
            "fi": f"Seuraavien palveluiden arviota on korjattu: {listed['fi']}.",
            "sv": f"Dessa tjänsters chanser har korrigerats: {listed['sv']}.",
            "en": f"These services' chances were corrected: {listed['en']}.",
        }
    elif mode == "half_where_clear":
        found = _half_where_clear_texts(record, measured)
    else:
        listed = listed_points(measured)
        found = {
            "fi": "Odotusajat viittaavat siihen, että seuraaviin palveluihin valittiin muita "
            f"valmiimpia (tai vähemmän valmiita) asiakkaita ({listed['fi']}); suosituksia ei ole "
            'korjattu tämän perusteella (correct_with_waits = "off"), joten näiden palveluiden '
            "arvioihin on syytä suhtautua varauksella.",
            "sv": "Väntetiderna tyder på att kunder som var mer (eller mindre) redo än andra "
            f"valdes till dessa tjänster ({listed['sv']}); rangordningen har inte korrigerats "
            'för det (correct_with_waits = "off"), så tolka tjänsternas skattningar med '
            "försiktighet.",
            "en": "The waits suggest that clients more (or less) ready than others were chosen "
            f"for these services ({listed['en']}); the ranking was not corrected for it "
            '(correct_with_waits = "off"), so treat these services\' estimates with caution.',
        }
    return {
        "id": "selection_seen_in_waits",
        "fi": "Valikoitumista arvioitiin sen perusteella, kuinka nopeasti suunniteltuun "
        "palveluun odottavat asiakkaat työllistyivät tai aloittivat koulutuksen ennen "
        "palvelun alkua (palvelu ei voi vaikuttaa siihen). "
        + found["fi"]
        + " Oletus: palvelun suunnittelu ei itsessään muuta työllistymistä ennen sen alkua.",
        "sv": "Urvalet bedömdes utifrån hur snabbt kunder som väntade på en planerad tjänst "
        "fick arbete eller började studera innan tjänsten började (vilket tjänsten inte kan "
        "orsaka). "
        + found["sv"]
        + " Antagande: att en tjänst planeras ändrar inte i sig chansen till arbete innan den "
        "börjar.",
        "en": "Selection was measured by how fast clients waiting for a planned service found "
        "work or education before it began (which the service cannot cause). "
        + found["en"]
        + " Assumed: planning a service does not by itself change the chance of work before "
        "it starts.",
    }


def _half_where_clear_texts(record: dict[str, Any], measured: dict[str, float]) -> dict[str, str]:
    """Which services half of the correction moved, and which it did not (fi, sv, en)."""
    applied = {
        service: entry.get("applied", 0.0)
        for service, entry in record["services"].items()
        if abs(entry.get("applied", 0.0)) >= SHOWN_ADJUSTMENT
    }
    within_noise = {service: value for service, value in measured.items() if service not in applied}
    parts: dict[str, list[str]] = {"fi": [], "sv": [], "en": []}
    if applied:
        listed = listed_points(applied)
        parts["fi"].append(
            "Puolet odotusaikojen osoittamasta valikoitumisesta on vähennetty seuraavien "
            f"palveluiden arvioista, koska se erottuu kohinasta: {listed['fi']}."
        )
        parts["sv"].append(
            "Hälften av det urval som väntetiderna visar har dragits av från dessa tjänsters "
            f"chanser, där det tydligt skiljer sig från bruset: {listed['sv']}."
        )
        parts["en"].append(
            "Half of the selection the waits show was taken off these services' chances, "
            f"where it is clear of the noise: {listed['en']}."
        )
    if within_noise:
        listed = listed_points(within_noise)
        parts["fi"].append(
            "Odotusajat viittaavat valikoitumiseen myös seuraaviin palveluihin, mutta kohinan "
            "rajoissa, joten niiden arvioita ei ole korjattu ja niihin on syytä suhtautua "
            f"varauksella: {listed['fi']}."
        )
        parts["sv"].append(
            "Väntetiderna tyder på urval även till dessa tjänster, men inom bruset, så deras "
            f"chanser har inte korrigerats; tolka dem med försiktighet: {listed['sv']}."
        )
        parts["en"].append(
            "The waits also suggest selection into these services, within the noise, so their "
            f"chances were not corrected; treat them with caution: {listed['en']}."
        )
    return {lang: " ".join(texts) for lang, texts in parts.items()}
