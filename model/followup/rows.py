"""One row per caseworker decision: what Polku suggested, what was chosen, what followed.

`decision_rows` joins the decisions table to the audit log by `request_id`
(the audit row carries the pseudonymous client, the decision date `as_of`,
the features the model saw and its suggestions with their `p_outcome`). A
decision that a later one `corrects` is replaced by it; of several for one
request, the last one counts. `matured_outcomes` then reads each decision's
outcome from the client's history: a good outcome when a spell of a target
status starts 0..horizon days after the decision date, and *matured* only
when the whole window lies before the data's extract date. A decision whose
client is not in the data has no outcome.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd

from model.config import RunConfig
from model.decision_points.conversions import day_numbers
from model.decision_points.histories import ClientHistories
from model.decision_points.labels import extract_date


def _document(value: Any) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        loaded = orjson.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return dict(value or {})


def _p_outcomes(output: dict[str, Any]) -> dict[str, float]:
    """p_outcome per service among the suggestions and the reference (no new service)."""
    found: dict[str, float] = {}
    scored = [*output.get("recommendations", []), output.get("reference") or {}]
    for item in scored:
        service, p = item.get("service"), item.get("p_outcome")
        if service is not None and p is not None:
            found[str(service)] = float(p)
    return found


def decision_rows(decisions: pd.DataFrame, audit: pd.DataFrame) -> pd.DataFrame:
    """The decisions joined to their audit rows: one row per answered recommendation.

    `decisions`: `decision_id`, `request_id`, `created_at`, `chosen_service`,
    `recommended_service`, `reason_code`, optional `corrects` and `unit`.
    `audit`: `request_id`, `client_id`, `model_version`, `as_of`, `features`
    and `output` (JSON text or dicts). Returns `client_id`, `as_of`,
    `created_at`, `unit`, `model_version`, `chosen_service`,
    `recommended_service`, `followed`, `reason_code`, `p_recommended` (the
    first suggestion's p_outcome), `p_chosen` (the chosen service's, when it
    was scored) and `features` (a dict per row).
    """
    frame = decisions.copy()
    if "corrects" in frame.columns:
        corrected = set(frame["corrects"].dropna().astype(str))
        frame = frame[~frame["decision_id"].astype(str).isin(corrected)]
    frame = frame.sort_values("created_at", kind="stable").drop_duplicates(
        "request_id", keep="last"
    )
    frame["request_id"] = frame["request_id"].astype(str)
    log = audit.assign(request_id=audit["request_id"].astype(str))
    joined = frame.merge(
        log[["request_id", "client_id", "model_version", "as_of", "features", "output"]],
        on="request_id",
        how="inner",
        validate="one_to_one",
    )
    outputs = [_p_outcomes(_document(v)) for v in joined["output"]]
    chosen = joined["chosen_service"].astype(str).to_numpy()
    recommended = joined["recommended_service"].astype(str).to_numpy()
    out = pd.DataFrame(
        {
            "client_id": joined["client_id"].astype(str).to_numpy(),
            "as_of": pd.to_datetime(joined["as_of"]).to_numpy(),
            "created_at": pd.to_datetime(joined["created_at"], utc=True).to_numpy(),
            "unit": (
                joined["unit"].astype(str).to_numpy()
                if "unit" in joined.columns
                else np.full(len(joined), "unknown", dtype=object)
            ),
            "model_version": joined["model_version"].astype(str).to_numpy(),
            "chosen_service": chosen,
            "recommended_service": recommended,
            "followed": chosen == recommended,
            "reason_code": joined["reason_code"].to_numpy(dtype=object),
            "p_recommended": [o.get(r, np.nan) for o, r in zip(outputs, recommended, strict=True)],
            "p_chosen": [o.get(c, np.nan) for o, c in zip(outputs, chosen, strict=True)],
        }
    )
    out["features"] = [_document(v) for v in joined["features"]]
    return out


def matured_outcomes(
    rows: pd.DataFrame, histories: ClientHistories, config: RunConfig
) -> pd.DataFrame:
    """`rows` with `in_data`, `matured` and `outcome` (1.0 good, 0.0 other, NaN not matured)."""
    ids = pd.Index(pd.Series(histories.client_ids).astype(str))
    codes = ids.get_indexer(rows["client_id"].astype(str))
    in_data = codes >= 0
    days = day_numbers(rows["as_of"])
    end = extract_date(histories, config)
    extract_day = float("nan") if end is None else float(day_numbers(pd.Series([end]))[0])
    horizon = config.horizon_days
    targets = histories.target_starts(config.target_statuses)
    outcome = np.full(len(rows), np.nan)
    if in_data.any():
        hits = targets.count_between(codes[in_data], days[in_data], days[in_data] + horizon)
        outcome[in_data] = (hits > 0).astype(float)
    with np.errstate(invalid="ignore"):
        matured = in_data & (days + horizon <= extract_day)
    outcome[~matured] = np.nan
    return rows.assign(in_data=in_data, matured=matured, outcome=outcome)
