"""The fairness headline over registered versions (model.fairness.trend)."""

from __future__ import annotations

from model.fairness.trend import version_trend


def _report(v_rec: float, verdict: str) -> dict:
    return {
        "generated_at": "2026-12-06T00:00:00+00:00",
        "method": "doubly_robust",
        "period": {"decision_points": {"from": "2024-01", "to": "2024-12"}},
        "overall": {"v_hist": 0.3, "v_rec": v_rec, "expected_gain": v_rec - 0.3, "gain_low": None},
        "headline": [{"attribute": "gender", "change": -0.01, "verdict": verdict, "text": {}}],
    }


def test_versions_in_number_order_with_their_published_figures_only() -> None:
    trend = version_trend(
        [("10", _report(0.35, "narrows")), ("2", _report(0.33, "widens")), ("3", None)]
    )
    assert [entry["version"] for entry in trend] == ["2", "10"]  # 3 has no report
    assert trend[1]["overall"]["v_rec"] == 0.35
    assert trend[1]["overall"]["gain_low"] is None  # hidden stays hidden
    assert trend[0]["headline"]["gender"]["verdict"] == "widens"
    assert "text" not in trend[0]["headline"]["gender"]
    assert trend[0]["period"] == {"from": "2024-01", "to": "2024-12"}
