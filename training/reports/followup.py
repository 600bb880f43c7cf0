"""The follow-up report of a served model: built from the API's decisions and the data, written
as JSON and HTML.

`followup_report_for` reads the data folder (checked against the data
contract), joins the decisions to the outcomes that arrived
(`model.followup`), and compares the decisions' features with the training
data's: the decision points of the version's training window. The HTML page
comes from the same Jinja2 template family as the fairness report
(`templates/followup.html.j2`). docs/reports.md describes the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from model.decision_points.build import build_decision_points
from model.decision_points.histories import ClientHistories
from model.followup import FOLLOWUP_KIND, decision_rows, followup_report, matured_outcomes
from model.router import Router
from training.contract.load import load_valid_tables
from training.reports.build import to_json
from training.reports.html import check_language, environment
from training.reports.plots import calibration_png, in_every_language

FOLLOWUP_JSON: Final = "followup.json"
FOLLOWUP_HTML: Final = "followup.html"


def reference_features(router: Router, tables: Any) -> pd.DataFrame:
    """The features of the decision points the version was trained on (its training window)."""
    dp = build_decision_points(
        tables.clients,
        tables.episodes,
        tables.outcomes,
        catalogue=router.catalogue,
        config=router.config,
    )
    frame = dp.frame
    window = router.metadata.get("training_window") or {}
    dates = pd.to_datetime(frame["decision_date"])
    keep = np.ones(len(frame), dtype=bool)
    start, end = window.get("from", window.get("start")), window.get("to", window.get("end"))
    if start:
        keep &= (dates >= pd.Timestamp(start)).to_numpy()
    if end:
        keep &= (dates <= pd.Timestamp(end)).to_numpy()
    columns = [name for name in dp.feature_names if name in frame.columns]
    return frame.loc[keep, columns].reset_index(drop=True)


def followup_report_for(
    router: Router,
    data: Path,
    decisions: pd.DataFrame,
    audit: pd.DataFrame,
    *,
    model: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The follow-up report of `router`'s decisions (from the API's database) on the data in `data`."""
    tables = load_valid_tables(data, catalogue=router.catalogue, config=router.config)
    histories = ClientHistories(tables.clients, tables.episodes, tables.outcomes)
    rows = matured_outcomes(decision_rows(decisions, audit), histories, router.config)
    return followup_report(
        rows,
        reference_features(router, tables),
        k=router.config.min_cell_size,
        horizon_days=router.config.horizon_days,
        model=model,
        seed=int(getattr(router.config, "seed", 0)),
    )


def render_followup_html(report: Mapping[str, Any], language: str = "fi") -> str:
    """The follow-up report as one self-contained HTML page (Finnish, Swedish, English)."""
    if report.get("kind") != FOLLOWUP_KIND:
        raise ValueError(
            "not a follow-up report: expected the dict of model.followup.followup_report"
        )
    check_language(language)
    plots = {"calibration": in_every_language(calibration_png, report.get("calibration") or {})}
    template = environment().get_template("followup.html.j2")
    return template.render(report=report, language=language, plots=plots)


def write_followup(out_dir: str | Path, report: Mapping[str, Any]) -> dict[str, Path]:
    """Write followup.json and followup.html; return their paths."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {FOLLOWUP_JSON: folder / FOLLOWUP_JSON, FOLLOWUP_HTML: folder / FOLLOWUP_HTML}
    paths[FOLLOWUP_JSON].write_text(to_json(report), "utf-8")
    paths[FOLLOWUP_HTML].write_text(render_followup_html(report, "fi"), "utf-8")
    return paths
