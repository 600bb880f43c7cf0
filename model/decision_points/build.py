"""`build_decision_points`: every historical decision point with its label and features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.catalogue import Catalogue
from model.config import RunConfig
from model.decision_points.actions import ACTION_SOURCES, SOURCE_INFERRED, find_decisions
from model.decision_points.conversions import EPOCH, datetimes, day_number, string_array
from model.decision_points.features import feature_frame, feature_values
from model.decision_points.histories import ClientHistories
from model.decision_points.labels import extract_date, labels
from model.decision_points.points import (
    REVIEW_KIND,
    SERVICE_START,
    DecisionPoints,
    eligible_column,
)
from model.features import feature_catalogue


def build_decision_points(
    clients: pd.DataFrame,
    episodes: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    catalogue: Catalogue,
    config: RunConfig,
) -> DecisionPoints:
    """Derive every historical decision point with its label and features (docs/data.md, 6).

    Which moments are decisions and their actions: `model.decision_points.actions`;
    labels and censoring: `model.decision_points.labels`; features:
    `model.decision_points.features`.

    dp_id is ``f"{client_id}|{decision_date:%Y-%m-%d}|{n}"``, n counting the
    client's points on that date in frame order from 0.
    """
    histories = ClientHistories(clients, episodes, outcomes)
    extract = extract_date(histories, config)
    extract_day = np.nan if extract is None else day_number(extract)
    decisions = find_decisions(histories, window=config.review_window_days, extract_day=extract_day)
    action_known = pd.notna(decisions.actions)

    # deterministic order that does not depend on the input's row order
    action_codes, action_vocab = pd.factorize(decisions.actions, sort=True)
    action_key = np.where(action_codes < 0, np.iinfo(np.int64).max, action_codes)
    order = np.lexsort(
        (action_key, decisions.kinds, decisions.days, histories.client_rank[decisions.codes])
    )
    codes = decisions.codes[order]
    days = decisions.days[order]
    kinds = decisions.kinds[order]
    action_codes = action_codes[order]
    action_known = action_known[order]
    sources = decisions.sources[order]

    inferred = sources == ACTION_SOURCES.index(SOURCE_INFERRED)
    label, censored = labels(
        histories, codes, days, config=config, extract_day=extract_day, inferred=inferred
    )

    feature_list = feature_catalogue(catalogue.service_codes, config.extra_features)
    values = feature_values(histories, codes, days, catalogue, config)
    features = feature_frame(values, feature_list)
    head = pd.DataFrame(
        {
            "dp_id": _dp_ids(histories, codes, days),
            "client_id": histories.clients["client_id"].array.take(codes),
            "decision_date": datetimes(days),
            "kind": string_array([SERVICE_START, REVIEW_KIND], kinds),
            "action": string_array(action_vocab, action_codes),
            "action_known": action_known,
            "action_source": string_array(ACTION_SOURCES, sources.astype(np.intp)),
            "label": label,
            "censored": censored,
        },
        copy=False,
    )
    eligible = catalogue.eligibility(values, len(codes))
    eligibility = pd.DataFrame(
        {eligible_column(action): eligible[:, j] for j, action in enumerate(catalogue.actions)},
        copy=False,
    )
    frame = pd.concat([head, features, eligibility], axis=1)
    return DecisionPoints(
        frame=frame,
        features=feature_list,
        actions=catalogue.actions,
        extract_date=extract,
        protected_attributes=tuple(config.protected_attributes),
    )


def _dp_ids(histories: ClientHistories, codes: np.ndarray, days: np.ndarray) -> pd.Series:
    """client|date|n, n numbering the points of one client and date (points are sorted)."""
    n_points = len(codes)
    if n_points == 0:
        return pd.Series([], dtype="str")
    new = np.ones(n_points, dtype=bool)
    new[1:] = (codes[1:] != codes[:-1]) | (days[1:] != days[:-1])
    counter = np.arange(n_points) - np.maximum.accumulate(np.where(new, np.arange(n_points), 0))
    day_codes, unique_days = pd.factorize(days)
    day_text = np.datetime_as_string(
        (EPOCH + np.asarray(unique_days, dtype=np.int64)).astype("datetime64[D]")
    )
    client_text = pd.Series(string_array(histories.client_ids.astype(str), codes))
    date_text = pd.Series(string_array(day_text, day_codes))
    count_text = pd.Series(string_array([str(i) for i in range(int(counter.max()) + 1)], counter))
    return client_text + "|" + date_text + "|" + count_text
