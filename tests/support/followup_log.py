"""An API database of answered recommendations, as the API writes them, for follow-up reports.

Audit events carry the features of real decision points and the router's
own suggestions with their p_outcome; decisions follow the first suggestion
or choose the service taken in history, spread over months and units.
`report_followup_logged` runs `polku report followup --log` on such a
database for the session's model, as a data scientist would.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import insert

from api.storage import migrate
from api.storage.engine import make_engine, write_transaction
from api.storage.tables import audit_events, decisions
from model.decision_points.points import eligible_column
from model.router import Router
from model.vocab import NO_NEW_SERVICE

if TYPE_CHECKING:
    from tests.support.trained_model import TrainedModel


def plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def write_followup_log(
    path: Path,
    *,
    router: Router,
    rows: pd.DataFrame,
    model_name: str,
    version: str,
    run_id: str | None = None,
    follow_share: float = 0.7,
    units: Sequence[str] = ("east", "west", "north"),
    tiny_unit: str | None = "island",
    seed: int = 0,
) -> str:
    """Write one answered recommendation per row of `rows` (decision points); return the URL."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    rng = np.random.default_rng(seed)
    actions = list(router.actions)
    eligible = rows[[eligible_column(a) for a in actions]].to_numpy(dtype=bool)
    batch = router.score(rows, eligible=eligible, intervals=False)
    columns = [c for c in router.encoder.columns_ if c in rows.columns]
    columns += [c for c in ("gender", "mother_tongue", "citizenship_region") if c in rows.columns]
    start = datetime(2025, 1, 6, 9, tzinfo=UTC)
    audit_values: list[dict[str, Any]] = []
    decision_values: list[dict[str, Any]] = []
    unit_of = np.array(rng.choice(list(units), len(rows)), dtype=object)
    if tiny_unit is not None and len(rows) > 2:
        unit_of[:2] = tiny_unit
    for i, (_, row) in enumerate(rows.iterrows()):
        p = batch.p[i]
        order = [j for j in np.argsort(-np.where(eligible[i], p, -1.0)) if eligible[i, j]]
        recommended = actions[int(batch.recommended[i])]
        top = [actions[j] for j in order[:3]]
        taken = row.get("action")
        followed = rng.random() < follow_share
        if followed:
            chosen = recommended
        elif isinstance(taken, str) and taken in actions and taken != recommended:
            chosen = taken
        else:
            chosen = next((a for a in top if a != recommended), NO_NEW_SERVICE)
        request_id = str(uuid.uuid4())
        created = start + timedelta(days=int(i * 120 / max(len(rows), 1)))
        output = {
            "recommendations": [
                {"service": a, "rank": r + 1, "p_outcome": float(p[actions.index(a)])}
                for r, a in enumerate(top)
            ],
            "reference": {
                "service": NO_NEW_SERVICE,
                "p_outcome": float(p[actions.index(NO_NEW_SERVICE)]),
            },
            "actions": actions,
        }
        audit_values.append(
            {
                "request_id": request_id,
                "created_at": created,
                "client_id": str(row["client_id"]),
                "unit": str(unit_of[i]),
                "role": "caseworker",
                "key_id": "k1",
                "model_name": model_name,
                "model_version": version,
                "model_run_id": run_id,
                "as_of": pd.Timestamp(row["decision_date"]).date(),
                "language": "fi",
                "k": 3,
                "input_hash": "0" * 64,
                "features": {c: plain(row[c]) for c in columns},
                "output": output,
            }
        )
        decision_values.append(
            {
                "decision_id": str(uuid.uuid4()),
                "request_id": request_id,
                "created_at": created,
                "unit": str(unit_of[i]),
                "role": "caseworker",
                "key_id": "k1",
                "idempotency_key": f"key-{i}",
                "body_hash": "0" * 64,
                "chosen_service": chosen,
                "recommended_service": recommended,
                "chosen_rank": top.index(chosen) + 1 if chosen in top else None,
                "reason_code": None
                if followed
                else str(rng.choice(["waiting_time", "client_preference"])),
                "comment": "not read by reports",
                "corrects": None,
            }
        )
    with write_transaction(engine) as connection:
        connection.execute(insert(audit_events), audit_values)
        connection.execute(insert(decisions), decision_values)
    engine.dispose()
    return url


@dataclass(frozen=True)
class FollowupRun:
    """What `report_followup_logged` wrote and what the command said."""

    url: str  # the decisions database
    rows: pd.DataFrame  # the decision points decided on
    out: Path  # followup.json and followup.html
    exit_code: int
    output: str


def report_followup_logged(
    trained_model: TrainedModel, folder: Path, *, n_decisions: int = 400
) -> FollowupRun:
    """Decisions on `n_decisions` of the session model's decision points, followed up by
    `polku report followup --log` (the report goes to `folder`/out and the model's run)."""
    from typer.testing import CliRunner

    from cli.app import app

    frame = trained_model.result.dp.frame
    # A decision recorded through the API is known on its day, so its outcome
    # counts from then; an inferred review's label counts from its window's end.
    usable = frame["action_known"].to_numpy(bool) & frame["action_source"].ne("inferred").to_numpy()
    rows = frame.loc[usable].sample(n_decisions, random_state=1).sort_values("decision_date")
    url = write_followup_log(
        folder / "polku.db",
        router=trained_model.result.router,
        rows=rows,
        model_name=trained_model.name,
        version=trained_model.version,
        run_id=trained_model.run_id,
    )
    out = folder / "out"
    result = CliRunner().invoke(
        app,
        [
            "report",
            "followup",
            "--decisions-db",
            url,
            "--data",
            str(trained_model.data_dir),
            "--out",
            str(out),
            "--log",
        ],
    )
    return FollowupRun(url, rows, out, result.exit_code, result.output)
