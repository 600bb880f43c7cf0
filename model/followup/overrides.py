"""Override rates and the reasons given, over time (month of the decision) and per unit.

Each table is built like the fairness report's decision tables
(`model.fairness.decisions.override_tables`): rows (months or units) with
decisions on fewer than k clients are combined before tabulating, small
cells are hidden and the reasons' row totals are the overridden counts, so
no hidden count can be worked out. A rate comes with its Wilson interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from model.fairness.decisions import override_tables
from model.fairness.groups import text_values
from model.fairness.intervals import wilson_interval
from model.fairness.sections import distribution
from model.fairness.suppression import TOTAL
from model.fairness.tables import FOLLOWED, OVERRIDDEN
from model.json_values import json_number
from model.vocab import REASON_CODES

DIGITS = 6


def _rows(over: Any, order: Sequence[str], alpha: float) -> list[dict[str, Any]]:
    out = []
    for g in [*order, TOTAL]:
        decisions = over.cell(g, TOTAL)
        overrides = over.cell(g, OVERRIDDEN)
        shown = decisions is not None and overrides is not None and decisions > 0
        shown = shown and over.shown(g, [FOLLOWED, OVERRIDDEN])
        low, high = wilson_interval(overrides, decisions, alpha) if shown else (None, None)
        out.append(
            {
                "group": g,
                "decisions": decisions,
                "overrides": overrides,
                "override_rate": json_number(overrides / decisions, DIGITS) if shown else None,
                "override_rate_low": json_number(low, DIGITS),
                "override_rate_high": json_number(high, DIGITS),
            }
        )
    return out


def override_breakdown(
    rows: pd.DataFrame, by: pd.Series, order: Sequence[str], *, k: int, alpha: float = 0.05
) -> dict[str, Any]:
    """Override rates and reasons per value of `by` (months or units), suppressed."""
    frame = rows.reset_index(drop=True).assign(overridden=~rows["followed"].to_numpy(dtype=bool))
    groups = pd.Series(by.to_numpy(dtype=object), index=frame.index)
    overridden = frame["overridden"].to_numpy(dtype=bool)
    kind = pd.Series(np.where(overridden, OVERRIDDEN, FOLLOWED), index=frame.index)
    reason = text_values(frame["reason_code"]).where(overridden, None)
    codes = list(REASON_CODES) + sorted(set(reason.dropna().unique()) - set(REASON_CODES))
    over, reasons = override_tables(groups, list(order), frame, kind, reason, codes, k)
    rows_order = [g for g in over.values.index if g != TOTAL]
    used = [
        c for c in codes if c in reasons.values.columns and reasons.values[c].fillna(1).sum() > 0
    ]
    return {
        "rows": _rows(over, rows_order, alpha),
        "reasons": distribution(reasons, rows_order, used),
        "reason_codes": used,
    }
