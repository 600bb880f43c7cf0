"""Seats left and the wait now in recommendations and on the console, as GET /v1/services has them.

Through the real app and its SQLite database: decisions recorded through the
API fill a service, and the next recommendation, the stored answer and the
console's suggestions page show it, while the ranking stays as it was.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from api.recommendations.service import today
from tests.support.api_requests import Keys, recommend

pytestmark = pytest.mark.one_app_per_module

FILLED = "pay_subsidy"  # the catalogue's smallest capacity; the test client is not eligible
SEAT_FIELDS = ("seats_left_this_month", "expected_wait_days_now")


def _services(client: TestClient, keys: Keys) -> dict[str, dict[str, Any]]:
    answer = client.get("/v1/services", headers=keys.caseworker)
    assert answer.status_code == 200, answer.text
    return {s["code"]: s for s in answer.json()["services"]}


def _entries(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every service of an answer (ranked, the reference, not offered) by code."""
    out = {e["service"]: e for e in answer["not_eligible"]}
    out[answer["reference"]["service"]] = answer["reference"]
    out.update({e["service"]: e for e in answer["recommendations"]})
    return out


def _decide(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> None:
    response = client.post(
        "/v1/decisions", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 201, response.text


def _fill(client: TestClient, keys: Keys, settings: Any) -> None:
    """Decisions for FILLED, in both units, until no seat is left this month."""
    per_recommendation = settings.max_decisions_per_recommendation
    left = _services(client, keys)[FILLED]["seats_left_this_month"]
    units = (keys.caseworker, keys.other_unit)
    turn = 0
    while left > 0:
        headers = units[turn % 2]
        turn += 1
        request_id = recommend(client, headers)["request_id"]
        for _ in range(min(left, per_recommendation)):
            _decide(
                client,
                headers,
                {"request_id": request_id, "chosen_service": FILLED, "reason_code": "other"},
            )
            left -= 1
    assert _services(client, keys)[FILLED]["seats_left_this_month"] == 0


def _days_to_next_month(day: date) -> int:
    first = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (first - day).days


def test_every_service_of_an_answer_has_the_seats_of_the_catalogue(
    client: TestClient, keys: Keys
) -> None:
    services = _services(client, keys)
    answer = recommend(client, keys.caseworker, k=100)
    entries = _entries(answer)
    assert set(entries) == set(services)  # every action once: ranked, reference or not offered
    assert FILLED in {e["service"] for e in answer["not_eligible"]}
    for code, entry in entries.items():
        assert {f: entry[f] for f in SEAT_FIELDS} == {f: services[code][f] for f in SEAT_FIELDS}
    assert answer["reference"]["expected_wait_days_now"] is None
    training = entries["integration_training"]
    assert training["seats_left_this_month"] is not None
    assert (
        training["expected_wait_days_now"] == services["integration_training"]["expected_wait_days"]
    )


def test_decisions_take_seats_at_once_and_a_full_service_is_ranked_as_before(
    client: TestClient, keys: Keys, settings: Any
) -> None:
    before = recommend(client, keys.caseworker, k=100, as_of="2023-06-15")
    assert FILLED in {e["service"] for e in before["recommendations"]}  # eligible by then
    left = _entries(before)[FILLED]["seats_left_this_month"]
    assert left > 0
    _decide(
        client,
        keys.other_unit,
        {
            "request_id": recommend(client, keys.other_unit)["request_id"],
            "chosen_service": FILLED,
            "reason_code": "other",
        },
    )
    one_less = recommend(client, keys.caseworker, k=100, as_of="2023-06-15")
    assert _entries(one_less)[FILLED]["seats_left_this_month"] == left - 1  # another unit's seat

    _fill(client, keys, settings)
    full = recommend(client, keys.caseworker, k=100, as_of="2023-06-15")
    entry = _entries(full)[FILLED]
    assert entry["seats_left_this_month"] == 0
    assert entry["expected_wait_days_now"] == _days_to_next_month(today())  # no usual wait
    ranking = [(e["service"], e["rank"], e["p_outcome"]) for e in full["recommendations"]]
    assert ranking == [(e["service"], e["rank"], e["p_outcome"]) for e in before["recommendations"]]
    not_offered = recommend(client, keys.caseworker, k=100)
    assert {f: _entries(not_offered)[FILLED][f] for f in SEAT_FIELDS} == {
        f: entry[f] for f in SEAT_FIELDS
    }

    stored = client.get(f"/v1/recommendations/{before['request_id']}", headers=keys.caseworker)
    assert _entries(stored.json())[FILLED]["seats_left_this_month"] == left  # as it was answered


def test_recommendations_read_no_decisions_while_the_counts_are_kept(
    app: FastAPI, client: TestClient, keys: Keys
) -> None:
    recommend(client, keys.caseworker)  # reads the month's counts once
    statements = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", seen)
    try:
        for _ in range(5):
            recommend(client, keys.caseworker)
    finally:
        event.remove(app.state.engine, "before_cursor_execute", seen)
    assert statements  # the key, the pause switch, the audit event
    assert not [s for s in statements if re.search(r"\bFROM decisions\b", s)]


@pytest.fixture
def console(client: TestClient, keys: Keys) -> Iterator[TestClient]:
    form = client.get("/console/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    key = keys.caseworker["Authorization"].removeprefix("Bearer ")
    signed_in = client.post(
        "/console/sign-in",
        data={"key": key, "csrf_token": token.group(1)},
        follow_redirects=True,
    )
    assert signed_in.status_code == 200, signed_in.text
    yield client
    client.cookies.clear()


def test_the_suggestions_page_shows_the_seats_and_the_wait_now(
    console: TestClient, keys: Keys, settings: Any
) -> None:
    _fill(console, keys, settings)
    services = _services(console, keys)
    training = services["integration_training"]
    answer = recommend(console, keys.caseworker, k=100)
    assert "integration_training" in {e["service"] for e in answer["recommendations"]}
    path = f"/console/requests/{answer['request_id']}"
    finnish = console.get(path, params={"lang": "fi"}).text
    assert (
        f"Paikkoja jäljellä tässä kuussa: {training['seats_left_this_month']} "
        "(yhteiset kaikille yksiköille)." in finnish
    )
    assert f"Odotusaika nyt noin {training['expected_wait_days_now']} päivää." in finnish
    full = re.search(r"<dt>Palkkatuki</dt><dd>(.*?)</dd>", finnish, re.S)
    assert full, "the full service is listed among those not offered"
    assert "Tämän kuun paikat on käytetty" in full.group(1)
    assert f"Odotusaika nyt noin {_days_to_next_month(today())} päivää." in full.group(1)
    assert "ehdotetaan silti" not in full.group(1)  # not offered, so not suggested either
    eligible = recommend(console, keys.caseworker, k=100, as_of="2023-06-15")["request_id"]
    ranked = console.get(f"/console/requests/{eligible}", params={"lang": "fi"}).text
    suggested = re.search(r"Palkkatuki</h3>(.*?)</li>", ranked, re.S)
    assert suggested, "the full service is still suggested"
    assert (
        "Tämän kuun paikat on käytetty (yhteiset kaikille yksiköille): asiakas odottaisi "
        "seuraavaan kuuhun. Palvelua ehdotetaan silti tavalliseen tapaan; sinä päätät."
    ) in suggested.group(1)
    swedish = console.get(path, params={"lang": "sv"}).text
    assert "Platser kvar denna månad" in swedish and "Väntetid nu cirka" in swedish
    english = console.get(path, params={"lang": "en"}).text
    assert "Seats left this month" in english and "No seats left this month" in english
