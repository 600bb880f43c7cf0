"""Calibration figures of a world: its tables measured the way public figures are.

The built-in world (`training.simulator`) is meant to look like an Espoo-like
integration caseload. This module measures, from the three input tables only
(plain pandas, nothing from the simulator's internals), the figures that can
be set beside published ones: the residence-basis mix, the largest language
groups, employment by years since arrival and by group, Finnish level after
integration training, where competence-centre clients go, and how many
clients reach work or education. `tests/training/test_world_calibration.py` checks
them against the public figures with stated tolerances, and `docs/world.md`
shows the table that `calibration_table` builds:

    .venv/bin/python -m training.simulator.calibration --clients 20000 --seed 1

Conventions: dates are whole days; an outcome spell "starts within n days
after" a date when 0 <= start - date <= n (both ends inclusive, as the label
of a decision point); "employed" in point-in-time rates counts both `employed`
and `subsidised_employment` spells, as employment statistics do.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from model.features import DAYS_PER_YEAR
from model.vocab import CEFR_RANK
from training.simulator.history import simulate
from training.simulator.params import WorldParams

SUCCESS: Final = ("employed", "education")
EMPLOYMENT: Final = ("employed", "subsidised_employment")
B1: Final = CEFR_RANK["B1"]


def _day(values: pd.Series | np.ndarray | Sequence[object]) -> np.ndarray:
    """Dates as float day numbers since 1970-01-01; NaN where missing."""
    stamps = pd.to_datetime(pd.Series(values), errors="raise").dt.floor("D")
    out = (stamps - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _as_day(date: str | pd.Timestamp) -> float:
    return float((pd.Timestamp(date).floor("D") - pd.Timestamp("1970-01-01")).days)


# --------------------------------------------------------------------------- labels


def spell_starts_within(
    outcomes: pd.DataFrame,
    client_id: pd.Series | np.ndarray,
    date: pd.Series | np.ndarray,
    *,
    days: int,
    statuses: Sequence[str] = SUCCESS,
) -> np.ndarray:
    """For each (client, date): does a spell of `statuses` start 0..`days` days after it?

    Independent of `model.decision_points` on purpose: a plain merge of each
    point with the first qualifying spell on or after its date.
    """
    points = pd.DataFrame(
        {"client_id": np.asarray(client_id, dtype=object), "day": _day(date), "row": None}
    )
    points["row"] = np.arange(len(points))
    spells = outcomes.loc[outcomes["status"].isin(list(statuses)), ["client_id", "start_date"]]
    spells = pd.DataFrame(
        {
            "client_id": spells["client_id"].to_numpy(dtype=object),
            "start": _day(spells["start_date"]),
        }
    )
    merged = points.merge(spells, on="client_id", how="left")
    gap = merged["start"] - merged["day"]
    merged["hit"] = (gap >= 0) & (gap <= days)
    hit = merged.groupby("row", sort=True)["hit"].any()
    return hit.reindex(np.arange(len(points)), fill_value=False).to_numpy(dtype=bool)


# --------------------------------------------------------------------------- profile mix


def residence_mix(clients: pd.DataFrame, *, intake_before: str = "2022-01-01") -> pd.Series:
    """Share of each residence basis among clients with intake before the date."""
    before = _day(clients["intake_date"]) < _as_day(intake_before)
    return clients.loc[before, "residence_basis"].value_counts(normalize=True)


def language_shares(clients: pd.DataFrame) -> pd.Series:
    """Share of each mother tongue, largest first."""
    return clients["mother_tongue"].value_counts(normalize=True)


# --------------------------------------------------------------------------- employment


def employed_by_years_since_arrival(
    clients: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    extract_date: str,
    years: Sequence[int] = (1, 2, 3, 4, 5, 6),
    statuses: Sequence[str] = EMPLOYMENT,
) -> pd.DataFrame:
    """Share in employment on the day `n` years after arrival, for each n in `years`.

    Counted among clients whose case was open on that day: on or after their
    intake (nothing is recorded before it), on or before the extract date, and
    not moved away by then.
    """
    arrival = _day(clients["arrival_date"])
    intake = _day(clients["intake_date"])
    extract = _as_day(extract_date)
    ids = clients["client_id"].to_numpy(dtype=object)
    moved = _first_start(outcomes, ids, ("moved_away",))
    rows = []
    for after in years:
        on = np.floor(arrival + after * DAYS_PER_YEAR)
        seen = (on >= intake) & (on <= extract) & ~(moved <= on)
        employed = _in_spell(outcomes, ids[seen], on[seen], statuses)
        rows.append(
            {"years_since_arrival": after, "clients": int(seen.sum()), "employed": employed.mean()}
        )
    return pd.DataFrame(rows).set_index("years_since_arrival")


def _first_start(outcomes: pd.DataFrame, ids: np.ndarray, statuses: Sequence[str]) -> np.ndarray:
    """Day of each client's first spell of `statuses`; inf when there is none."""
    spells = outcomes.loc[outcomes["status"].isin(list(statuses))]
    first = pd.Series(_day(spells["start_date"]), index=spells["client_id"].to_numpy(dtype=object))
    first = first.groupby(level=0).min()
    return first.reindex(ids).fillna(np.inf).to_numpy(dtype=np.float64)


