"""Drawing the history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from model.catalogue import Catalogue
from model.features import DAYS_PER_YEAR
from model.vocab import CEFR_LEVELS, REVIEW
from training.simulator.dates import to_dates
from training.simulator.params import WorldParams
from training.simulator.paths import path_success_probability
from training.simulator.profiles import Profiles
from training.simulator.state import STATE_FIELDS, State
from training.simulator.world import World


@dataclass
class History:
    clients: pd.DataFrame
    episodes: pd.DataFrame
    outcomes: pd.DataFrame
    truth: pd.DataFrame


def simulate(
    params: WorldParams, catalogue: Catalogue | None = None, progress: Any = None
) -> History:
    """Draw a world and its history; return the three tables and the truth."""
    world = World(params, catalogue)
    return _History(world, progress).run()


def simulate_with_features(
    params: WorldParams, catalogue: Catalogue | None = None
) -> tuple[History, pd.DataFrame]:
    """`simulate`, plus the world's own features at its decision points.

    The second frame has `client_id`, `decision_date`, then every feature of
    `World.features` as the simulator computes it from its internal state, row
    for row with `History.truth`. `model.decision_points` derives the same
    features from the written tables; tests/test_simulator.py checks that the
    two agree.
    """
    run = _History(World(params, catalogue), None, keep_features=True)
    history = run.run()
    features = run.features if run.features is not None else pd.DataFrame()
    return history, features


class _History:
    def __init__(self, world: World, progress: Any, *, keep_features: bool = False) -> None:
        self.world = world
        self.progress = progress
        self.keep_features = keep_features
        self.features: pd.DataFrame | None = None
        self.episodes: list[dict[str, np.ndarray]] = []
        self.spells: list[dict[str, np.ndarray]] = []
        self.decisions: list[dict[str, Any]] = []

    def note(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what)

    def run(self) -> History:
        world = self.world
        p = world.params
        profiles = world.profiles
        n = p.n_clients
        mu = p.move_away_per_year / DAYS_PER_YEAR
        rng = np.random.default_rng([p.seed, 7])
        clock_success = rng.exponential(size=n)  # remaining Exp(1) budget
        self.move_time = profiles.intake + rng.exponential(size=n) / mu
        move_day = np.floor(self.move_time).astype(np.int64)
        type_u = rng.random(n)
        state = State(
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
        self.success_day = np.full(n, -1, dtype=np.int64)
        self.success_kind = np.full(n, "", dtype=object)
        self.success_budget = clock_success
        self.move_day = move_day
        self.kind_uniform = type_u
        self.subsidy: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        exit_day = profiles.intake + int(p.max_years_in_services * DAYS_PER_YEAR)
        alive = np.ones(n, dtype=bool)  # no success, not moved, before the extract

        for _epoch in range(p.max_epochs + 1):
            idx = np.flatnonzero(alive)
            if not len(idx):
                break
            self.note(f"epoch {_epoch}: {len(idx)} open cases")
            sub = state.take(idx)
            # Out of integration services: only the outcome clock runs on.
            leaving = (sub.day >= exit_day[idx]) | (sub.epoch >= p.max_epochs)
            if leaving.any():
                j = idx[leaving]
                self.segment(
                    state,
                    j,
                    state.day[j],
                    np.full(len(j), world.extract_day + 1),
                    np.full(len(j), -1),
                    alive,
                )
                alive[j] = False
                idx = idx[~leaving]
                sub = state.take(idx)
            # Reviews after the extract date are not in the data.
            beyond = sub.day > world.extract_day
            if beyond.any():
                alive[idx[beyond]] = False
                idx = idx[~beyond]
                sub = state.take(idx)
            if not len(idx):
                continue
            action, _ = world.choose(sub)
            review_day = sub.day.copy()
            record = (
                world.noise.record_uniform[sub.client, np.minimum(sub.epoch, p.max_epochs - 1)]
                < p.planned_service_recorded
            )
            self.episodes.append(
                dict(
                    client=idx,
                    service=np.full(len(idx), -2),
                    start=review_day,
                    end=review_day,
                    status=np.full(len(idx), 0),
                    level=np.full(len(idx), np.nan),
                    planned=np.where(record, action, -9),
                )
            )
            review_state = sub.take(np.arange(len(idx)))
            sub.n_reviews = sub.n_reviews + 1
            rate_u = world.unemployed_rate(sub)
            nns = action == world.no_new_service
            # -- no new service: the case continues until the next review
            if nns.any():
                j = idx[nns]
                s_nns = sub.take(np.flatnonzero(nns))
                nxt = (
                    review_day[nns]
                    + world.noise.review_interval[
                        s_nns.client, np.minimum(s_nns.epoch, p.max_epochs - 1)
                    ]
                )
                self.decision(
                    review_state.take(np.flatnonzero(nns)),
                    np.full(len(j), world.no_new_service),
                    "review",
                    review_day[nns],
                )
                state.put(j, s_nns)
                self.segment(state, j, review_day[nns], nxt, np.full(len(j), -1), alive)
                state.unemployed_days[j] += rate_u[nns] * (nxt - review_day[nns])
                state.day[j] = nxt
                state.epoch[j] += 1
            # -- a service: wait for a place, run it, review after its end
            svc = ~nns
            if svc.any():
                j = idx[svc]
                s_svc = sub.take(np.flatnonzero(svc))
                a = action[svc]
                wait = world.wait_days(s_svc, a)
                start = review_day[svc] + wait
                state.put(j, s_svc)
                self.segment(state, j, review_day[svc], start, np.full(len(j), -1), alive)
                started = alive[j] & (start <= world.extract_day)
                # A review is a decision of its own when no service starts within
                # 30 days: the wait was long, or work or a move came first.
                long_wait = (wait > 30) | ~started
                if long_wait.any():
                    rs = review_state.take(np.flatnonzero(svc)[long_wait])
                    self.decision(
                        rs,
                        a[long_wait],
                        "review_planned",
                        review_day[svc][long_wait],
                        wait=wait[long_wait],
                    )
                # The data ends before the planned start: the case is not followed further.
                alive[j[~started]] = False
                if not started.any():
                    continue
                j2 = j[started]
                a2 = a[started]
                s2 = state.take(j2)
                s2.unemployed_days = s2.unemployed_days + world.unemployed_rate(s2) * (
                    start[started] - review_day[svc][started]
                )
                s2.day = start[started]
                self.decision(s2.take(np.arange(len(j2))), a2, "service_start", start[started])
                end, interrupted = world.service_plan(s2, a2, start[started])
                state.put(j2, s2)
                self.segment(state, j2, start[started], end, a2, alive)
                finished = alive[j2] & (end <= world.extract_day)
                subsidy = np.asarray(world.service_codes)[a2] == "pay_subsidy"
                # Episodes cut by success, a move or the extract date.
                stop_day = np.where(
                    self.success_day[j2] >= 0,
                    self.success_day[j2],
                    np.minimum(self.move_day[j2], world.extract_day + 1),
                )
                cut = ~finished
                ep_end = np.where(cut, np.where(stop_day <= world.extract_day, stop_day, -1), end)
                ep_status = np.where(
                    cut, np.where(stop_day <= world.extract_day, 1, 2), np.where(interrupted, 1, 0)
                )
                s2 = state.take(j2)
                s2.n_services = s2.n_services + 1
                level = world.finish_service(s2, a2, start[started], end, interrupted)
                self.episodes.append(
                    dict(
                        client=j2,
                        service=a2,
                        start=start[started],
                        end=ep_end,
                        status=ep_status,
                        level=np.where(finished, level, np.nan),
                        planned=np.full(len(j2), -9),
                    )
                )
                if subsidy.any():
                    self.subsidy.append(
                        (
                            j2[subsidy],
                            start[started][subsidy],
                            np.where(ep_end[subsidy] >= 0, ep_end[subsidy], -1),
                        )
                    )
                s2.unemployed_days = s2.unemployed_days + np.where(
                    subsidy, 0.0, world.unemployed_rate(s2) * (end - start[started])
                )
                gap = world.noise.gap[s2.client, np.minimum(s2.epoch, p.max_epochs - 1)]
                nxt = end + gap
                state.put(j2, s2)
                self.segment(state, j2, end, nxt, np.full(len(j2), -1), alive)
                state.unemployed_days[j2] += world.unemployed_rate(state.take(j2)) * gap
                state.day[j2] = nxt
                state.epoch[j2] += 1
            alive &= state.day <= world.extract_day
        self.note("truth")
        return self.tables()

    # -- event clocks ------------------------------------------------------
    def segment(
        self,
        state: State,
        idx: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        activity: np.ndarray,
        alive: np.ndarray,
    ) -> None:
        """Run the success and move clocks over [start, end) for clients still open."""
        world = self.world
        live = alive[idx]
        if not live.any():
            return
        idx = idx[live]
        start = start[live].astype(np.float64)
        end = end[live].astype(np.float64)
        activity = activity[live]
        sub = state.take(idx)
        h_e, h_u = world.hazard(sub, start.astype(np.int64), activity)
        h = h_e + h_u
        length = np.maximum(end - start, 0.0)
        need = self.success_budget[idx]
        hit = h * length >= need
        t_hit = start + np.where(hit, need / np.where(h > 0, h, 1.0), np.inf)
        moved_first = self.move_time[idx] < np.minimum(t_hit, end)
        success = hit & ~moved_first
        self.success_budget[idx] = np.where(hit, 0.0, need - h * length)
        day = np.floor(np.where(success, t_hit, 0.0)).astype(np.int64)
        if success.any():
            s_idx = idx[success]
            self.success_day[s_idx] = day[success]
            share_e = h_e[success] / h[success]
            self.success_kind[s_idx] = np.where(
                self.kind_uniform[s_idx] < share_e, "employed", "education"
            )
            alive[s_idx] = False
        gone = moved_first & ~success
        alive[idx[gone]] = False
        alive[idx[moved_first]] = False

    # -- decision points and their truth -------------------------------------------
    def decision(
        self,
        state: State,
        action: np.ndarray,
        kind: str,
        day: np.ndarray,
        wait: np.ndarray | None = None,
    ) -> None:
        self.decisions.append(
            dict(
                state=state,
                action=action,
                kind=kind,
                day=day,
                wait=wait if wait is not None else np.zeros(len(state), dtype=np.int64),
            )
        )

    def tables(self) -> History:
        clients = clients_frame(self.world.profiles)
        episodes = self._episodes_frame()
        outcomes = self._outcomes_frame()
        truth = self._truth()
        return History(clients, episodes, outcomes, truth)

    def _episodes_frame(self) -> pd.DataFrame:
        world = self.world
        parts = self.episodes
        c = np.concatenate([e["client"] for e in parts])
        service = np.concatenate([e["service"] for e in parts])
        start = np.concatenate([e["start"] for e in parts])
        end = np.concatenate([e["end"] for e in parts])
        status = np.concatenate([e["status"] for e in parts])
        level = np.concatenate([e["level"] for e in parts])
        planned = np.concatenate([e["planned"] for e in parts])
        codes = np.asarray([*world.actions], dtype=object)
        service_code = np.where(service == -2, REVIEW, codes[np.maximum(service, 0)])
        planned_code = np.where(planned >= 0, codes[np.maximum(planned, 0)], None)
        levels = np.asarray(CEFR_LEVELS, dtype=object)
        frame = pd.DataFrame(
            {
                "client_id": world.profiles.client_id[c],
                "service": service_code,
                "start_date": to_dates(start),
                "end_date": to_dates(np.where(end >= 0, end, -1), missing=-1),
                "status": np.asarray(["completed", "interrupted", "ongoing"], dtype=object)[status],
                "language_level_after": np.where(
                    np.isnan(level), None, levels[np.nan_to_num(level).astype(int)]
                ),
                "planned_service": planned_code,
            }
        )
        frame = frame.sort_values(
            ["client_id", "start_date", "service"], kind="mergesort"
        ).reset_index(drop=True)
        return frame

    def _outcomes_frame(self) -> pd.DataFrame:
        world = self.world
        profiles = world.profiles
        extract = world.extract_day
        n = len(profiles.intake)
        # When each client's spell of (un)employment ends: success, a move, or never.
        moved = (self.move_day <= extract) & (
            (self.success_day < 0) | (self.move_day < self.success_day)
        )
        succeeded = self.success_day >= 0
        stop = np.where(succeeded, self.success_day, np.where(moved, self.move_day, -1))
        base_status = np.where(profiles.inactive, "inactive", "unemployed").astype(object)
        rows_c: list[np.ndarray] = []
        rows_status: list[np.ndarray] = []
        rows_start: list[np.ndarray] = []
        rows_end: list[np.ndarray] = []
        # Pay-subsidy periods interrupt the base spell with subsidised employment.
        if self.subsidy:
            sc = np.concatenate([s[0] for s in self.subsidy])
            ss = np.concatenate([s[1] for s in self.subsidy])
            se = np.concatenate([s[2] for s in self.subsidy])
        else:
            sc = ss = se = np.zeros(0, dtype=np.int64)
        order = np.lexsort((ss, sc))
        sc, ss, se = sc[order], ss[order], se[order]
        # Base spells: from intake to the first subsidy start, between subsidies, after the last.
        cuts_c = np.concatenate([np.arange(n), sc])
        cuts_start = np.concatenate([profiles.intake, np.where(se >= 0, se, -1)])
        order2 = np.lexsort((cuts_start, cuts_c))
        cuts_c, cuts_start = cuts_c[order2], cuts_start[order2]
        keep = cuts_start >= 0
        cuts_c, cuts_start = cuts_c[keep], cuts_start[keep]
        # End of each base spell: the next subsidy start for the client, else the stop day.
        next_sub = np.full(len(cuts_c), -1, dtype=np.int64)
        if len(sc):
            pos = np.searchsorted(sc * 10**7 + ss, cuts_c * 10**7 + cuts_start, side="left")
            valid = pos < len(sc)
            pos_c = np.minimum(pos, len(sc) - 1)
            same = valid & (sc[pos_c] == cuts_c)
            next_sub = np.where(same, ss[pos_c], -1)
        spell_end = np.where(next_sub >= 0, next_sub, stop[cuts_c])
        # A subsidy cut short by work or a move leaves no base spell after it.
        nonempty = (spell_end < 0) | (spell_end > cuts_start)
        cuts_c, cuts_start, spell_end = cuts_c[nonempty], cuts_start[nonempty], spell_end[nonempty]
        rows_c.append(cuts_c)
        rows_status.append(base_status[cuts_c])
        rows_start.append(cuts_start)
        rows_end.append(spell_end)
        if len(sc):
            rows_c.append(sc)
            rows_status.append(np.full(len(sc), "subsidised_employment", dtype=object))
            rows_start.append(ss)
            rows_end.append(se)
        # The outcome spells themselves.
        rng = np.random.default_rng([world.params.seed, 11])
        s_idx = np.flatnonzero(succeeded)
        dur = rng.exponential(3000, len(s_idx)).astype(np.int64) + 30
        s_end = self.success_day[s_idx] + dur
        rows_c.append(s_idx)
        rows_status.append(self.success_kind[s_idx])
        rows_start.append(self.success_day[s_idx])
        rows_end.append(np.where(s_end <= extract, s_end, -1))
        m_idx = np.flatnonzero(moved)
        rows_c.append(m_idx)
        rows_status.append(np.full(len(m_idx), "moved_away", dtype=object))
        rows_start.append(self.move_day[m_idx])
        rows_end.append(np.full(len(m_idx), -1))
        c = np.concatenate(rows_c)
        status = np.concatenate(rows_status)
        start = np.concatenate(rows_start)
        end = np.concatenate(rows_end)
        keep = (start <= extract) & ((end < 0) | (end >= start))
        end = np.where(end > extract, -1, end)
        frame = pd.DataFrame(
            {
                "client_id": profiles.client_id[c[keep]],
                "status": status[keep],
                "start_date": to_dates(start[keep]),
                "end_date": to_dates(end[keep], missing=-1),
            }
        )
        return frame.sort_values(
            ["client_id", "start_date", "status"], kind="mergesort"
        ).reset_index(drop=True)

    def _truth(self) -> pd.DataFrame:
        world = self.world
        p = world.params
        if not self.decisions:
            return pd.DataFrame()
        states = [d["state"] for d in self.decisions]
        state = State(
            **{name: np.concatenate([getattr(s, name) for s in states]) for name in STATE_FIELDS}
        )
        action = np.concatenate([d["action"] for d in self.decisions])
        kind = np.concatenate(
            [np.full(len(d["action"]), d["kind"], dtype=object) for d in self.decisions]
        )
        day = np.concatenate([d["day"] for d in self.decisions])
        wait = np.concatenate([d["wait"] for d in self.decisions])
        # Keep only decisions the data shows: reviews whose window has no start,
        # dated on or before the extract.
        keep = day <= world.extract_day
        state = state.take(np.flatnonzero(keep))
        action, kind, day, wait = action[keep], kind[keep], day[keep], wait[keep]
        n = len(state)
        at_review = kind != "service_start"
        cols = world.features(state)
        if self.keep_features:
            self.features = (
                pd.DataFrame(
                    {
                        "client_id": world.profiles.client_id[state.client],
                        "decision_date": to_dates(day),
                        **cols,
                    }
                )
                .sort_values(["client_id", "decision_date"], kind="mergesort")
                .reset_index(drop=True)
            )
        elig = world.eligible(cols, n)
        # The chance under each action averages over everything still to be
        # drawn after the decision (durations, drop-outs, language gains, the
        # next caseworkers' choices): fresh draws of that randomness, shared by
        # all actions of a decision point so that their differences are sharp.
        replicates = max(1, p.truth_replicates)
        # Only eligible actions are candidates; the others stay NaN.
        prob = np.where(elig, 0.0, np.nan)
        p_hist = np.zeros(n)
        planned = np.flatnonzero(kind == "review_planned")
        cell_rows, cell_actions = np.nonzero(elig)
        chunk = 400_000
        for r in range(replicates):
            noise = world.draw_noise(np.random.default_rng([p.seed, 13, r]))
            for lo in range(0, len(cell_rows), chunk):
                rows = cell_rows[lo : lo + chunk]
                acts = cell_actions[lo : lo + chunk]
                prob[rows, acts] += path_success_probability(
                    world,
                    state.take(rows),
                    acts,
                    np.zeros(len(rows), dtype=np.int64),
                    p.horizon_days,
                    at_review[rows],
                    noise,
                )
            # The historical action as it really happened: a planned service
            # that waited for its place.
            if len(planned):
                p_hist[planned] += path_success_probability(
                    world,
                    state.take(planned),
                    action[planned],
                    wait[planned],
                    p.horizon_days,
                    at_review[planned],
                    noise,
                )
        prob /= replicates
        p_hist /= replicates
        direct = np.setdiff1d(np.arange(n), planned)
        p_hist[direct] = prob[direct, action[direct]]
        frame = pd.DataFrame(
            {
                "client_id": world.profiles.client_id[state.client],
                "decision_date": to_dates(day),
            }
        )
        for j, code in enumerate(world.actions):
            frame[code] = prob[:, j]
        for j, code in enumerate(world.actions):
            frame[f"eligible_{code}"] = elig[:, j]
        frame["historical_action"] = np.asarray(world.actions, dtype=object)[action]
        frame["p_historical"] = p_hist
        frame = frame.sort_values(["client_id", "decision_date"], kind="mergesort").reset_index(
            drop=True
        )
        return frame


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
        }
    )
