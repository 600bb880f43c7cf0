"""Recommendations for many decision points at once (`polku recommend`).

- `score_frame`: one row per decision point with the recommended service and,
  for every action, its probability, interval, uplift against
  `no_new_service`, eligibility and thin-support flag. The served MLflow
  pyfunc returns exactly this frame.
- `open_cases` / `caseload_features` / `recommend_caseload`: every client
  with an open case on a date (intake on or before it, no employed,
  education or moved_away spell started before it), their features as known
  on that date (`model.decision_points.features_at`), scored in one batch
  with `Router.score`, ranked, and optionally explained (vectorised,
  `Router.explain_many`).
- `write_recommendations`: CSV or Parquet by the file's extension.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from model.decision_points.features import features_at
from model.errors import DataContractError
from model.router import Router, ScoredBatch
from model.vocab import NO_NEW_SERVICE
from training.tables import Tables

# A spell of one of these, started before the date, closes the case.
CLOSING_STATUSES: Final = ("employed", "education", "moved_away")
OUTPUT_FORMATS: Final = (".csv", ".parquet")
DEFAULT_K: Final = 3
# Decision points explained per TreeSHAP call in batch recommendations.
EXPLAIN_CHUNK: Final = 10_000


def score_frame(router: Router, features: pd.DataFrame) -> pd.DataFrame:
    """Score decision-point feature rows; one output row per input row, same index.

    Columns: `recommended`, `rank_2`, `rank_3` (service codes; empty when fewer
    candidates are eligible), then for every action `a`: `p_<a>`, `low_<a>`,
    `high_<a>`, `uplift_<a>` (against no_new_service), `eligible_<a>`,
    `thin_support_<a>`.
    """
    batch = router.score(features)
    return _per_action(router, batch, features.index)


def _per_action(router: Router, batch: ScoredBatch, index: pd.Index) -> pd.DataFrame:
    codes = np.asarray([*router.actions, ""], dtype=object)  # -1 pads map to ""
    columns: dict[str, Any] = {}
    for rank, name in enumerate(("recommended", "rank_2", "rank_3")):
        if rank < batch.ranked.shape[1]:
            columns[name] = codes[batch.ranked[:, rank]]
        else:
            columns[name] = np.full(len(index), "", dtype=object)
    thin = batch.support < router.min_support
    uplift = batch.uplift
    for j, action in enumerate(router.actions):
        columns[f"p_{action}"] = batch.p[:, j]
        columns[f"low_{action}"] = batch.low[:, j]
        columns[f"high_{action}"] = batch.high[:, j]
        columns[f"uplift_{action}"] = uplift[:, j]
        columns[f"eligible_{action}"] = batch.eligible[:, j]
        columns[f"thin_support_{action}"] = thin[:, j] & batch.eligible[:, j]
    return pd.DataFrame(columns, index=index)


# --------------------------------------------------------------------------
# the caseload on a date
# --------------------------------------------------------------------------


def open_cases(tables: Tables, as_of: date) -> pd.DataFrame:
    """Clients with an open case on `as_of`: columns client_id, decision_date.

    Open: intake on or before the date, and no employed, education or
    moved_away spell started before it.
    """
    day = pd.Timestamp(as_of)
    clients = tables.clients
    intake = pd.to_datetime(clients["intake_date"])
    ids = clients["client_id"].astype(str)
    outcomes = tables.outcomes
    closing = outcomes["status"].astype(object).isin(CLOSING_STATUSES) & (
        pd.to_datetime(outcomes["start_date"]) < day
    )
    closed = set(outcomes.loc[closing, "client_id"].astype(str))
    keep = (intake <= day).to_numpy() & ~ids.isin(closed).to_numpy()
    chosen = ids[keep].sort_values(kind="stable")
    return pd.DataFrame(
        {"client_id": chosen.to_numpy(dtype=object), "decision_date": day}
    ).reset_index(drop=True)


def caseload_features(router: Router, tables: Tables, as_of: date) -> pd.DataFrame:
    """Features of every open case as known on `as_of` (index 0..n-1)."""
    points = open_cases(tables, as_of)
    return features_at(
        tables.clients,
        tables.episodes,
        tables.outcomes,
        points,
        catalogue=router.catalogue,
        config=router.config,
    )


def recommend_caseload(
    router: Router,
    tables: Tables,
    as_of: date,
    *,
    k: int = DEFAULT_K,
    explanations: bool = True,
    language: str = "fi",
    model: tuple[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """One row per open case: the first `k` recommendations and the reference.

    Columns: client_id, as_of, model, model_version, n_eligible, then for
    each rank r = 1..k: `service_r`, `name_r`, `p_r`, `low_r`, `high_r`,
    `uplift_r`, `thin_support_r` (and `explanation_r` with explanations),
    then `p_no_new_service`. Ranks beyond the eligible candidates are empty.
    Explanations are the top SHAP contributions in `language`, the same as
    `Router.recommend` gives one client at a time, computed in chunks; the
    slow part; `progress(done, total)` is called as they are computed.
    """
    features = caseload_features(router, tables, as_of)
    if features.empty:
        raise DataContractError(f"no client has an open case on {as_of:%Y-%m-%d}")
    batch = router.score(features)
    n = len(features)
    names = {a: router.catalogue.get(a).localised_name(language) for a in router.actions}
    reference = router.actions.index(NO_NEW_SERVICE)
    out: dict[str, Any] = {
        "client_id": features["client_id"].to_numpy(dtype=object),
        "as_of": np.full(n, f"{as_of:%Y-%m-%d}", dtype=object),
        "model": np.full(n, model[0] if model else "", dtype=object),
        "model_version": np.full(n, model[1] if model else "", dtype=object),
        "n_eligible": batch.eligible.sum(axis=1),
    }
    rows = np.arange(n)
    thin = batch.support < router.min_support
    for r in range(k):
        a = batch.ranked[:, r] if r < batch.ranked.shape[1] else np.full(n, -1)
        has = a >= 0
        safe = np.where(has, a, 0)

        def pick(values: np.ndarray, has: np.ndarray = has, safe: np.ndarray = safe) -> np.ndarray:
            return np.where(has, values[rows, safe], np.nan)

        out[f"service_{r + 1}"] = np.where(has, np.asarray(router.actions, dtype=object)[safe], "")
        out[f"name_{r + 1}"] = np.where(
            has, np.asarray([names[x] for x in router.actions], dtype=object)[safe], ""
        )
        out[f"p_{r + 1}"] = pick(batch.p)
        out[f"low_{r + 1}"] = pick(batch.low)
        out[f"high_{r + 1}"] = pick(batch.high)
        out[f"uplift_{r + 1}"] = pick(batch.uplift)
        out[f"thin_support_{r + 1}"] = has & thin[rows, safe]
    out["p_no_new_service"] = batch.p[:, reference]
    frame = pd.DataFrame(out)
    if explanations:
        texts = _explanations(router, features, batch, k=k, language=language, progress=progress)
        for r in range(k):
            frame[f"explanation_{r + 1}"] = [
                t.get(service, "")
                for t, service in zip(texts, frame[f"service_{r + 1}"], strict=True)
            ]
    return frame


def _explanations(
    router: Router,
    features: pd.DataFrame,
    batch: ScoredBatch,
    *,
    k: int,
    language: str,
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, str]]:
    """Per client, service -> its explanation as one line of text.

    The same explanations as `Router.recommend` gives one client at a time,
    computed with `Router.explain_many` in chunks (one TreeSHAP call each).
    """
    X = router.encoder.transform(features)
    total = len(features)
    columns = {
        name: features[name].tolist() for name in router.encoder.columns_ if name in features
    }
    out: list[dict[str, str]] = []
    for start in range(0, total, EXPLAIN_CHUNK):
        stop = min(total, start + EXPLAIN_CHUNK)
        chunk = router.explain_many(
            X[start:stop],
            batch.p[start:stop],
            batch.ranked[start:stop],
            k=k,
            values={name: values[start:stop] for name, values in columns.items()},
            language=language,
        )
        for explained in chunk:
            out.append(
                {
                    router.actions[a]: "; ".join(c.text for c in contributions)
                    for a, contributions in explained.items()
                }
            )
        if progress is not None:
            progress(stop, total)
    return out


def write_recommendations(frame: pd.DataFrame, out: str | Path) -> Path:
    """Write to CSV or Parquet, chosen by the file's extension."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ValueError(f"{path.name}: write recommendations to a .csv or .parquet file")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False, float_format="%.6f", lineterminator="\n")
    else:
        frame.to_parquet(path, index=False)
    return path
