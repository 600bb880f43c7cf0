"""The follow-up report: decisions joined with the outcomes that arrived, and when to retrain.

`followup_report` takes the decisions with their matured outcomes
(`model.followup.rows`) and the training data's features, and returns a
JSON-ready dict: the period and counts, followed vs other (observed and
adjusted), override rates and reasons by month and by unit, calibration of
`p_outcome`, drift per feature, and the advice.

The advice (`retrain`) reads the figures with fixed rules, each named in
`reasons` with its words in Finnish, Swedish and English:

- **retrain** when a feature has shifted a lot (PSI above 0.25), when the
  observed good-outcome rate's 95 % interval excludes the mean prediction
  and they differ by more than 5 percentage points (the model is off), or
  when following the first suggestion does clearly worse than other choices
  (the adjusted interval entirely below zero);
- **watch** when a feature has shifted moderately (PSI 0.1–0.25), when ECE
  exceeds 0.05, or when the override rate of the last month is clearly
  above that of the first;
- **wait** when fewer than `min_matured` decisions have matured: too early
  to tell;
- otherwise **no_need**.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from model.fairness.suppression import TOTAL, check_k
from model.followup.calibration import calibration
from model.followup.comparison import compare_followed
from model.followup.drift import feature_drift
from model.followup.overrides import override_breakdown

FOLLOWUP_KIND: Final = "polku.followup_report"
SCHEMA_VERSION: Final = 1
MIN_MATURED: Final = 200
CALIBRATION_GAP: Final = 0.05
MAX_ECE: Final = 0.05

REASONS: Final[dict[str, dict[str, str]]] = {
    "too_few_matured": {
        "fi": "Liian harva päätös on vielä ehtinyt tulokseen asti: arvioi myöhemmin.",
        "sv": "För få beslut har ännu hunnit fram till sitt utfall: bedöm senare.",
        "en": "Too few decisions have reached their outcome yet: judge later.",
    },
    "major_drift": {
        "fi": "Syötteiden jakauma on muuttunut selvästi koulutusaineistosta (PSI yli 0,25): {}.",
        "sv": "Fördelningen av indata har förändrats tydligt jämfört med träningsdata (PSI över 0,25): {}.",
        "en": "Input distributions have shifted a lot from the training data (PSI above 0.25): {}.",
    },
    "moderate_drift": {
        "fi": "Syötteiden jakauma on muuttunut jonkin verran (PSI 0,1–0,25): {}.",
        "sv": "Fördelningen av indata har förändrats något (PSI 0,1–0,25): {}.",
        "en": "Input distributions have shifted moderately (PSI 0.1–0.25): {}.",
    },
    "miscalibrated": {
        "fi": "Ennusteet poikkeavat toteutuneista tuloksista yli 5 prosenttiyksikköä.",
        "sv": "Prognoserna avviker från de faktiska utfallen med mer än 5 procentenheter.",
        "en": "Predictions are more than 5 percentage points off the outcomes that arrived.",
    },
    "calibration_error": {
        "fi": "Kalibrointivirhe (ECE) on yli 0,05.",
        "sv": "Kalibreringsfelet (ECE) är över 0,05.",
        "en": "The calibration error (ECE) is above 0.05.",
    },
    "following_worse": {
        "fi": "Ensimmäisen suosituksen seuraaminen tuotti selvästi huonompia tuloksia kuin muut valinnat.",
        "sv": "Att följa det första förslaget gav tydligt sämre utfall än andra val.",
        "en": "Following the first suggestion did clearly worse than other choices.",
    },
    "overrides_rising": {
        "fi": "Poikkeamisosuus on noussut selvästi ensimmäisestä kuukaudesta viimeiseen.",
        "sv": "Avvikelseandelen har stigit tydligt från den första månaden till den sista.",
        "en": "The override rate has risen clearly from the first month to the last.",
    },
}


def _months(dates: pd.Series) -> dict[str, str | None]:
    values = pd.to_datetime(dates, errors="coerce", utc=True).dropna()
    if values.empty:
        return {"from": None, "to": None}
    return {"from": f"{values.min():%Y-%m}", "to": f"{values.max():%Y-%m}"}


def _reason(code: str, *detail: str) -> dict[str, str]:
    words = REASONS[code]
    return {"code": code, **{lang: text.format(*detail) for lang, text in words.items()}}


def advice(
    matured: int,
    comparison: Mapping[str, Any],
    months: Mapping[str, Any],
    calibrated: Mapping[str, Any],
    drift: list[dict[str, Any]],
    *,
    min_matured: int = MIN_MATURED,
) -> dict[str, Any]:
    """retrain, watch, wait or no_need, with the reasons (see the module docstring)."""
    retrain: list[dict[str, str]] = []
    watch: list[dict[str, str]] = []
    major = [d["feature"] for d in drift if d["level"] == "major"]
    moderate = [d["feature"] for d in drift if d["level"] == "moderate"]
    if major:
        retrain.append(_reason("major_drift", ", ".join(major)))
    if moderate:
        watch.append(_reason("moderate_drift", ", ".join(moderate)))
    enough = matured >= min_matured
    if enough:
        figures = [
            calibrated.get(key)
            for key in ("observed", "mean_predicted", "observed_low", "observed_high")
        ]
        numbers = [float(v) for v in figures if isinstance(v, int | float)]
        if len(numbers) == 4:
            observed, predicted, low, high = numbers
            outside = not (low <= predicted <= high)
            if outside and abs(observed - predicted) > CALIBRATION_GAP:
                retrain.append(_reason("miscalibrated"))
        if (calibrated.get("ece") or 0.0) > MAX_ECE:
            watch.append(_reason("calibration_error"))
        adjusted = comparison.get("adjusted") or {}
        if adjusted.get("high") is not None and adjusted["high"] < 0:
            retrain.append(_reason("following_worse"))
    rows = [
        r for r in months.get("rows", []) if r["group"] != TOTAL and r["override_rate"] is not None
    ]
    if len(rows) >= 2 and rows[-1]["override_rate_low"] > rows[0]["override_rate_high"]:
        watch.append(_reason("overrides_rising"))
    if retrain:
        return {"verdict": "retrain", "reasons": retrain + watch}
    if not enough:
        return {"verdict": "wait", "reasons": [_reason("too_few_matured"), *watch]}
    return {"verdict": "watch" if watch else "no_need", "reasons": watch}


def followup_report(
    rows: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    k: int = 5,
    horizon_days: int = 365,
    model: Mapping[str, Any] | None = None,
    seed: int = 0,
    alpha: float = 0.05,
    min_matured: int = MIN_MATURED,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The follow-up report as a JSON-ready dict (see the module docstring).

    `rows`: the decisions with `matured` and `outcome` (`model.followup.rows`);
    `reference`: the features of the training data's decision points, one
    column per feature, for the drift.
    """
    k = check_k(k)
    if len(rows) == 0:
        raise ValueError(
            "no decisions to follow up: the decisions database has none for this model"
        )
    matured = rows[rows["matured"].to_numpy(dtype=bool)].reset_index(drop=True)
    month = pd.to_datetime(rows["created_at"], utc=True).dt.strftime("%Y-%m")
    by_month = override_breakdown(rows, month, sorted(month.unique()), k=k, alpha=alpha)
    units = rows["unit"].astype(str)
    unit_order = sorted(units.unique(), key=lambda u: (-int((units == u).sum()), u))
    by_unit = override_breakdown(rows, units, unit_order, k=k, alpha=alpha)
    current = pd.DataFrame(list(rows["features"]))
    matured_features = current.loc[rows["matured"].to_numpy(dtype=bool)].reset_index(drop=True)
    comparison = (
        compare_followed(matured, k=k, seed=seed, alpha=alpha, features=matured_features)
        if len(matured)
        else {}
    )
    calibrated = calibration(matured, k=k, alpha=alpha) if len(matured) else {"bins": []}
    drift = feature_drift(reference, current)
    n_matured = len(matured)
    return {
        "kind": FOLLOWUP_KIND,
        "schema_version": SCHEMA_VERSION,
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "model": {
            **dict(model or {}),
            "versions_seen": sorted(set(rows["model_version"].astype(str))),
        },
        "settings": {
            "k": k,
            "alpha": alpha,
            "horizon_days": horizon_days,
            "min_matured": min_matured,
        },
        "period": {
            "decisions": _months(rows["created_at"]),
            "decision_dates": _months(rows["as_of"]),
            "matured_decision_dates": _months(matured["as_of"]) if n_matured else None,
        },
        "counts": {
            "decisions": len(rows) if rows["client_id"].nunique() >= k else None,
            "in_data": _count(rows, rows["in_data"].to_numpy(dtype=bool), k),
            "matured": _count(rows, rows["matured"].to_numpy(dtype=bool), k),
        },
        "comparison": comparison,
        "overrides": {"by_month": by_month, "by_unit": by_unit},
        "calibration": calibrated,
        "drift": drift,
        "advice": advice(
            n_matured, comparison, by_month, calibrated, drift, min_matured=min_matured
        ),
    }


def _count(rows: pd.DataFrame, member: np.ndarray, k: int) -> int | None:
    """A count of decisions, hidden when it comes from 1..k−1 clients."""
    people = rows.loc[member, "client_id"].nunique()
    return int(member.sum()) if people == 0 or people >= k else None
