"""The console's Reports page without a browser: who sees it, what it lists, how a report opens.

The page in a real browser (axe-core, the report's own policy) is in
tests/api/test_console_browser.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.console.reports import in_language, report_policy
from api.reports.logged import render_html
from tests.support.api_requests import Keys
from tests.support.followup_log import report_followup_logged
from tests.support.trained_model import TrainedModel

pytestmark = pytest.mark.one_app_per_module

MENU_LINK = re.compile(r'<li><a href="(/console/[a-z]+)"')


def _sign_in(http: TestClient, headers: dict[str, str]) -> TestClient:
    """A fresh session for the key in `headers`; the response of the page it lands on."""
    http.cookies.clear()
    form = http.get("/console/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    key = headers["Authorization"].removeprefix("Bearer ")
    landed = http.post(
        "/console/sign-in", data={"key": key, "csrf_token": token.group(1)}, follow_redirects=True
    )
    http.landed = landed  # type: ignore[attr-defined]
    return http


@pytest.mark.parametrize(
    ("role", "start", "menu", "reads_reports"),
    [
        ("caseworker", "/console/client", ["/console/client", "/console/decisions"], False),
        ("evaluator", "/console/reports", ["/console/reports"], True),
        ("admin", "/console/decisions", ["/console/decisions", "/console/reports"], True),
        ("data_scientist", "/console/client", [], False),
    ],
)
def test_only_the_roles_the_api_lets_read_reports_see_them(
    client: TestClient, keys: Keys, role: str, start: str, menu: list[str], reads_reports: bool
) -> None:
    headers = keys.by_role()[role]
    http = _sign_in(client, headers)
    landed = http.landed  # type: ignore[attr-defined]
    assert landed.url.path == start
    assert MENU_LINK.findall(landed.text) == menu
    page = http.get("/console/reports")
    opened = http.get("/console/reports/fairness")
    api = http.get("/v1/reports/fairness", headers=headers)
    if reads_reports:
        assert page.status_code == 200 and opened.status_code == 200
        assert api.status_code == 200
    else:
        assert page.status_code == opened.status_code == api.status_code == 403
        assert "Raportit ovat arvioijille ja ylläpitäjille" in page.text
        assert "/console/reports" not in MENU_LINK.findall(page.text)
    if role == "data_scientist":
        assert landed.status_code == 403 and "Konsoli on ohjaajille" in landed.text


def test_a_report_opens_in_the_consoles_language_under_its_own_policy(
    client: TestClient, keys: Keys
) -> None:
    http = _sign_in(client, keys.evaluator)
    listed = http.get("/console/reports")
    assert '<a href="/console/reports/fairness">Yhdenvertaisuusraportti</a>' in listed.text
    assert 'aria-current="page">Raportit</a>' in listed.text
    opened = http.get("/console/reports/fairness")
    assert opened.status_code == 200
    assert "Polku – yhdenvertaisuusraportti" in opened.text
    policy = opened.headers["content-security-policy"]
    assert policy == report_policy(opened.text)
    assert "'sha256-" in policy and "img-src data:" in policy
    assert "unsafe-inline" not in policy and "script-src" not in policy
    assert "<script" not in opened.text
    assert opened.headers["cache-control"] == "no-store"
    assert opened.headers["x-frame-options"] == "DENY"
    assert '<html lang="fi">' in opened.text and 'id="lang-fi" checked>' in opened.text

    swedish = http.get("/console/reports/fairness", params={"lang": "sv"})
    assert '<html lang="sv">' in swedish.text
    assert 'id="lang-sv" checked>' in swedish.text and 'id="lang-fi">' in swedish.text
    assert swedish.text.count(" checked>") == 1
    assert "Rapport om likabehandling" in http.get("/console/reports").text  # remembered

    unknown = http.get("/console/reports/nonsense")
    assert unknown.status_code == 404 and "ingen sådan rapport" in unknown.text


def test_a_service_report_is_listed_once_logged(
    client: TestClient, keys: Keys, trained_model: TrainedModel, tmp_path: Path
) -> None:
    http = _sign_in(client, keys.admin)
    listed = http.get("/console/reports", params={"lang": "en"})
    if 'href="/console/reports/services"' not in listed.text:
        assert "Not made yet" in listed.text and "polku report services --log" in listed.text
        missing = http.get("/console/reports/services")
        assert missing.status_code == 404
        assert "has not been logged" in missing.text and "polku report services" in missing.text
        from training.registry.runs import log_run_report
        from training.reports.services import read_inputs, service_report_for, write_service_report

        router = trained_model.result.router
        report = service_report_for(
            router,
            read_inputs(router, trained_model.data_dir),
            model={"name": trained_model.name, "version": trained_model.version},
            n_boot=20,
        )
        log_run_report(trained_model.run_id, "services", write_service_report(tmp_path, report))
    listed = http.get("/console/reports")
    assert '<a href="/console/reports/services">Service report</a>' in listed.text
    opened = http.get("/console/reports/services")
    assert opened.status_code == 200 and "Polku – service report" in opened.text
    assert '<html lang="en">' in opened.text and 'id="lang-en" checked>' in opened.text
    assert opened.headers["content-security-policy"] == report_policy(opened.text)


def test_a_followup_report_is_listed_once_logged(
    client: TestClient, keys: Keys, trained_model: TrainedModel, tmp_path: Path
) -> None:
    command = "polku report followup --decisions-db URL --data DIR --log"
    http = _sign_in(client, keys.evaluator)
    listed = http.get("/console/reports", params={"lang": "sv"})
    assert "Uppföljning av beslut" in listed.text
    if 'href="/console/reports/followup"' not in listed.text:
        assert "Inte skapad ännu" in listed.text and command in listed.text
        missing = http.get("/console/reports/followup")
        assert missing.status_code == 404
        assert "Rapporten har ännu inte loggats" in missing.text and command in missing.text
        run = report_followup_logged(trained_model, tmp_path)
        assert run.exit_code == 0, run.output
    listed = http.get("/console/reports")
    assert '<a href="/console/reports/followup">Uppföljning av beslut</a>' in listed.text
    opened = http.get("/console/reports/followup")
    assert opened.status_code == 200 and "uppföljning av beslut" in opened.text
    assert '<html lang="sv">' in opened.text and 'id="lang-sv" checked>' in opened.text
    assert opened.headers["content-security-policy"] == report_policy(opened.text)
    assert opened.text == in_language(
        http.get("/v1/reports/followup", headers={**keys.evaluator, "Accept": "text/html"}).text,
        "sv",
    )


def test_a_page_without_a_language_switch_is_served_as_it_is() -> None:
    plain = render_html({"groups": [{"group": "a", "n": 412}]}, title="Fairness report")
    assert in_language(plain, "sv") == plain
    assert report_policy(plain).count("'sha256-") == 1
