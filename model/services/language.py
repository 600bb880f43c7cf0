"""Finnish level before and after each language service.

A service counts as a language service where the episodes record
`language_level_after` (the Finnish level measured when the episode ended).
For each such episode that ended in the window, the level *before* is the
highest level known when it started: the level at intake, or a higher level
measured at the end of an earlier episode (ended strictly before the start),
as the decision points' `finnish_level` feature reads it. The gain is the
number of CEFR steps from before to after (A1 to B1 is 2).

Per service: episodes measured, the share that gained at least one level,
the median gain and the median levels before and after. Episodes whose level
before or after is unknown are left out; a service with fewer than k measured
episodes shows none of its figures.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from model.services.activity import in_window
from model.vocab import CEFR_LEVELS, CEFR_RANK


def _rank(values: pd.Series) -> pd.Series:
    return values.astype(object).map(CEFR_RANK).astype(float)


def _level(rank: float) -> str:
    return CEFR_LEVELS[int(np.floor(rank))]


def language_gains(
    clients: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    services: tuple[str, ...],
    since: date,
    until: date,
    k: int,
) -> dict[str, Any]:
    """The language section: `available` (does the data record levels?) and per service figures."""
    if "language_level_after" not in episodes.columns:
        return {"available": False, "services": {}}
    after = _rank(episodes["language_level_after"])
    ended = episodes["end_date"].notna() & after.notna()
    if not ended.any():
        return {"available": False, "services": {}}
    measured = episodes.loc[ended, ["client_id", "service", "start_date", "end_date"]].assign(
        after=after[ended]
    )
    # Running best level measured by each client's episode ends, for "as of a start date".
    known = measured[["client_id", "end_date", "after"]].sort_values(["client_id", "end_date"])
    known = known.assign(best=known.groupby("client_id", sort=False)["after"].cummax())
    queries = measured.loc[in_window(measured["end_date"], since, until)]
    queries = queries.loc[queries["service"].astype(str).isin(services)]
    before = pd.merge_asof(
        queries.reset_index().sort_values("start_date"),
        known[["client_id", "end_date", "best"]]
        .rename(columns={"end_date": "known_on"})
        .sort_values("known_on"),
        left_on="start_date",
        right_on="known_on",
        by="client_id",
        direction="backward",
        allow_exact_matches=False,
    )
    intake = clients.set_index("client_id")["finnish_level"]
    intake_rank = _rank(before["client_id"].map(intake))
    before = before.assign(before=np.fmax(intake_rank.to_numpy(), before["best"].to_numpy()))
    before = before.loc[before["before"].notna()]
    before = before.assign(gain=before["after"] - before["before"])
    figures: dict[str, Any] = {}
    for service, rows in before.groupby(before["service"].astype(str), sort=False):
        n = len(rows)
        if n < k:
            figures[service] = {
                "measured": None,
                "gained_share": None,
                "median_gain": None,
                "median_before": None,
                "median_after": None,
            }
            continue
        figures[service] = {
            "measured": n,
            "gained_share": float((rows["gain"] >= 1).mean()),
            "median_gain": float(rows["gain"].median()),
            "median_before": _level(float(rows["before"].median())),
            "median_after": _level(float(rows["after"].median())),
        }
    ordered = {service: figures[service] for service in services if service in figures}
    return {"available": True, "services": ordered}