def _in_spell(
    outcomes: pd.DataFrame, ids: np.ndarray, on: np.ndarray, statuses: Sequence[str]
) -> np.ndarray:
    """For each (client, day): is a spell of `statuses` running that day?"""
    points = pd.DataFrame({"client_id": ids, "on": on, "row": np.arange(len(ids))})
    spells = outcomes.loc[outcomes["status"].isin(list(statuses))]
    spells = pd.DataFrame(
        {
            "client_id": spells["client_id"].to_numpy(dtype=object),
            "start": _day(spells["start_date"]),
            "end": np.nan_to_num(_day(spells["end_date"]), nan=np.inf),
        }
    )
    merged = points.merge(spells, on="client_id", how="inner")
    running = (merged["start"] <= merged["on"]) & (merged["on"] < merged["end"])
    hit = merged.loc[running, "row"].unique()
    out = np.zeros(len(ids), dtype=bool)
    out[hit] = True
    return out


def reached_within(
    clients: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    extract_date: str,
    days: int,
    statuses: Sequence[str] = SUCCESS,
) -> pd.Series:
    """Per client with `days` of follow-up after intake: did a spell of `statuses` start by then?

    Clients whose intake is less than `days` before the extract are left out
    (NaN); a client who moved away before reaching work or education counts
    as not reached.
    """
    intake = _day(clients["intake_date"])
    observed = intake + days <= _as_day(extract_date)
    reached = spell_starts_within(
        outcomes, clients["client_id"], clients["intake_date"], days=days, statuses=statuses
    )
    return pd.Series(
        np.where(observed, reached.astype(float), np.nan),
        index=clients["client_id"].to_numpy(dtype=object),
    )


def mothers_of_small_children(clients: pd.DataFrame) -> np.ndarray:
    kids = pd.to_numeric(clients["children_under_school_age"], errors="coerce").fillna(0)
    return ((clients["gender"] == "female") & (kids > 0)).to_numpy(dtype=bool)


def humanitarian(clients: pd.DataFrame) -> np.ndarray:
    return (clients["residence_basis"] == "humanitarian").to_numpy(dtype=bool)


# --------------------------------------------------------------------------- services


def level_after(episodes: pd.DataFrame, *, service: str = "integration_training") -> pd.Series:
    """Finnish level recorded after each completed episode of `service` (CEFR rank, NaN unknown)."""
    done = episodes.loc[(episodes["service"] == service) & (episodes["status"] == "completed")]
    return done["language_level_after"].map(CEFR_RANK).astype(float)


def after_service(
    episodes: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    extract_date: str,
    service: str = "competence_centre",
    days: int = 365,
    statuses: Sequence[str] = ("employed", "education"),
    completed_only: bool = True,
    from_start: bool = False,
) -> dict[str, float]:
    """Where clients went after an episode of `service`: share with each status within `days`.

    By default, among completed episodes whose end is at least `days` before
    the extract, the share with a spell of each status starting 1..`days`
    days after the episode's end. With `completed_only=False` and
    `from_start=True`, every episode that ended (completed or interrupted,
    also when interrupted because the client found work) counts, and spells
    from the episode's start on: closer to "of the clients who left".
    """
    eps = episodes.loc[episodes["service"] == service]
    ended = eps["end_date"].notna() & eps["status"].isin(["completed", "interrupted"])
    if completed_only:
        ended &= eps["status"] == "completed"
    eps = eps.loc[ended]
    end = _day(eps["end_date"])
    eps = eps.loc[end + days <= _as_day(extract_date)]
    end = _day(eps["end_date"])
    since = _day(eps["start_date"]) if from_start else end + 1
    window = (end + days) - since
    out: dict[str, float] = {"episodes": float(len(eps))}
    for status in statuses:
        spells = outcomes.loc[outcomes["status"] == status, ["client_id", "start_date"]]
        first = pd.DataFrame(
            {
                "client_id": spells["client_id"].to_numpy(dtype=object),
                "s": _day(spells["start_date"]),
            }
        )
        merged = pd.DataFrame(
            {"client_id": eps["client_id"].to_numpy(dtype=object), "since": since, "w": window}
        ).reset_index(drop=True)
        merged["row"] = np.arange(len(merged))
        joined = merged.merge(first, on="client_id", how="inner")
        gap = joined["s"] - joined["since"]
        hit = joined.loc[(gap >= 0) & (gap <= joined["w"]), "row"].unique()
        out[status] = len(hit) / len(eps) if len(eps) else float("nan")
    return out


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Figure:
    """One calibration figure: what the world shows beside what is published."""

    name: str
    world: str
    public: str
    source: str


