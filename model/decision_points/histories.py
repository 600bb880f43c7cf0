"""The clients' histories: the three input tables as arrays keyed by a client code.

Each client gets the integer code of its row in `clients` (0..n-1). Episode
and outcome rows of clients that are not in `clients`, or with no start
date, are dropped (validation rejects them). An end date before its start
date (the contract forbids it) is read as the start date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Final

import numpy as np
import pandas as pd

from model.decision_points.conversions import (
    EPOCH,
    categories,
    cefr_ranks,
    day_numbers,
    planned_actions,
    require_columns,
)
from model.decision_points.events import SortedEvents
from model.errors import DataContractError
from model.vocab import REVIEW, UNKNOWN

UNEMPLOYED: Final = "unemployed"


class ClientHistories:
    """Every client's profile, episodes and outcome spells, with their sorted event lists.

    `clients` is the clients table as given; episodes and outcomes are numpy
    arrays (`episode_*`, `outcome_*`) with the client code of each row. The
    event lists the features and labels search are built once here.
    """

    def __init__(
        self, clients: pd.DataFrame, episodes: pd.DataFrame, outcomes: pd.DataFrame
    ) -> None:
        require_columns(clients, ("client_id",), "clients")
        require_columns(
            episodes, ("client_id", "service", "start_date", "end_date", "status"), "episodes"
        )
        require_columns(outcomes, ("client_id", "status", "start_date", "end_date"), "outcomes")
        self.clients = clients
        n_clients = len(clients)
        # One factorisation of every id: clients come first, so a unique client
        # table gets the codes 0..n-1, and any other id is not a client.
        all_ids = pd.concat(
            [clients["client_id"], episodes["client_id"], outcomes["client_id"]], ignore_index=True
        )
        all_codes, _ = pd.factorize(all_ids)
        client_codes = all_codes[:n_clients]
        if not np.array_equal(client_codes, np.arange(n_clients)):
            bad = int(np.flatnonzero(client_codes != np.arange(n_clients))[0])
            value = clients["client_id"].iloc[bad]
            why = "is missing" if pd.isna(value) else f"{value!r} appears more than once"
            raise DataContractError(f"clients: row {bad}: client_id {why}")
        self.client_ids = clients["client_id"].to_numpy(dtype=object)
        # rank of each client's id, for sorting output by client_id
        self.client_rank = np.empty(n_clients, dtype=np.int64)
        self.client_rank[np.argsort(self.client_ids, kind="stable")] = np.arange(n_clients)

        def client_code(part: np.ndarray) -> np.ndarray:
            return np.where((part >= 0) & (part < n_clients), part, -1).astype(np.int64)

        n_episodes = len(episodes)
        episode_code = client_code(all_codes[n_clients : n_clients + n_episodes])
        start = day_numbers(episodes["start_date"])
        end = day_numbers(episodes["end_date"])
        end = np.where(end < start, start, end)
        service = categories(episodes["service"])
        keep = (episode_code >= 0) & ~np.isnan(start)
        self.episode_code = episode_code[keep]
        self.episode_start = start[keep]
        self.episode_end = end[keep]
        self.episode_service = service[keep]
        self.episode_is_review = self.episode_service == REVIEW
        self.episode_status = categories(episodes["status"])[keep]
        self.episode_level = (
            cefr_ranks(episodes["language_level_after"])[keep]
            if "language_level_after" in episodes.columns
            else np.full(int(keep.sum()), np.nan)
        )
        self.episode_planned = (
            planned_actions(episodes["planned_service"])[keep]
            if "planned_service" in episodes.columns
            else np.full(int(keep.sum()), None, dtype=object)
        )

        outcome_code = client_code(all_codes[n_clients + n_episodes :])
        outcome_start = day_numbers(outcomes["start_date"])
        outcome_end = day_numbers(outcomes["end_date"])
        outcome_end = np.where(outcome_end < outcome_start, outcome_start, outcome_end)
        keep = (outcome_code >= 0) & ~np.isnan(outcome_start)
        self.outcome_code = outcome_code[keep]
        self.outcome_start = outcome_start[keep]
        self.outcome_end = outcome_end[keep]
        self.outcome_status = categories(outcomes["status"])[keep]

        service_rows = ~self.episode_is_review
        self.service_starts = SortedEvents(
            n_clients,
            self.episode_code[service_rows],
            self.episode_start[service_rows],
            service=self.episode_service[service_rows],
            status=self.episode_status[service_rows],
            end=self.episode_end[service_rows],
        )
        self.service_ends = SortedEvents(
            n_clients,
            self.episode_code[service_rows],
            self.episode_end[service_rows],
            service=self.episode_service[service_rows],
            status=self.episode_status[service_rows],
            level=self.episode_level[service_rows],
        )
        self.review_starts = SortedEvents(
            n_clients,
            self.episode_code[self.episode_is_review],
            self.episode_start[self.episode_is_review],
        )
        unemployed = self.outcome_status == UNEMPLOYED
        self.unemployed_starts = SortedEvents(
            n_clients, self.outcome_code[unemployed], self.outcome_start[unemployed]
        )
        self.unemployed_ends = SortedEvents(
            n_clients, self.outcome_code[unemployed], self.outcome_end[unemployed]
        )
        other = (self.outcome_status != UNEMPLOYED) & (self.outcome_status != UNKNOWN)
        self.non_unemployed_starts = SortedEvents(
            n_clients, self.outcome_code[other], self.outcome_start[other]
        )

    def target_starts(self, statuses: Sequence[str]) -> SortedEvents:
        """Starts of the outcome spells whose status is one of `statuses`."""
        mask = np.isin(self.outcome_status, np.asarray(list(statuses), dtype=object))
        return SortedEvents(len(self.client_ids), self.outcome_code[mask], self.outcome_start[mask])

    def codes_of(self, ids: pd.Series) -> np.ndarray:
        """Client codes of `ids`; `DataContractError` when one is not in clients."""
        n_clients = len(self.client_ids)
        both = pd.concat([self.clients["client_id"], ids], ignore_index=True)
        codes = pd.factorize(both)[0][n_clients:]
        unknown = (codes < 0) | (codes >= n_clients)
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise DataContractError(
                f"decision points: row {row}: client_id {ids.iloc[row]!r} is not in clients"
            )
        return codes.astype(np.int64)

    def latest_date(self) -> date | None:
        """The latest date appearing anywhere in the three tables."""
        parts = [self.episode_start, self.episode_end, self.outcome_start, self.outcome_end]
        parts += [
            day_numbers(self.clients[column])
            for column in ("intake_date", "arrival_date")
            if column in self.clients
        ]
        every = np.concatenate(parts)
        if every.size == 0 or np.isnan(every).all():
            return None
        return (EPOCH + np.timedelta64(int(np.nanmax(every)), "D")).astype(date)
