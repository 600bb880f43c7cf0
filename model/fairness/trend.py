"""The fairness headline over the registered versions of a model.

Each version's run keeps its fairness report. `version_trend` lines up what
each says overall (expected good outcomes under history and under Polku,
the gain with its interval, the override rate) and per attribute (the change
in the gap between groups, its interval and the verdict), oldest version
first, so an evaluator sees whether the gaps narrow or widen as the model is
retrained. The figures are copied from the reports as published, so the
trend is suppressed exactly as they are. Versions are evaluated on their own
held-out clients: a difference between versions mixes the model with the
clients evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

OVERALL: Final = ("v_hist", "v_rec", "expected_gain", "gain_low", "gain_high", "override_rate")
HEADLINE: Final = ("change", "change_low", "change_high", "verdict")


def version_trend(reports: Sequence[tuple[str, Mapping[str, Any] | None]]) -> list[dict[str, Any]]:
    """One entry per version that has a report: (version, report) pairs in, oldest first out."""

    def number(version: str) -> tuple[int, str]:
        return (int(version), version) if version.isdigit() else (10**9, version)

    out = []
    for version, report in sorted(reports, key=lambda pair: number(pair[0])):
        if not report:
            continue
        overall = report.get("overall") or {}
        out.append(
            {
                "version": version,
                "generated_at": report.get("generated_at"),
                "method": report.get("method"),
                "period": (report.get("period") or {}).get("decision_points"),
                "overall": {key: overall.get(key) for key in OVERALL},
                "headline": {
                    str(line.get("attribute")): {key: line.get(key) for key in HEADLINE}
                    for line in report.get("headline", [])
                },
            }
        )
    return out
