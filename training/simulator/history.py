"""Drawing the history: every client's case from intake to the extract date.

From intake, a case moves through *epochs*. Each starts at a plan review,
where the historical caseworker policy picks the next action. "No new
service" means the next review comes a few months later; a service starts
after a wait for a place, runs for a while (or is interrupted), and the next
review follows its end. A case leaves integration services after a few years
or epochs; from then on only the outcome clocks run.

Two event clocks run throughout, in continuous time: finding work or starting
education (a hazard that changes from segment to segment, see `World`), and
moving away (a constant hazard). Whichever comes first ends the case, as does
the extract date. The data records the reviews and services as episodes,
the clocks' events as outcome spells, and every decision point whose
decision the data shows goes to the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.catalogue import Catalogue
from model.features import DAYS_PER_YEAR
from training.simulator.design import Design
from training.simulator.frames import (
    NOT_RECORDED,
    REVIEW_ROW,
    Episodes,
    Events,
    Subsidies,
    clients_frame,
    episodes_frame,
    outcomes_frame,
)
from training.simulator.params import WorldParams
from training.simulator.policy import choose
from training.simulator.services import finish_service, plan_service, wait_days
from training.simulator.state import State
from training.simulator.truth import Decisions, decision_states, truth_table
from training.simulator.world import World

# A decision at a review counts as the review's own (not the start's) when no
# service starts within this many days of it.
REVIEW_WINDOW_DAYS = 30


@dataclass
class History:
    """A drawn world as data: the three input tables and the truth."""

    clients: pd.DataFrame
    episodes: pd.DataFrame
    outcomes: pd.DataFrame
    truth: pd.DataFrame


def simulate(
    params: WorldParams,
    catalogue: Catalogue | None = None,
    progress: Callable[[str], None] | None = None,
    design: Design | None = None,
) -> History:
    """Draw a world and its history; return the three tables and the truth.

    `design` is the built-in world's unless given (see `training.simulator.design`).
    """
    world = World(params, catalogue, design)
    return _HistoryDraw(world, progress).run()


def simulate_with_features(
    params: WorldParams, catalogue: Catalogue | None = None, design: Design | None = None
) -> tuple[History, pd.DataFrame]:
    """`simulate`, plus the world's own features at its decision points.

    The second frame has `client_id`, `decision_date`, then every feature of
    `World.features` as the simulator computes it from its internal state, row
    for row with `History.truth`. `model.decision_points` derives the same
    features from the written tables; tests/training/test_simulator.py checks that the
    two agree.
    """
    draw = _HistoryDraw(World(params, catalogue, design), None, keep_features=True)
    history = draw.run()
    features = draw.features if draw.features is not None else pd.DataFrame()
    return history, features


def simulate_with_decisions(
    params: WorldParams, design: Design | None = None
) -> tuple[History, World, State, np.ndarray]:
    """`simulate`, plus the world and the walkers of its decision points.

    The walkers (and each point's kind: "review", "review_planned" or
    "service_start") are row for row with `History.truth`, as the truth saw
    them, so that a test can follow their futures again.
    """
    world = World(params, None, design)
    draw = _HistoryDraw(world, None)
    history = draw.run()
    state, kind = decision_states(world, draw.decisions)
    return history, world, state, kind


class _Clocks:
    """The two event clocks of every client: success and moving away.

    Success is drawn as an Exp(1) budget that the integrated hazard uses up;
    moving away as a fixed time from intake.
    """

    def __init__(self, world: World) -> None:
        params = world.params
        n = params.n_clients
        move_rate = params.move_away_per_year / DAYS_PER_YEAR
        rng = np.random.default_rng([params.seed, 7])
        self.world = world
        self.success_budget = rng.exponential(size=n)  # what is left of the Exp(1) budget
        self.move_time = world.profiles.intake + rng.exponential(size=n) / move_rate
        self.move_day = np.floor(self.move_time).astype(np.int64)
        self.kind_uniform = rng.random(n)  # employed or education, by the hazards' shares
        self.success_day = np.full(n, -1, dtype=np.int64)
        self.success_kind = np.full(n, "", dtype=object)

    def run(
        self,
        state: State,
        clients: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        activity: np.ndarray,
        open_cases: np.ndarray,
    ) -> None:
        """Run both clocks over [start, end) for the clients whose case is open.

        A success or a move closes the case in `open_cases`.
        """
        live = open_cases[clients]
        if not live.any():
            return
        clients = clients[live]
        start = start[live].astype(np.float64)
        end = end[live].astype(np.float64)
        activity = activity[live]
        employment, education = self.world.hazard(
            state.take(clients), start.astype(np.int64), activity
        )
        hazard = employment + education
        length = np.maximum(end - start, 0.0)
        need = self.success_budget[clients]
        hit = hazard * length >= need
        hit_time = start + np.where(hit, need / np.where(hazard > 0, hazard, 1.0), np.inf)
        moved_first = self.move_time[clients] < np.minimum(hit_time, end)
        success = hit & ~moved_first
        self.success_budget[clients] = np.where(hit, 0.0, need - hazard * length)
        day = np.floor(np.where(success, hit_time, 0.0)).astype(np.int64)
        if success.any():
            succeeded = clients[success]
            self.success_day[succeeded] = day[success]
            share_employment = employment[success] / hazard[success]
            self.success_kind[succeeded] = np.where(
                self.kind_uniform[succeeded] < share_employment, "employed", "education"
            )
            open_cases[succeeded] = False
        open_cases[clients[moved_first]] = False

    def events(self) -> Events:
        return Events(self.success_day, self.success_kind, self.move_day)


def _intake_state(world: World) -> State:
    """Every client at intake: nothing done yet, Finnish as at intake."""
    profiles = world.profiles
    n = world.params.n_clients
    return State(
        client=np.arange(n),
        day=profiles.intake.copy(),
        epoch=np.zeros(n, dtype=np.int64),
        completed=np.zeros((n, world.n_services), dtype=np.int16),
        n_interrupted=np.zeros(n, dtype=np.int64),
        n_services=np.zeros(n, dtype=np.int64),
        n_reviews=np.zeros(n, dtype=np.int64),
        last_service=np.full(n, -1, dtype=np.int64),
        last_status=np.full(n, -1, dtype=np.int64),
        last_end=np.full(n, np.nan),
        finnish_observed=profiles.finnish_intake_observed.copy(),
        finnish_true=profiles.finnish_intake_true.copy(),
        unemployed_days=np.zeros(n),
        lasting_employment=np.zeros(n),
        lasting_education=np.zeros(n),
    )


class _HistoryDraw:
    """Walks every open case forward one epoch at a time, recording what the data shows."""

    def __init__(
        self,
        world: World,
        progress: Callable[[str], None] | None,
        *,
        keep_features: bool = False,
    ) -> None:
        self.world = world
        self.progress = progress
        self.keep_features = keep_features
        self.features: pd.DataFrame | None = None
        self.episodes: list[Episodes] = []
        self.subsidies: list[Subsidies] = []
        self.decisions: list[Decisions] = []
        self.clocks = _Clocks(world)
        params = world.params
        self.exit_day = world.profiles.intake + int(params.max_years_in_services * DAYS_PER_YEAR)
        # No success, not moved, before the extract.
        self.open = np.ones(params.n_clients, dtype=bool)

    def _note(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what)

    def run(self) -> History:
        world = self.world
        state = _intake_state(world)
        for epoch in range(world.params.max_epochs + 1):
            clients = np.flatnonzero(self.open)
            if not len(clients):
                break
            self._note(f"epoch {epoch}: {len(clients)} open cases")
            self._epoch(state, clients)
        self._note("truth")
        clients = clients_frame(world.profiles)
        episodes = episodes_frame(world, self.episodes)
        outcomes = outcomes_frame(world, self.clocks.events(), self.subsidies, self.episodes)
        truth, self.features = truth_table(world, self.decisions, with_features=self.keep_features)
        return History(clients, episodes, outcomes, truth)

    def _epoch(self, state: State, clients: np.ndarray) -> None:
        """One plan review of every open case, and what follows until the next."""
        world = self.world
        clients = self._close_cases(state, clients)
        if not len(clients):
            return
        walkers = state.take(clients)
        review_day = walkers.day.copy()
        review_state, action = self._review(walkers, clients, review_day)
        continuing = action == world.no_new_service
        if continuing.any():
            self._continue_without_service(
                state, walkers, clients, continuing, review_state, review_day
            )
        in_service = ~continuing
        if in_service.any() and not self._wait_for_place(
            state, walkers, clients, in_service, action, review_state, review_day
        ):
            # No planned service started before the data ends; cases whose
            # next review falls after the extract close at that review.
            return
        self.open &= state.day <= world.extract_day

    def _close_cases(self, state: State, clients: np.ndarray) -> np.ndarray:
        """Close the cases that leave integration services or whose review is
        after the extract date; return the clients still open."""
        world = self.world
        # Out of integration services: only the outcome clocks run on.
        leaving = (state.day[clients] >= self.exit_day[clients]) | (
            state.epoch[clients] >= world.params.max_epochs
        )
        if leaving.any():
            gone = clients[leaving]
            self.clocks.run(
                state,
                gone,
                state.day[gone],
                np.full(len(gone), world.extract_day + 1),
                np.full(len(gone), -1),
                self.open,
            )
            self.open[gone] = False
            clients = clients[~leaving]
        # Reviews after the extract date are not in the data.
        beyond = state.day[clients] > world.extract_day
        if beyond.any():
            self.open[clients[beyond]] = False
            clients = clients[~beyond]
        return clients

    def _review(
        self, walkers: State, clients: np.ndarray, review_day: np.ndarray
    ) -> tuple[State, np.ndarray]:
        """The caseworker's choice at the review, recorded as a review episode.

        Returns the walkers as the decision saw them, and the action chosen.
        """
        world = self.world
        params = world.params
        action, _ = choose(world, walkers)
        record = (
            world.noise.record_uniform[walkers.client, world.noise_epoch(walkers)]
            < params.planned_service_recorded
        )
        n = len(clients)
        self.episodes.append(
            Episodes(
                client=clients,
                service=np.full(n, REVIEW_ROW),
                start=review_day,
                end=review_day,
                status=np.full(n, 0),
                level=np.full(n, np.nan),
                planned=np.where(record, action, NOT_RECORDED),
            )
        )
        review_state = walkers.take(np.arange(n))
        walkers.n_reviews = walkers.n_reviews + 1
        return review_state, action

    def _decide(
        self,
        state: State,
        action: np.ndarray,
        kind: str,
        day: np.ndarray,
        wait: np.ndarray | None = None,
    ) -> None:
        if wait is None:
            wait = np.zeros(len(state), dtype=np.int64)
        self.decisions.append(Decisions(state, action, kind, day, wait))

    def _continue_without_service(
        self,
        state: State,
        walkers: State,
        clients: np.ndarray,
        continuing: np.ndarray,
        review_state: State,
        review_day: np.ndarray,
    ) -> None:
        """No new service: the case continues until the next review."""
        world = self.world
        rows = np.flatnonzero(continuing)
        moving = clients[continuing]
        unemployed_rate = world.unemployed_rate(walkers)[continuing]
        continued = walkers.take(rows)
        next_review = (
            review_day[continuing]
            + world.noise.review_interval[continued.client, world.noise_epoch(continued)]
        )
        self._decide(
            review_state.take(rows),
            np.full(len(moving), world.no_new_service),
            "review",
            review_day[continuing],
        )
        state.put(moving, continued)
        self.clocks.run(
            state, moving, review_day[continuing], next_review, np.full(len(moving), -1), self.open
        )
        state.unemployed_days[moving] += unemployed_rate * (next_review - review_day[continuing])
        state.day[moving] = next_review
        state.epoch[moving] += 1

    def _wait_for_place(
        self,
        state: State,
        walkers: State,
        clients: np.ndarray,
        in_service: np.ndarray,
        action: np.ndarray,
        review_state: State,
        review_day: np.ndarray,
    ) -> bool:
        """A service was agreed: wait for a place, then start it.

        Returns whether any of the services started before the data ends.
        """
        world = self.world
        rows = np.flatnonzero(in_service)
        waiting = clients[in_service]
        service = action[in_service]
        reviewed = review_day[in_service]
        waiters = walkers.take(rows)
        wait = wait_days(world, waiters, service)
        start = reviewed + wait
        state.put(waiting, waiters)
        self.clocks.run(state, waiting, reviewed, start, np.full(len(waiting), -1), self.open)
        started = self.open[waiting] & (start <= world.extract_day)
        # The review is a decision of its own when no service starts within
        # its window: the wait was long, or work or a move came first.
        long_wait = (wait > REVIEW_WINDOW_DAYS) | ~started
        if long_wait.any():
            self._decide(
                review_state.take(rows[long_wait]),
                service[long_wait],
                "review_planned",
                reviewed[long_wait],
                wait=wait[long_wait],
            )
        # The data ends before the planned start: the case is not followed further.
        self.open[waiting[~started]] = False
        if not started.any():
            return False
        clients = waiting[started]
        service = service[started]
        start = start[started]
        end, interrupted = self._start_service(state, clients, service, start, reviewed[started])
        self._end_service(state, clients, service, start, end, interrupted)
        return True

    def _start_service(
        self,
        state: State,
        clients: np.ndarray,
        service: np.ndarray,
        start: np.ndarray,
        review_day: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Start the services and run the clocks while they run; return their
        planned end days and whether they are interrupted."""
        world = self.world
        walkers = state.take(clients)
        walkers.unemployed_days = walkers.unemployed_days + world.unemployed_rate(walkers) * (
            start - review_day
        )
        walkers.day = start
        self._decide(walkers.take(np.arange(len(clients))), service, "service_start", start)
        end, interrupted = plan_service(world, walkers, service, start)
        state.put(clients, walkers)
        self.clocks.run(state, clients, start, end, service, self.open)
        return end, interrupted

    def _end_service(
        self,
        state: State,
        clients: np.ndarray,
        service: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        interrupted: np.ndarray,
    ) -> None:
        """Record the service episode, apply the service, and run the clocks
        until the next review."""
        world = self.world
        clocks = self.clocks
        extract = world.extract_day
        finished = self.open[clients] & (end <= extract)
        subsidy = world.service_tables.paid_work[service]
        # Episodes cut by success, a move or the extract date.
        stop_day = np.where(
            clocks.success_day[clients] >= 0,
            clocks.success_day[clients],
            np.minimum(clocks.move_day[clients], extract + 1),
        )
        cut = ~finished
        episode_end = np.where(cut, np.where(stop_day <= extract, stop_day, -1), end)
        episode_status = np.where(
            cut, np.where(stop_day <= extract, 1, 2), np.where(interrupted, 1, 0)
        )
        walkers = state.take(clients)
        walkers.n_services = walkers.n_services + 1
        level = finish_service(world, walkers, service, start, end, interrupted)
        self.episodes.append(
            Episodes(
                client=clients,
                service=service,
                start=start,
                end=episode_end,
                status=episode_status,
                level=np.where(finished, level, np.nan),
                planned=np.full(len(clients), NOT_RECORDED),
            )
        )
        if subsidy.any():
            self.subsidies.append(
                Subsidies(
                    clients[subsidy],
                    start[subsidy],
                    np.where(episode_end[subsidy] >= 0, episode_end[subsidy], -1),
                )
            )
        walkers.unemployed_days = walkers.unemployed_days + np.where(
            subsidy, 0.0, world.unemployed_rate(walkers) * (end - start)
        )
        gap = world.noise.gap[walkers.client, world.noise_epoch(walkers)]
        next_review = end + gap
        state.put(clients, walkers)
        self.clocks.run(state, clients, end, next_review, np.full(len(clients), -1), self.open)
        state.unemployed_days[clients] += world.unemployed_rate(state.take(clients)) * gap
        state.day[clients] = next_review
        state.epoch[clients] += 1
