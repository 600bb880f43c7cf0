"""The service report as one JSON-ready dict (docs/reports.md).

`service_report` puts together the figures of the other modules of this
package for one data window: volumes, waiting times, Finnish level gains,
outcomes and doubly-robust effects per service, the same effects per client
group, work that matches education and, when given, the policy summary.
Every count of 1 to k-1 and every figure resting on fewer than k clients is
None, and listed where a reader may wonder (`suppressed`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from model.json_values import json_value
from model.services.activity import volumes, waiting_times
from model.services.cells import check_k
from model.services.effects import SENSITIVITY_LAMBDA, ScoredRows, group_effects, service_outcomes
from model.services.language import language_gains
from model.services.matching import education_match

SERVICE_REPORT_KIND: Final = "polku.service_report"


def _verdicts(outcomes: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Services whose effect interval lies wholly above zero, wholly below it, or across it."""
    out: dict[str, list[str]] = {"better": [], "worse": [], "unclear": []}
    for service, record in outcomes.items():
        low, high = record.get("low"), record.get("high")
        if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
            continue
        key = "better" if low > 0 else "worse" if high < 0 else "unclear"
        out[key].append(service)
    return out


def service_report(
    *,
    clients: pd.DataFrame,
    episodes: pd.DataFrame,
    outcomes: pd.DataFrame,
    starts: pd.DataFrame,
    rows: ScoredRows | None,
    groups: Mapping[str, np.ndarray],
    services: tuple[str, ...],
    service_names: Mapping[str, Mapping[str, str]],
    since: date,
    until: date,
    k: int,
    horizon_days: int,
    target: str,
    n_boot: int = 200,
    seed: int = 0,
    sensitivity_lambda: float = SENSITIVITY_LAMBDA,
    model: Mapping[str, Any] | None = None,
    policy: Mapping[str, Any] | None = None,
    extract_date: date | None = None,
) -> dict[str, Any]:
    """The service report of the window [since, until]; see the module docstring.

    `services` are the catalogue's service codes (no new service excluded);
    `starts` the service-start decision points of the window with a complete
    outcome window; `rows` the scored decision points of the window with a
    complete outcome window and a known action (None: no model, so no
    effects); `groups` each group field's value per row of `rows`.
    """
    k = check_k(k)
    if since > until:
        raise ValueError(f"the window starts ({since}) after it ends ({until})")
    window = {"since": since, "until": until}
    report: dict[str, Any] = {
        "kind": SERVICE_REPORT_KIND,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "model": dict(model or {}),
        "window": {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "extract_date": None if extract_date is None else extract_date.isoformat(),
        },
        "settings": {
            "k": k,
            "n_boot": n_boot,
            "horizon_days": horizon_days,
            "target": target,
            "sensitivity_lambda": sensitivity_lambda,
            "group_fields": list(groups),
        },
        "services": list(services),
        "service_names": {code: dict(names) for code, names in service_names.items()},
        "volumes": volumes(clients, episodes, services=services, k=k, **window),
        "waiting": waiting_times(clients, episodes, services=services, k=k, **window),
        "language": language_gains(clients, episodes, services=services, k=k, **window),
        "matching": education_match(
            starts, outcomes, services=services, horizon_days=horizon_days, k=k
        ),
    }
    if rows is None or len(rows.y) == 0:
        report["outcomes"] = None
        report["groups"] = []
        report["verdicts"] = {"better": [], "worse": [], "unclear": []}
        report["evaluated"] = {"decisions": 0, "clients": 0}
    else:
        per_service = service_outcomes(
            rows, k=k, n_boot=n_boot, seed=seed, sensitivity_lambda=sensitivity_lambda
        )
        report["outcomes"] = per_service
        report["groups"] = group_effects(rows, groups, k=k)
        report["verdicts"] = _verdicts(per_service)
        report["evaluated"] = {
            "decisions": len(rows.y),
            "clients": len(np.unique(rows.clients)),
            "observed_rate": float(rows.y.mean()),
        }
    report["policy"] = dict(policy) if policy is not None else None
    result: dict[str, Any] = json_value(report)
    return result
