"""The console in a real browser: a caseworker's round, an evaluator's reports, axe-core, print.

Headless Chromium from Debian's packages (`chromium`; .ci/run installs it)
driven by Playwright for Python with the system browser (Playwright's own
browser download is never used). The app is served by uvicorn in a thread
on a free local port. On every page axe-core (shipped inside
axe-playwright-python, so it runs offline) must find no serious or critical
violation, the browser must log no error (a CSP refusal is one) and no
request may leave the server.

The time from pressing "Hae ehdotukset" to the rendered Suggestions page is
measured and printed, not asserted (target 300 ms on the 2-core machine).
Screenshots of each page go to $POLKU_CONSOLE_SCREENSHOTS when it is set
(docs/images for docs/console.md), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from api.auth import create_key
from tests.support.api_requests import request_body
from tests.support.chromium import chromium

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
SERIOUS = {"serious", "critical"}
TIMED_SUBMISSIONS = 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(app: FastAPI) -> Iterator[str]:
    """The app behind uvicorn on 127.0.0.1:<free port>; its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 90
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Browser:
    """One page of a Chromium context with the checks every step makes."""

    def __init__(self, page: Any, base: str, shots: Path) -> None:
        self.page = page
        self.base = base
        self.shots = shots
        self.problems: list[str] = []
        self.checked: list[str] = []
        page.on("console", self._console)
        # A page answered 4xx on purpose (a refused form, another unit's page)
        # is checked where it happens; any other resource must load.
        page.on(
            "response",
            lambda response: (
                self.problems.append(f"{response.status} {response.url}")
                if response.status >= 400 and response.request.resource_type != "document"
                else None
            ),
        )
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "request",
            lambda request: (
                None
                if request.url.startswith(base) or request.url.startswith("data:")
                else self.problems.append(f"request left the server: {request.url}")
            ),
        )

    def _console(self, message: Any) -> None:
        if message.type not in ("error", "warning"):
            return
        if message.text.startswith(
            "Failed to load resource: the server responded with a status of 4"
        ):
            return  # the document's own status; resources are checked by their responses
        self.problems.append(f"console {message.type}: {message.text}")

    def axe(self, name: str) -> None:
        """axe-core on the page as it is: no serious or critical violation; a screenshot."""
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page)
        bad = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v["impact"] in SERIOUS
        ]
        assert bad == [], f"{name}: {bad}"
        self.checked.append(name)
        self.page.screenshot(path=str(self.shots / f"console-{name}.png"), full_page=True)


def _fill_client(page: Any, client_id: str) -> None:
    body = request_body()
    client = body["client"]
    page.get_by_label("Asiakastunnus (pseudonyymi)").fill(client_id)
    page.fill("#client-intake_date", client["intake_date"])
    page.fill("#client-arrival_date", client["arrival_date"])
    page.get_by_label("Syntymävuosi").fill(str(client["birth_year"]))
    page.select_option("#client-gender", client["gender"])
    page.fill("#client-mother_tongue", client["mother_tongue"])
    page.select_option("#client-citizenship_region", client["citizenship_region"])
    page.select_option("#client-residence_basis", client["residence_basis"])
    page.select_option("#client-education_level", client["education_level"])
    page.fill("#client-prior_work_years", "2,5")
    page.select_option("#client-literacy_needs", "false")
    page.select_option("#client-finnish_level", client["finnish_level"])
    for i, episode in enumerate(body["episodes"]):
        page.get_by_label(f"Palvelu, rivi {i + 1}", exact=True).select_option(episode["service"])
        page.fill(f"#episodes-{i}-start_date", episode["start_date"])
        page.fill(f"#episodes-{i}-end_date", episode["end_date"])
        page.select_option(f"#episodes-{i}-status", episode["status"])
    page.select_option("#outcomes-0-status", "unemployed")
    page.fill("#outcomes-0-start_date", "2023-03-01")
    page.fill("#as_of", body["as_of"])


