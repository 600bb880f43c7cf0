"""A month's batch planned with the router: scores, the programme, the schedule, one row per client.

The router scores every client awaiting a decision (expected uplift of every
action against `no_new_service`, eligibility, thin evidence, and the
client's own best option: the router's first-ranked action). The programme
(`model.planning.programme`) assigns the seats; the schedule
(`model.planning.schedule`) spreads the starts over the month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import pandas as pd

from model.errors import PlanningError
from model.planning.programme import BatchPlan, PlanOptions, plan_batch
from model.planning.schedule import Schedule, month_days, schedule_month
from model.router import Router, ScoredBatch
from model.vocab import NO_NEW_SERVICE

PLAN_COLUMNS: Final = (
    "client_id",
    "planned_service",
    "own_best",
    "uplift_planned",
    "uplift_best",
    "uplift_given_up",
    "status",
    "start_date",
    "expected_wait_days",
)
# status: a start is planned; no seat this month (the client keeps waiting);
# the client's own best option is to continue without a new service.
START, WAITING, CONTINUE = "start", "waiting", "continue"


@dataclass(frozen=True)
class MonthPlan:
    plan: BatchPlan
    schedule: Schedule
    month: str

    def frame(self) -> pd.DataFrame:
        """One row per client, in the order given, with `PLAN_COLUMNS`."""
        plan = self.plan
        codes = np.asarray(plan.actions, dtype=object)
        reference = plan.actions.index(NO_NEW_SERVICE)
        status = np.where(
            plan.planned != reference, START, np.where(plan.best != reference, WAITING, CONTINUE)
        )
        return pd.DataFrame(
            {
                "client_id": list(plan.client_ids),
                "planned_service": codes[plan.planned],
                "own_best": codes[plan.best],
                "uplift_planned": plan.planned_uplift,
                "uplift_best": plan.best_uplift,
                "uplift_given_up": plan.given_up,
                "status": status,
                "start_date": [d.isoformat() if d else "" for d in self.schedule.start],
                "expected_wait_days": self.schedule.wait_days,
            },
            columns=list(PLAN_COLUMNS),
        )

    def seats_used(self) -> dict[str, int]:
        return self.plan.seats_used()


def check_unique(client_ids: Sequence[str]) -> None:
    """Refuse a batch that holds a client twice, naming the rows (never the client)."""
    seen: dict[str, int] = {}
    for row, client in enumerate(client_ids, start=1):
        if client in seen:
            raise PlanningError(
                f"a client appears twice in the batch (rows {seen[client]} and {row}); "
                "plan each client once"
            )
        seen[client] = row


def waiting_since(features: pd.DataFrame, as_of: date) -> list[date]:
    """Since when each client has waited: the end of their last service, else their intake."""
    days = features["days_since_last_service_end"].to_numpy(dtype=float)
    months = features["months_since_intake"].to_numpy(dtype=float)
    out = []
    for d, m in zip(days, months, strict=True):
        back = d if np.isfinite(d) else (m * 365.25 / 12 if np.isfinite(m) else 0.0)
        out.append(as_of - timedelta(days=round(max(0.0, back))))
    return out


def plan_month(
    router: Router,
    features: pd.DataFrame,
    *,
    month: str,
    seats: Mapping[str, int | None],
    options: PlanOptions | None = None,
    batch: ScoredBatch | None = None,
    as_of: date | None = None,
) -> MonthPlan:
    """Plan the clients of `features` (decision-point features, one row per client) into `month`.

    `as_of` is the date the features were computed on (default: the month's
    first day); `batch` the router's scores of `features` when already computed.
    """
    ids = [str(c) for c in features["client_id"]]
    check_unique(ids)
    scored = batch if batch is not None else router.score(features, intervals=False)
    thin = (scored.support < router.min_support) & scored.eligible
    plan = plan_batch(
        ids,
        scored.uplift,
        scored.eligible,
        router.actions,
        seats,
        best=scored.recommended,
        thin=thin,
        options=options,
    )
    first, _ = month_days(month)
    schedule = schedule_month(
        plan,
        month,
        waiting_since=waiting_since(features, as_of or first),
        usual_wait={s.code: s.expected_wait_days for s in router.catalogue.services},
        earliest=as_of,
    )
    return MonthPlan(plan, schedule, month)
