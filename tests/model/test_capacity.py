"""Capacity tables: the catalogue's seats as the default, a table's overrides, and precise refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.catalogue import load_catalogue
from model.errors import CapacityError
from model.planning.capacity import capacity_from_catalogue, parse_capacity

CATALOGUE = load_catalogue()


def test_the_catalogue_gives_every_month_its_monthly_capacity_and_no_limit_elsewhere() -> None:
    seats = capacity_from_catalogue(CATALOGUE).seats("2025-03")
    assert seats["pay_subsidy"] == 60
    assert seats["initial_assessment"] is None
    assert set(seats) == set(CATALOGUE.service_codes)


def test_a_table_overrides_one_service_in_one_month_only() -> None:
    capacity = parse_capacity(
        "service,month,seats\npay_subsidy,2025-07,0\ninitial_assessment,2025-07,25\n",
        catalogue=CATALOGUE,
    )
    assert capacity.seats("2025-07")["pay_subsidy"] == 0
    assert capacity.seats("2025-07")["initial_assessment"] == 25
    assert capacity.seats("2025-08")["pay_subsidy"] == 60
    assert capacity.seats("2025-08")["initial_assessment"] is None


def test_columns_may_come_in_any_order_and_blank_lines_are_skipped() -> None:
    capacity = parse_capacity(
        "seats,service,month\n\n12,pay_subsidy,2025-03\n", catalogue=CATALOGUE
    )
    assert capacity.seats("2025-03")["pay_subsidy"] == 12


def test_every_bad_row_is_named_by_file_row_and_column_at_once() -> None:
    text = (
        "service,month,seats\n"
        "sauna_course,2025-03,5\n"  # row 1: unknown service
        "pay_subsidy,2025-3,5\n"  # row 2: month format
        "pay_subsidy,2025-04,-2\n"  # row 3: negative
        "pay_subsidy,2025-05,many\n"  # row 4: not a number
        "pay_subsidy,2025-06,5\n"  # row 5: fine
        "pay_subsidy,2025-06,7\n"  # row 6: duplicate of row 5
        "no_new_service,2025-06,7\n"  # row 7: not a service with seats
    )
    with pytest.raises(CapacityError) as caught:
        parse_capacity(text, catalogue=CATALOGUE, source="seats.csv")
    where = [(p["file"], p["row"], p["column"]) for p in caught.value.problems]
    assert where == [
        ("seats.csv", 1, "service"),
        ("seats.csv", 2, "month"),
        ("seats.csv", 3, "seats"),
        ("seats.csv", 4, "seats"),
        ("seats.csv", 6, None),
        ("seats.csv", 7, "service"),
    ]
    message = str(caught.value)
    assert "seats.csv, row 1, column service: unknown service 'sauna_course'" in message
    assert "seats.csv, row 3, column seats: negative seats (-2)" in message
    assert "given twice (first on row 5)" in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("service,seats\npay_subsidy,4\n", "month"),
        ("service,month,seats,notes\npay_subsidy,2025-03,4,x\n", "notes"),
        ("", None),
    ],
)
def test_a_bad_header_is_refused_naming_the_column(text: str, column: str | None) -> None:
    with pytest.raises(CapacityError) as caught:
        parse_capacity(text, catalogue=CATALOGUE)
    assert caught.value.problems[0]["column"] == column


def test_a_month_not_written_yyyy_mm_is_refused_when_asking_for_seats() -> None:
    with pytest.raises(CapacityError, match="YYYY-MM"):
        capacity_from_catalogue(CATALOGUE).seats("March")


def test_the_messages_shown_in_docs_catalogue_md_are_the_real_ones() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "catalogue.md").read_text("utf-8")
    section = doc[doc.index("## 9. Seats per month") :]
    shown = [
        line.split("`")[1].split(" ...")[0]
        for line in section.splitlines()
        if line.startswith("| `seats.csv")
    ]
    assert len(shown) == 6
    rows = (
        "service,month,seats\n"
        "sauna_course,2025-03,5\n"
        "pay_subsidy,2025-3,5\n"
        "pay_subsidy,2025-04,-2\n"
        "pay_subsidy,2025-05,many\n"
        "pay_subsidy,2025-06,5\n"
        "pay_subsidy,2025-06,7\n"
    )
    messages = []
    for text in (rows, "service,month,seats,notes\npay_subsidy,2025-03,4,x\n"):
        with pytest.raises(CapacityError) as caught:
            parse_capacity(text, catalogue=CATALOGUE, source="seats.csv")
        messages.append(str(caught.value))
    for message in shown:
        assert any(message in real for real in messages), message
