"""The caseworker console without a browser: sign-in, forms, refusals, headers, words.

The whole flow in a real browser, with axe-core, is tests/api/test_console_browser.py.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.auth import create_key
from api.console.locale import words
from api.storage.engine import write_transaction
from api.storage.tables import console_sessions
from tests.support.api_requests import Keys, request_body

LOCALE = Path(__file__).resolve().parents[2] / "api" / "console" / "locale"


def _key(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(http: TestClient, key: str) -> str:
    """Sign in; the session's CSRF token (from the Client page)."""
    form = http.get("/console/sign-in")
    assert form.status_code == 200
    response = http.post(
        "/console/sign-in", data={"key": key, "csrf_token": _csrf(form.text)}, follow_redirects=True
    )
    assert response.status_code == 200, response.text
    assert response.url.path == "/console/client"
    return _csrf(response.text)


def client_form(csrf: str, **changes: Any) -> dict[str, str]:
    body = request_body()
    client = body["client"]
    form = {
        f"client.{name}": str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in client.items()
    }
    for i, episode in enumerate(body["episodes"]):
        for name, value in episode.items():
            form[f"episodes.{i}.{name}"] = value or ""
    form.update({"outcomes.0.status": "unemployed", "outcomes.0.start_date": "2023-03-01"})
    form.update({"as_of": body["as_of"], "k": "3", "csrf_token": csrf, "action": "suggest"})
    form.update(changes)
    return form


@pytest.fixture
def console(client: TestClient, keys: Keys) -> tuple[TestClient, str]:
    return client, sign_in(client, _key(keys.caseworker))


def test_every_language_has_the_same_words() -> None:
    keys = {}
    for path in sorted(LOCALE.glob("*.toml")):
        keys[path.stem] = set(words(path.stem).messages)
        tomllib.loads(path.read_text("utf-8"))
    assert set(keys) == {"fi", "sv", "en"}
    assert keys["fi"] == keys["sv"] == keys["en"]


def test_the_console_signs_in_and_out(client: TestClient, keys: Keys) -> None:
    assert client.get("/console/client", follow_redirects=False).headers["location"] == (
        "/console/sign-in"
    )
    page = client.get("/console/sign-in")
    assert '<html lang="fi">' in page.text
    assert "Content-Security-Policy" in page.headers
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    bad = client.post(
        "/console/sign-in", data={"key": "plk_nonsense", "csrf_token": _csrf(page.text)}
    )
    assert bad.status_code == 401 and "Avainta ei hyväksytty" in bad.text
    csrf = sign_in(client, _key(keys.caseworker))
    cookie = next(c for c in client.cookies.jar if c.name == "polku_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite") == "strict"
    out = client.post("/console/sign-out", data={"csrf_token": csrf}, follow_redirects=True)
    assert "Olet kirjautunut ulos" in out.text
    assert client.get("/console/client", follow_redirects=False).status_code == 303