def _submit_timed(page: Any) -> float:
    """Milliseconds from pressing the button to the Suggestions page, rendered."""
    started = time.perf_counter()
    page.get_by_role("button", name="Hae ehdotukset", exact=True).click()
    page.wait_for_selector("h1:text-is('Ehdotukset')")
    page.wait_for_load_state("load")
    return (time.perf_counter() - started) * 1000


def test_a_caseworkers_round_in_the_browser(
    served: str, app: FastAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    shots = Path(os.environ.get("POLKU_CONSOLE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    engine = app.state.engine
    key = create_key(engine, role="caseworker", unit="espoo-leppavaara").key
    other_unit = create_key(engine, role="caseworker", unit="espoo-tapiola").key
    timings: list[float] = []

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fi-FI")
        b = Browser(context.new_page(), served, shots)
        page = b.page

        # sign in with the keyboard only: the skip link first, then the key field
        page.goto(f"{served}/console")
        assert page.url.endswith("/console/sign-in")
        assert page.get_attribute("html", "lang") == "fi"
        b.axe("sign-in")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        focus_order = []
        for _ in range(6):
            page.keyboard.press("Tab")
            focus_order.append(
                page.evaluate("document.activeElement.id || document.activeElement.textContent")
            )
        assert "key" in focus_order, focus_order
        page.focus("#key")
        page.keyboard.type(key)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{served}/console/client")
        assert page.get_by_role("link", name="Raportit").count() == 0
        b.axe("client")

        # a refused form is told at its fields
        page.get_by_role("button", name="Hae ehdotukset", exact=True).click()
        page.wait_for_selector("#error-summary")
        assert page.evaluate("document.activeElement.id") == "error-summary"
        b.axe("client-errors")

        # a client, then suggestions: timed, and in every language
        _fill_client(page, "C003-0000421")
        timings.append(_submit_timed(page))
        assert "/console/requests/" in page.url and "C003" not in page.url
        suggestions_url = page.url
        b.axe("suggestions-fi")
        for language, heading in (("sv", "Förslag"), ("en", "Suggestions")):
            page.get_by_role("link", name={"sv": "Svenska", "en": "English"}[language]).click()
            page.wait_for_selector(f"h1:text-is('{heading}')")
            assert page.get_attribute("html", "lang") == language
            b.axe(f"suggestions-{language}")
        page.get_by_role("link", name="Suomi").click()
        page.wait_for_selector("h1:text-is('Ehdotukset')")

        # follow the first suggestion in one click
        page.locator("form.follow button").click()
        page.wait_for_selector("text=Päätös tallennettiin.")
        b.axe("decision-recorded")

        # another client: choose another service, with a reason
        for attempt in range(TIMED_SUBMISSIONS):
            page.goto(f"{served}/console/client")
            _fill_client(page, f"C003-00005{attempt:02d}")
            timings.append(_submit_timed(page))
        override_url = page.url
        page.get_by_role("button", name="Tallenna päätös").click()  # no service chosen
        assert page.eval_on_selector("#chosen-service", "e => e.validity.valueMissing")
        assert page.url == override_url  # the browser kept the form: a service is required
        options = page.locator("#chosen-service option").all()
        page.select_option("#chosen-service", options[2].get_attribute("value"))
        page.get_by_label("Syy").select_option("client_preference")
        page.get_by_label("Kommentti (vapaaehtoinen)").fill("Asiakas aloittaa työkokeilun ensin.")
        page.get_by_role("button", name="Tallenna päätös").click()
        page.wait_for_selector("text=Päätös tallennettiin.")
        assert "poikkeaa ensimmäisestä ehdotuksesta" in page.content()

        # both in the unit's decision list
        page.get_by_role("link", name="Päätökset").click()
        page.wait_for_selector("h1:text-is('Yksikkösi päätökset')")
        rows = page.locator("tbody tr")
        assert rows.count() == 2
        assert "C003-0000421" in page.content() and "asiakkaan toive" in page.content()
        b.axe("decisions")

        # the client's explanation, printed
        page.goto(f"{suggestions_url}/explanation")
        page.wait_for_selector("h1:text-is('Selvitys palveluehdotuksesta')")
        b.axe("explanation")
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible()
        page.screenshot(path=str(shots / "console-explanation-print.png"), full_page=True)
        pdf = tmp_path / "explanation.pdf"
        page.pdf(path=str(pdf), format="A4")
        assert pdf.stat().st_size > 5000
        page.emulate_media(media="screen")

        # a forged form and another unit's session are refused
        forged = page.request.post(
            f"{override_url}/decision",
            form={"csrf_token": "forged", "chosen_service": "no_new_service"},
        )
        assert forged.status == 403
        other = browser.new_context(locale="fi-FI")
        o = Browser(other.new_page(), served, shots)
        o.page.goto(f"{served}/console/sign-in")
        o.page.fill("#key", other_unit)
        o.page.get_by_role("button", name="Kirjaudu").click()
        o.page.wait_for_url(f"{served}/console/client")
        refused = o.page.goto(suggestions_url)
        assert refused is not None and refused.status == 404
        o.axe("not-found")
        other.close()

        # sign out
        page.goto(f"{served}/console/client")
        page.get_by_role("button", name="Kirjaudu ulos").click()
        page.wait_for_selector("text=Olet kirjautunut ulos.")
        page.goto(suggestions_url)
        assert page.url.startswith(f"{served}/console/sign-in")
        context.close()
        browser.close()

    assert b.problems == [] and o.problems == []
    assert len(b.checked) >= 8
    warm = timings[1:]
    with capsys.disabled():
        print(
            "\nconsole: submit to rendered suggestions, ms: first "
            f"{timings[0]:.0f}, then median {statistics.median(warm):.0f} "
            f"(min {min(warm):.0f}, max {max(warm):.0f}; target <= 300); "
            f"axe-core clean on {len(b.checked) + len(o.checked)} pages; screenshots in {shots}"
        )


# Runs in the page as the browser drew it: the report's own styles applied
# (only the chosen language shown) and every embedded plot decoded.
REPORT_DRAWN = """() => {
  const shown = (language) => Array.from(document.querySelectorAll("." + language))
    .some((e) => getComputedStyle(e).display !== "none");
  const images = Array.from(document.images);
  return {
    shown: ["fi", "sv", "en"].filter(shown),
    images: images.length,
    broken: images.filter((i) => !i.complete || i.naturalWidth === 0).length,
  };
}"""


def test_an_evaluator_opens_the_reports_from_the_console(
    served: str, app: FastAPI, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    shots = Path(os.environ.get("POLKU_CONSOLE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    key = create_key(app.state.engine, role="evaluator", unit="evaluation").key

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fi-FI")
        b = Browser(context.new_page(), served, shots)
        page = b.page
        page.goto(f"{served}/console/sign-in")
        page.fill("#key", key)
        page.get_by_role("button", name="Kirjaudu").click()
        page.wait_for_url(f"{served}/console/reports")
        nav = page.get_by_role("navigation", name="Päävalikko")
        assert nav.get_by_role("link").all_inner_texts() == ["Raportit"]
        assert nav.get_by_role("link", name="Raportit").get_attribute("aria-current") == "page"
        b.axe("reports")

        for language, link, other in (
            ("fi", "Yhdenvertaisuusraportti", "Svenska"),
            ("sv", "Rapport om likabehandling", None),
        ):
            page.get_by_role("link", name=link).click()
            page.wait_for_url(f"{served}/console/reports/fairness")
            page.wait_for_load_state("load")
            assert page.get_attribute("html", "lang") == language
            drawn = page.evaluate(REPORT_DRAWN)
            assert drawn["shown"] == [language], drawn
            assert drawn["images"] > 0 and drawn["broken"] == 0, drawn
            page.screenshot(path=str(shots / f"console-report-fairness-{language}.png"))
            back = page.go_back()
            assert back is not None and back.url.split("?")[0] == f"{served}/console/reports"
            if other:
                page.get_by_role("link", name=other).click()
                page.wait_for_selector("h1:text-is('Rapporter')")
                b.axe("reports-sv")
        context.close()
        browser.close()

    assert b.problems == []
