"""The follow-up report's page shows exactly the JSON's numbers, in three languages."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest

from model.followup import followup_report
from tests.support.followup_rows import synthetic_rows
from training.reports.followup import render_followup_html
from training.reports.html import format_value

NUMBER = re.compile(
    r'<span class="n" data-key="([^"]*)" data-value="([^"]*)" data-kind="([^"]*)">(.*?</span>)</span>'
)
SPAN = re.compile(r'<span class="(fi|sv|en)" lang="\1">(.*?)</span>')


def resolve(document: Any, key: list[str]) -> Any:
    """Follow a data-key: lists by their entries' group or feature, or by position."""
    current = document
    for part in key:
        if isinstance(current, list):
            if part.isdigit():
                current = current[int(part)]
            else:
                current = next(i for i in current if part in (i.get("group"), i.get("feature")))
        else:
            current = current[part]
    return current


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    rows, reference = synthetic_rows(n=3000, seed=7, shift=0.4)
    built = followup_report(rows, reference, k=5, model={"name": "polku", "version": "4"})
    return json.loads(json.dumps(built))


def test_every_number_on_the_page_is_the_jsons(report: dict[str, Any]) -> None:
    page = render_followup_html(report, "sv")
    found = NUMBER.findall(page)
    assert len(found) > 60
    for key_text, value_text, kind, inner in found:
        key = json.loads(unescape(key_text))
        value = resolve(report, key)
        assert float(value_text) == pytest.approx(float(value), abs=0, rel=0), key
        texts = dict(SPAN.findall(inner))
        for lang in ("fi", "sv", "en"):
            assert unescape(texts[lang]) == format_value(value, kind, lang), (key, lang)


def test_the_first_screen_holds_the_advice_and_the_period(report: dict[str, Any]) -> None:
    page = render_followup_html(report, "en")
    first_table = page.index("<table")
    head = page[:first_table]
    assert f"badge {report['advice']['verdict']}" in head
    period = report["period"]["decisions"]
    assert f"{period['from']} – {period['to']}" in head
    assert "version 4" in page[: page.index("<main>")]
    with pytest.raises(ValueError, match="not a follow-up report"):
        render_followup_html({"kind": "other"}, "fi")