def test_a_client_gets_suggestions_and_a_decision(console: tuple[TestClient, str]) -> None:
    http, csrf = console
    response = http.post("/console/client", data=client_form(csrf), follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/console/requests/[0-9a-f-]{36}", location)  # no client data in it
    page = http.get(location)
    assert page.status_code == 200
    assert "Ehdotetut seuraavat palvelut" in page.text
    assert "Kotoutumissuunnitelma vain kerran" in page.text  # a reason in plain words
    english = http.get(location, params={"lang": "en"})
    assert '<html lang="en">' in english.text and "Suggested next services" in english.text
    assert http.get(location).text.startswith('<!doctype html>\n<html lang="en">')  # remembered
    follow = http.post(
        f"{location}/decision",
        data={
            "csrf_token": csrf,
            "idempotency_key": str(uuid.uuid4()),
            "chosen_service": re.search(
                r'name="chosen_service" value="([a-z_]+)"', page.text
            ).group(1),  # type: ignore[union-attr]
        },
        follow_redirects=True,
    )
    assert follow.status_code == 200 and "The decision was saved" in follow.text
    decisions = http.get("/console/decisions")
    assert "C003-0000421" in decisions.text
    explanation = http.get(f"{location}/explanation")
    assert "The caseworker came to the same choice" in explanation.text


def test_form_errors_are_shown_at_their_fields(console: tuple[TestClient, str]) -> None:
    http, csrf = console
    response = http.post("/console/client", data=client_form(csrf, **{"client.birth_year": ""}))
    assert response.status_code == 422
    assert re.search(r'id="client-birth_year"[^>]*aria-invalid="true"', response.text)
    assert 'href="#client-birth_year"' in response.text  # the summary links to the field
    contract = http.post(
        "/console/client", data=client_form(csrf, **{"episodes.1.end_date": "2023-01-01"})
    )
    assert contract.status_code == 422
    assert "end_date is before start_date" in contract.text
    assert re.search(r'id="episodes-1-end_date"[^>]*aria-invalid="true"', contract.text)
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    later = http.post("/console/client", data=client_form(csrf, as_of=future))
    assert later.status_code == 422 and "later than today" in later.text


def test_json_and_a_csv_row_fill_the_console(console: tuple[TestClient, str]) -> None:
    import json

    http, csrf = console
    answer = http.post(
        "/console/client/json",
        data={"csrf_token": csrf, "request_json": json.dumps(request_body())},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    broken = http.post("/console/client/json", data={"csrf_token": csrf, "request_json": "{"})
    assert broken.status_code == 422 and "ei ole kelvollista JSONia" in broken.text
    client = request_body()["client"]
    header = ";".join(client)
    row = ";".join(str(v).lower() if isinstance(v, bool) else str(v) for v in client.values())
    filled = http.post(
        "/console/client/csv",
        data={"csrf_token": csrf},
        files={"client_csv": ("client.csv", f"\ufeff{header}\n{row}\n".encode(), "text/csv")},
    )
    assert filled.status_code == 200, filled.text
    assert 'value="C003-0000421"' in filled.text and "Lomake täytettiin" in filled.text
    two = http.post(
        "/console/client/csv",
        data={"csrf_token": csrf},
        files={"client_csv": ("c.csv", f"{header}\n{row}\n{row}\n".encode(), "text/csv")},
    )
    assert two.status_code == 422 and "more than one client row" in two.text


def test_a_form_without_its_token_or_from_elsewhere_is_refused(
    console: tuple[TestClient, str],
) -> None:
    http, csrf = console
    assert http.post("/console/client", data=client_form("forged")).status_code == 403
    cross = http.post(
        "/console/client", data=client_form(csrf), headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    other_origin = http.post(
        "/console/client", data=client_form(csrf), headers={"Origin": "https://elsewhere.example"}
    )
    assert other_origin.status_code == 403
    assert http.post("/console/sign-out", data={}).status_code == 403
    signed_in = http.post("/console/sign-in", data={"key": "x", "csrf_token": "forged"})
    assert signed_in.status_code == 403


def test_a_session_sees_its_own_unit_only(client: TestClient, keys: Keys, app: FastAPI) -> None:
    csrf = sign_in(client, _key(keys.other_unit))
    with TestClient(app) as other:
        theirs = sign_in(other, _key(keys.caseworker))
        location = other.post("/console/client", data=client_form(theirs)).url.path
    assert location.startswith("/console/requests/")
    for path in (location, f"{location}/explanation"):
        refused = client.get(path)
        assert refused.status_code == 404 and "Yksikössäsi ei ole" in refused.text
    decision = client.post(
        f"{location}/decision",
        data={"csrf_token": csrf, "chosen_service": "no_new_service", "reason_code": "other"},
    )
    assert decision.status_code == 404
    assert "C003-0000421" not in client.get("/console/decisions").text


def test_other_roles_are_told_the_console_is_for_caseworkers(
    client: TestClient, keys: Keys
) -> None:
    for headers, role in (
        (keys.data_scientist, "data-analyytikko"),
        (keys.planner, "palvelusuunnittelija"),
    ):
        sign_in_page = client.get("/console/sign-in")
        response = client.post(
            "/console/sign-in",
            data={"key": _key(headers), "csrf_token": _csrf(sign_in_page.text)},
            follow_redirects=True,
        )
        assert response.status_code == 403 and "Konsoli on ohjaajille" in response.text
        assert role in response.text
        client.post("/console/sign-out", data={"csrf_token": _csrf(response.text)})


def test_an_idle_or_revoked_session_ends(client: TestClient, keys: Keys, app: FastAPI) -> None:
    sign_in(client, _key(keys.caseworker))
    engine = app.state.engine
    long_ago = datetime.now(UTC) - timedelta(minutes=16)
    with write_transaction(engine) as connection:
        connection.execute(update(console_sessions).values(last_seen_at=long_ago))
    response = client.get("/console/client", follow_redirects=True)
    assert response.url.path == "/console/sign-in" and "15 minuuttiin" in response.text
    fresh = create_key(engine, role="caseworker", unit="espoo-a")
    sign_in(client, fresh.key)
    from api.auth import revoke

    revoke(engine, key_id=fresh.key_id)
    assert client.get("/console/client", follow_redirects=True).url.path == "/console/sign-in"


def test_the_stop_switch_is_shown_and_no_suggestion_is_made(
    console: tuple[TestClient, str], keys: Keys
) -> None:
    http, csrf = console
    paused = http.post("/v1/admin/pause", json={"reason": "model review"}, headers=keys.admin)
    assert paused.status_code == 200, paused.text
    page = http.get("/console/client")
    assert "keskeyttänyt suositukset (model review)" in page.text
    refused = http.post("/console/client", data=client_form(csrf))
    assert refused.status_code == 503 and "keskeyttänyt suositukset" in refused.text


def test_no_client_data_reaches_the_log(
    console: tuple[TestClient, str], caplog: pytest.LogCaptureFixture
) -> None:
    http, csrf = console
    with caplog.at_level("INFO"):
        http.post("/console/client", data=client_form(csrf, **{"client.client_id": "SECRET-42"}))
        http.post("/console/client", data=client_form(csrf, **{"client.birth_year": "x1"}))
    assert "SECRET-42" not in caplog.text and "x1" not in caplog.text


def test_make_demo_prints_the_console_address_and_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from rich.console import Console

    from api.auth import NewKey, Role
    from cli import demo, operations

    served: list[operations.ServeOptions] = []
    key = NewKey(
        key_id="k000000000000",
        key="plk_k000000000000_" + "A" * 43,
        role=Role.caseworker,
        unit="demo",
    )
    monkeypatch.setattr(operations, "demo_key", lambda: key)
    monkeypatch.setattr(operations, "serve", served.append)
    out = io.StringIO()
    demo.serve_demo(Console(file=out, width=200))
    text = out.getvalue()
    assert "Caseworker console: http://127.0.0.1:8000/console" in text
    assert key.key in text
    assert served == [operations.ServeOptions()]
