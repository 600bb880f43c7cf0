"""The drawn history as the three input tables of the data contract.

`clients` comes from the profiles, `episodes` from the reviews and services
the history recorded, and `outcomes` from the two event clocks: each client
is unemployed (or inactive) from intake until finding work or education or
moving away, with pay-subsidy periods as subsidised employment in between.
Work spells record whether the job matches the client's education
(`matches_education`, drawn by `education_matches`). docs/data.md describes
the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from model.vocab import CEFR_LEVELS, REVIEW
from training.simulator.dates import to_dates
from training.simulator.profiles import Profiles
from training.simulator.world import World

# Service of an episode that is a plan review rather than a service.
REVIEW_ROW = -2
# Planned service of an episode that records none.
NOT_RECORDED = -9
# Episode status codes, as indices into the status names.
EPISODE_STATUS = ("completed", "interrupted", "ongoing")


@dataclass
class Episodes:
    """A batch of episodes: service (or REVIEW_ROW), days, status, level after, plan."""

    client: np.ndarray
    service: np.ndarray
    start: np.ndarray
    end: np.ndarray  # -1: still running on the extract date
    status: np.ndarray  # index into EPISODE_STATUS
    level: np.ndarray  # Finnish rank after the episode, NaN when not measured
    planned: np.ndarray  # action index, or NOT_RECORDED


@dataclass
class Subsidies:
    """A batch of pay-subsidy periods."""

    client: np.ndarray
    start: np.ndarray
    end: np.ndarray  # -1: open on the extract date


@dataclass
class Events:
    """What the event clocks left: success day and kind, and the day of moving away."""

    success_day: np.ndarray  # -1: none
    success_kind: np.ndarray  # "employed" or "education"
    move_day: np.ndarray


def clients_frame(profiles: Profiles) -> pd.DataFrame:
    levels = np.asarray(CEFR_LEVELS, dtype=object)
    finnish = np.where(
        np.isnan(profiles.finnish_intake_observed),
        "unknown",
        levels[np.nan_to_num(profiles.finnish_intake_observed).astype(int)],
    )
    return pd.DataFrame(
        {
            "client_id": profiles.client_id,
            "intake_date": to_dates(profiles.intake),
            "arrival_date": to_dates(profiles.arrival),
            "birth_year": profiles.birth_year,
            "gender": profiles.gender,
            "mother_tongue": profiles.mother_tongue,
            "citizenship_region": profiles.citizenship_region,
            "residence_basis": profiles.residence_basis,
            "education_level": profiles.education_level,
            "prior_work_years": profiles.prior_work_observed,
            "literacy_needs": profiles.literacy_needs,
            "finnish_level": finnish,
            "health_limitation": profiles.health_limitation,
            "children_under_school_age": profiles.children_under_school_age,
            **profiles.extras,
        }
    )


def episodes_frame(world: World, batches: list[Episodes]) -> pd.DataFrame:
    def joined(field: str) -> np.ndarray:
        return np.concatenate([getattr(batch, field) for batch in batches])

    client, service, start, end = (
        joined("client"),
        joined("service"),
        joined("start"),
        joined("end"),
    )
    status, level, planned = joined("status"), joined("level"), joined("planned")
    codes = np.asarray([*world.actions], dtype=object)
    service_code = np.where(service == REVIEW_ROW, REVIEW, codes[np.maximum(service, 0)])
    planned_code = np.where(planned >= 0, codes[np.maximum(planned, 0)], None)
    levels = np.asarray(CEFR_LEVELS, dtype=object)
    frame = pd.DataFrame(
        {
            "client_id": world.profiles.client_id[client],
            "service": service_code,
            "start_date": to_dates(start),
            "end_date": to_dates(np.where(end >= 0, end, -1), missing=-1),
            "status": np.asarray(EPISODE_STATUS, dtype=object)[status],
            "language_level_after": np.where(
                np.isnan(level), None, levels[np.nan_to_num(level).astype(int)]
            ),
            "planned_service": planned_code,
        }
    )
    return frame.sort_values(["client_id", "start_date", "service"], kind="mergesort").reset_index(
        drop=True
    )


# Chance that a job matches the client's education, by education level; a
# completed service of MATCH_SERVICES raises it (a recognised degree opens the
# jobs it qualifies for), and so does each CEFR level of Finnish above A2.
MATCH_BY_EDUCATION: Final = {
    "none": 0.55,
    "primary": 0.5,
    "secondary": 0.45,
    "vocational": 0.5,
    "bachelor": 0.35,
    "master_or_higher": 0.3,
    "unknown": 0.4,
}
MATCH_SERVICES: Final = {"degree_recognition": 0.3, "vocational_training": 0.15}
MATCH_PER_FINNISH_LEVEL: Final = 0.05
# Share of work spells whose match the case system leaves unrecorded.
MATCH_UNRECORDED: Final = 0.1


def education_matches(
    world: World,
    client: np.ndarray,
    start: np.ndarray,
    status: np.ndarray,
    batches: list[Episodes],
) -> np.ndarray:
    """`matches_education` of outcome spells: True/False for work spells (None when
    unrecorded), None for the rest. Its own random stream, so the other tables do not
    change with it."""
    profiles = world.profiles
    rng = np.random.default_rng([world.params.seed, 13])
    education = np.asarray(profiles.education_level, dtype=object)[client]
    chance = np.asarray([MATCH_BY_EDUCATION.get(str(e), 0.4) for e in education])
    finnish = np.asarray(profiles.finnish_intake_true, dtype=float)[client]
    chance += MATCH_PER_FINNISH_LEVEL * np.clip(finnish - 2, 0, None)
    codes = list(world.actions)
    for code, boost in MATCH_SERVICES.items():
        if code not in codes or not batches:
            continue
        index = codes.index(code)
        done = np.full(len(profiles.intake), np.iinfo(np.int64).max)
        for batch in batches:
            completed = (batch.service == index) & (batch.status == 0) & (batch.end >= 0)
            np.minimum.at(done, batch.client[completed], batch.end[completed])
        chance += boost * (done[client] < start)
    draws = rng.random(len(client))
    recorded = rng.random(len(client)) >= MATCH_UNRECORDED
    work = np.isin(status, ("employed", "subsidised_employment")) & recorded
    values = np.full(len(client), None, dtype=object)
    values[work] = draws[work] < np.clip(chance[work], 0.0, 0.95)
    return values


def outcomes_frame(
    world: World,
    events: Events,
    subsidies: list[Subsidies],
    episodes: list[Episodes] | None = None,
) -> pd.DataFrame:
    profiles = world.profiles
    extract = world.extract_day
    # When each client's spell of (un)employment ends: success, a move, or never.
    moved = (events.move_day <= extract) & (
        (events.success_day < 0) | (events.move_day < events.success_day)
    )
    succeeded = events.success_day >= 0
    stop = np.where(succeeded, events.success_day, np.where(moved, events.move_day, -1))
    subsidy = _sorted_subsidies(subsidies)
    spells = [_base_spells(profiles, subsidy, stop)]
    if len(subsidy.client):
        spells.append(
            (
                subsidy.client,
                np.full(len(subsidy.client), "subsidised_employment", dtype=object),
                subsidy.start,
                subsidy.end,
            )
        )
    # The outcome spells themselves.
    rng = np.random.default_rng([world.params.seed, 11])
    success_rows = np.flatnonzero(succeeded)
    duration = rng.exponential(3000, len(success_rows)).astype(np.int64) + 30
    success_end = events.success_day[success_rows] + duration
    spells.append(
        (
            success_rows,
            events.success_kind[success_rows],
            events.success_day[success_rows],
            np.where(success_end <= extract, success_end, -1),
        )
    )
    moved_rows = np.flatnonzero(moved)
    spells.append(
        (
            moved_rows,
            np.full(len(moved_rows), "moved_away", dtype=object),
            events.move_day[moved_rows],
            np.full(len(moved_rows), -1),
        )
    )
    client, status, start, end = (np.concatenate(column) for column in zip(*spells, strict=True))
    keep = (start <= extract) & ((end < 0) | (end >= start))
    end = np.where(end > extract, -1, end)
    frame = pd.DataFrame(
        {
            "client_id": profiles.client_id[client[keep]],
            "status": status[keep],
            "start_date": to_dates(start[keep]),
            "end_date": to_dates(end[keep], missing=-1),
            "matches_education": education_matches(
                world, client[keep], start[keep], status[keep], episodes or []
            ),
        }
    )
    return frame.sort_values(["client_id", "start_date", "status"], kind="mergesort").reset_index(
        drop=True
    )


def _sorted_subsidies(subsidies: list[Subsidies]) -> Subsidies:
    """All pay-subsidy periods, by client and start."""
    if subsidies:
        client = np.concatenate([s.client for s in subsidies])
        start = np.concatenate([s.start for s in subsidies])
        end = np.concatenate([s.end for s in subsidies])
    else:
        client = start = end = np.zeros(0, dtype=np.int64)
    order = np.lexsort((start, client))
    return Subsidies(client[order], start[order], end[order])


def _base_spells(
    profiles: Profiles, subsidy: Subsidies, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unemployed (or inactive) spells: from intake to the first subsidy start,
    between subsidies, and after the last until the stop day (or open)."""
    n = len(profiles.intake)
    base_status = np.where(profiles.inactive, "inactive", "unemployed").astype(object)
    client = np.concatenate([np.arange(n), subsidy.client])
    start = np.concatenate([profiles.intake, np.where(subsidy.end >= 0, subsidy.end, -1)])
    order = np.lexsort((start, client))
    client, start = client[order], start[order]
    keep = start >= 0
    client, start = client[keep], start[keep]
    # End of each base spell: the next subsidy start for the client, else the stop day.
    next_subsidy = np.full(len(client), -1, dtype=np.int64)
    if len(subsidy.client):
        pos = np.searchsorted(
            subsidy.client * 10**7 + subsidy.start, client * 10**7 + start, side="left"
        )
        valid = pos < len(subsidy.client)
        pos_clipped = np.minimum(pos, len(subsidy.client) - 1)
        same = valid & (subsidy.client[pos_clipped] == client)
        next_subsidy = np.where(same, subsidy.start[pos_clipped], -1)
    end = np.where(next_subsidy >= 0, next_subsidy, stop[client])
    # A subsidy cut short by work or a move leaves no base spell after it.
    nonempty = (end < 0) | (end > start)
    client, start, end = client[nonempty], start[nonempty], end[nonempty]
    return client, base_status[client], start, end
