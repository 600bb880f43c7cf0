"""The reports logged with the served model's run, who may read them, and their reading.

The API (`GET /v1/reports/fairness`, `GET /v1/reports/services`,
`GET /v1/reports/followup`) and the console's Reports page read the reports
here, so both show the same pages to the same roles (`REPORT_READERS`).
Besides the fairness report that training logs, the run reports
(`RUN_REPORTS`) are the ones a `polku report <name> --log` command logs
with the version's run later. What was found is kept for the loaded model
(`ReportCache`) and forgotten when another model is loaded; a report still
missing is looked for again on the next request, so one logged later is
found without a reload.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from starlette.datastructures import State

from api.auth import Role
from api.serving import LoadedModel

REPORT_READERS: Final = frozenset({Role.evaluator, Role.admin})

T = TypeVar("T")


@dataclass(frozen=True)
class RunReport:
    """A report `command` logs with the served version's run, served at /v1/reports/`name`."""

    name: str  # as `training.registry.served` knows it
    title: str  # in English, for problems
    command: str
    missing: str  # the problem type while the run has none


SERVICE_REPORT: Final = RunReport(
    "services", "service report", "polku report services --log", "no-service-report"
)
FOLLOWUP_REPORT: Final = RunReport(
    "followup",
    "follow-up report",
    "polku report followup --decisions-db URL --data DIR --log",
    "no-followup-report",
)
RUN_REPORTS: Final = (SERVICE_REPORT, FOLLOWUP_REPORT)


class ReportCache:
    """What has been read of the loaded model's reports, by name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: tuple[str, str, str] | None = None
        self._found: dict[str, Any] = {}

    def get(self, model: LoadedModel, name: str, read: Callable[[], T | None]) -> T | None:
        """The report `name` of `model`: kept, or read now (and kept when found)."""
        identity = (model.name, model.version, model.loaded_at.isoformat())
        with self._lock:
            if identity != self._model:
                self._model, self._found = identity, {}
            if name in self._found:
                return self._found[name]  # type: ignore[no-any-return]
        value = read()
        if value is not None:
            with self._lock:
                if identity == self._model:
                    self._found[name] = value
        return value


def report_cache(state: State) -> ReportCache:
    cache: ReportCache = state.report_cache
    return cache


def fairness_page(state: State, model: LoadedModel) -> str | None:
    """The fairness report's page logged with the run (else the report's JSON drawn plainly);
    None when the run has no fairness report."""
    report = model.fairness
    if not report:
        return None

    def read() -> str:
        logged = state.holder.source.fairness_page(model.served)
        return logged or render_html(
            report, title=f"Fairness report: {model.name} version {model.version}"
        )

    return report_cache(state).get(model, "fairness_page", read)


def run_report(state: State, model: LoadedModel, report: RunReport) -> Mapping[str, Any] | None:
    """The report logged with the run by its command, or None."""
    return report_cache(state).get(
        model,
        report.name,
        lambda: state.holder.source.run_report(model.served, report.name) or None,
    )


def run_report_page(state: State, model: LoadedModel, report: RunReport) -> str | None:
    """The report's page logged with the run, or None."""
    return report_cache(state).get(
        model,
        f"{report.name}_page",
        lambda: state.holder.source.run_report_page(model.served, report.name),
    )


def render_html(report: Mapping[str, Any], *, title: str) -> str:
    """A plain, self-contained HTML rendering of a JSON report (every value escaped)."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}</style>",
        f"</head><body><h1>{html.escape(title)}</h1>",
        _html_value(report),
        "</body></html>",
    ]
    return "".join(parts)


def _html_value(value: Any) -> str:
    if isinstance(value, Mapping):
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{_html_value(v)}</td></tr>"
            for k, v in value.items()
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, Mapping) for v in value):
            columns = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{_html_value(v.get(c))}</td>" for c in columns) + "</tr>"
                for v in value
            )
            return f"<table><tr>{head}</tr>{body}</table>"
        return "<ul>" + "".join(f"<li>{_html_value(v)}</li>" for v in value) + "</ul>"
    if value is None:
        return "–"
    if isinstance(value, float):
        return html.escape(f"{value:.4g}")
    return html.escape(str(value))