def calibration_table(
    clients: pd.DataFrame,
    episodes: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    extract_date: str,
) -> list[Figure]:
    """The world's calibration figures beside the public ones (cited beside the world's constants)."""
    return [
        *_profile_figures(clients),
        *_employment_figures(clients, outcomes, extract_date),
        *_service_figures(episodes, outcomes, extract_date),
    ]


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _profile_figures(clients: pd.DataFrame) -> list[Figure]:
    figures: list[Figure] = []
    mix = residence_mix(clients)
    for basis, public in (("eu", 28), ("work", 27), ("family", 33), ("humanitarian", 10)):
        figures.append(
            Figure(
                f"residence basis {basis}, intakes before 2022",
                _pct(float(mix.get(basis, 0.0))),
                f"{public} %",
                "Migri / Statistics Finland, first permits and EU registrations 2021",
            )
        )
    top = language_shares(clients).head(6)
    figures.append(
        Figure(
            "largest mother tongues",
            ", ".join(f"{code} {100 * share:.0f} %" for code, share in top.items()),
            "ru, et, ar, en among the largest (Espoo 2023)",
            "City of Espoo, population by language 2023",
        )
    )
    return figures


def _employment_figures(
    clients: pd.DataFrame, outcomes: pd.DataFrame, extract_date: str
) -> list[Figure]:
    by_years = employed_by_years_since_arrival(clients, outcomes, extract_date=extract_date)
    figures = [
        Figure(
            "employed k years after arrival (k = 1..6)",
            ", ".join(_pct(v) for v in by_years["employed"]),
            "rises with years since arrival",
            "Statistics Finland, employment of the foreign-born by years of residence",
        )
    ]
    reached = reached_within(clients, outcomes, extract_date=extract_date, days=3 * 365)
    employed3 = reached_within(
        clients, outcomes, extract_date=extract_date, days=3 * 365, statuses=("employed",)
    )
    for label, mask in (
        ("humanitarian", humanitarian(clients)),
        ("mothers of children under school age", mothers_of_small_children(clients)),
    ):
        figures.append(
            Figure(
                f"employed within 3 years of intake: {label} vs the rest",
                f"{_pct(np.nanmean(employed3[mask]))} vs {_pct(np.nanmean(employed3[~mask]))}",
                "lower than for the rest",
                "Statistics Finland / TEM integration reviews",
            )
        )
    figures.append(
        Figure(
            "employed or in education within 3 years of intake",
            _pct(float(np.nanmean(reached))),
            "sanity band 40-75 %",
            "see docs/world.md",
        )
    )
    return figures


def _service_figures(
    episodes: pd.DataFrame, outcomes: pd.DataFrame, extract_date: str
) -> list[Figure]:
    levels = level_after(episodes).dropna()
    completed = after_service(episodes, outcomes, extract_date=extract_date)
    left = after_service(
        episodes, outcomes, extract_date=extract_date, completed_only=False, from_start=True
    )
    return [
        Figure(
            "completed integration training reaching B1 or higher",
            _pct(float((levels >= B1).mean())),
            "fewer than a third",
            "Finnish National Agency for Education, integration training outcome surveys",
        ),
        Figure(
            "completed competence-centre episodes: employed / education within 365 days of the end",
            f"{_pct(completed['employed'])} / {_pct(completed['education'])}",
            "32 % / 55 %",
            "Omnia competence centre for immigrants, clients who left in 2020",
        ),
        Figure(
            "all competence-centre leavers: employed / education from the start to 365 days after the end",
            f"{_pct(left['employed'])} / {_pct(left['education'])}",
            "32 % / 55 %",
            "as above",
        ),
    ]


def markdown(figures: Sequence[Figure]) -> str:
    lines = ["| figure | world | public figure | source |", "| --- | --- | --- | --- |"]
    lines += [f"| {f.name} | {f.world} | {f.public} | {f.source} |" for f in figures]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - a doc helper
    parser = argparse.ArgumentParser(description="Print the world's calibration table.")
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    params = WorldParams(n_clients=args.clients, seed=args.seed)
    history = simulate(params)
    figures = calibration_table(
        history.clients, history.episodes, history.outcomes, extract_date=params.extract_date
    )
    print(markdown(figures))


if __name__ == "__main__":  # pragma: no cover
    main()
