"""The data contract: reading, writing and validating the three input tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from model.catalogue import Catalogue, load_catalogue
from model.config import RunConfig
from model.errors import DataContractError
from tests.support.factories import as_text, make_clients, make_tables
from training.contract import (
    Problem,
    check_tables,
    load_valid_tables,
    require_valid_tables,
    validate_tables,
)
from training.tables import DTYPES, Tables, column_kinds, read_raw_tables, read_tables, write_tables

IDENTITY_CODE = "131052-308T"  # the official example; any valid code would do
CSV_FILES = {name: f"{name}.csv" for name in ("clients", "episodes", "outcomes")}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def problems_in(
    folder: Path, catalogue: Catalogue, config: RunConfig | None = None
) -> list[Problem]:
    return list(
        check_tables(
            read_tables(folder, config=config), catalogue=catalogue, config=config
        ).problems
    )


def keys(problems: list[Problem]) -> set[tuple[str, int | None, str | None, str]]:
    return {(p.file, p.row, p.column, p.rule) for p in problems}


# --------------------------------------------------------------------------- reading and writing


def test_factory_tables_meet_the_contract(catalogue: Catalogue) -> None:
    tables = make_tables(n_clients=6)
    assert validate_tables(tables, catalogue=catalogue) == []
    for name, frame in tables.items():
        kinds = column_kinds(name)
        assert {c: str(frame[c].dtype) for c in frame} == {c: DTYPES[kinds[c]] for c in frame}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_gives_equal_frames(tmp_path: Path, fmt: str, catalogue: Catalogue) -> None:
    tables = make_tables(n_clients=4, health_limitation=[True, None, False, None])
    written = write_tables(tables, tmp_path, fmt=fmt)  # type: ignore[arg-type]
    assert sorted(p.name for p in written.values()) == sorted(f"{n}.{fmt}" for n in written)
    back = read_tables(tmp_path)
    assert back.bad_cells == ()
    assert back.files == {name: f"{name}.{fmt}" for name in ("clients", "episodes", "outcomes")}
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(back[name], frame)
    # Missing values survive: empty prior_work_years, open spells, no planned service.
    assert back.clients["prior_work_years"].isna().any()
    assert back.clients["health_limitation"].isna().sum() == 2
    assert back.episodes["end_date"].isna().any()
    assert validate_tables(back, catalogue=catalogue) == []


def test_csv_text_conventions(tmp_path: Path) -> None:
    write_tables(make_tables(n_clients=6), tmp_path)
    clients = (tmp_path / "clients.csv").read_text().splitlines()
    header = clients[0].split(",")
    first = dict(zip(header, clients[1].split(","), strict=True))
    assert first["intake_date"] == "2019-01-07"
    assert first["literacy_needs"] == "true"
    raw = as_text(make_tables(n_clients=6))
    raw.clients["literacy_needs"] = ["Yes", "NO", "1", "0", " TRUE ", "false"]
    raw.clients["prior_work_years"] = ["2.5", "", "3", "  ", "0", "1e1"]
    write_tables(raw, tmp_path)
    back = read_tables(tmp_path)
    assert back.bad_cells == ()
    assert back.clients["literacy_needs"].tolist() == [True, False, True, False, True, False]
    assert back.clients["prior_work_years"].tolist()[0] == 2.5
    assert back.clients["prior_work_years"].isna().tolist() == [
        False,
        True,
        False,
        True,
        False,
        False,
    ]


def test_text_na_is_a_value_not_a_missing_one(tmp_path: Path) -> None:
    raw = as_text(make_tables(n_clients=2))
    raw.clients["citizenship_region"] = ["NA", "None"]
    write_tables(raw, tmp_path)
    assert read_tables(tmp_path).clients["citizenship_region"].tolist() == ["NA", "None"]


def test_exactly_one_file_per_table(tmp_path: Path) -> None:
    write_tables(make_tables(), tmp_path, fmt="csv")
    make_tables().clients.to_parquet(tmp_path / "clients.parquet")
    (tmp_path / "outcomes.csv").unlink()
    with pytest.raises(DataContractError) as caught:
        read_raw_tables(tmp_path)
    found = {(p["file"], p["rule"]) for p in caught.value.problems}
    assert found == {("clients.csv", "ambiguous_file"), ("outcomes.csv", "missing_file")}
    assert "clients" in str(caught.value) and "outcomes" in str(caught.value)


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    write_tables(make_tables(), tmp_path)
    (tmp_path / "outcomes.csv").write_text("")
    with (tmp_path / "episodes.csv").open("a") as f:
        f.write("c000001,review,2020-01-01,,completed,,,too,many\n")
    with pytest.raises(DataContractError) as caught:
        read_tables(tmp_path)
    assert {(p["file"], p["rule"]) for p in caught.value.problems} == {
        ("episodes.csv", "unreadable_file"),
        ("outcomes.csv", "unreadable_file"),
    }


def test_writing_one_format_removes_the_other(tmp_path: Path) -> None:
    write_tables(make_tables(), tmp_path, fmt="csv")
    write_tables(make_tables(), tmp_path, fmt="parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clients.parquet",
        "episodes.parquet",
        "outcomes.parquet",
    ]


# --------------------------------------------------------------------------- bad inputs


def _rename_client(raw: Tables, old: str, new: str) -> None:
    for _name, frame in raw.items():
        frame.loc[frame["client_id"] == old, "client_id"] = new


def _drop_gender(raw: Tables) -> None:
    raw.clients.drop(columns="gender", inplace=True)


def _birth_year_in_words(raw: Tables) -> None:
    raw.clients.loc[1, "birth_year"] = "nineteen eighty"


def _thirtieth_of_february(raw: Tables) -> None:
    raw.episodes.loc[2, "start_date"] = "2020-02-30"


def _spell_ends_before_it_starts(raw: Tables) -> None:
    raw.outcomes.loc[0, "end_date"] = "2000-01-01"


def _unknown_service(raw: Tables) -> None:
    raw.episodes.loc[1, "service"] = "juggling"


def _unknown_client(raw: Tables) -> None:
    raw.outcomes.loc[1, "client_id"] = "c999999"


def _duplicate_id(raw: Tables) -> None:
    _rename_client(raw, "c000002", "c000000")


def _undeclared_column(raw: Tables) -> None:
    raw.clients["municipality"] = "espoo"


def _ongoing_with_end_date(raw: Tables) -> None:
    assert raw.episodes.loc[7, "status"] == "ongoing"
    raw.episodes.loc[7, "end_date"] = "2030-01-01"


def _completed_without_end_date(raw: Tables) -> None:
    raw.episodes.loc[0, "end_date"] = ""


def _episode_before_intake(raw: Tables) -> None:
    raw.episodes.loc[8, "start_date"] = "2000-01-01"


def _arrival_after_intake(raw: Tables) -> None:
    raw.clients.loc[0, "arrival_date"] = "2030-01-01"


def _too_young(raw: Tables) -> None:
    raw.clients.loc[0, "birth_year"] = "2010"


def _purple_gender(raw: Tables) -> None:
    raw.clients.loc[2, "gender"] = "purple"


def _missing_finnish_level(raw: Tables) -> None:
    raw.clients.loc[3, "finnish_level"] = ""


def _bad_planned_service(raw: Tables) -> None:
    raw.episodes["planned_service"] = raw.episodes["planned_service"].astype(object)
    raw.episodes.loc[4, "planned_service"] = "juggling"


def _bad_language_level(raw: Tables) -> None:
    raw.episodes.loc[3, "language_level_after"] = "A3"


def _negative_work_years(raw: Tables) -> None:
    raw.clients.loc[0, "prior_work_years"] = "-1"


def _comma_decimal(raw: Tables) -> None:
    raw.clients.loc[0, "prior_work_years"] = "2,5"


def _bad_mother_tongue(raw: Tables) -> None:
    raw.clients.loc[0, "mother_tongue"] = "Arabic"


def _episode_column_unknown(raw: Tables) -> None:
    raw.episodes["caseworker_note"] = "x"


BAD_INPUTS: list[tuple[Callable[[Tables], None], tuple[str, int | None, str, str]]] = [
    (_drop_gender, ("clients.csv", None, "gender", "missing_column")),
    (_birth_year_in_words, ("clients.csv", 2, "birth_year", "wrong_type")),
    (_thirtieth_of_february, ("episodes.csv", 3, "start_date", "not_a_date")),
    (_spell_ends_before_it_starts, ("outcomes.csv", 1, "end_date", "end_before_start")),
    (_unknown_service, ("episodes.csv", 2, "service", "unknown_service")),
    (_unknown_client, ("outcomes.csv", 2, "client_id", "unknown_client")),
    (_duplicate_id, ("clients.csv", 3, "client_id", "duplicate_id")),
    (_undeclared_column, ("clients.csv", None, "municipality", "undeclared_column")),
    (_ongoing_with_end_date, ("episodes.csv", 8, "end_date", "ongoing_with_end_date")),
    (_completed_without_end_date, ("episodes.csv", 1, "end_date", "missing_end_date")),
    (_episode_before_intake, ("episodes.csv", 9, "start_date", "before_intake")),
    (_arrival_after_intake, ("clients.csv", 1, "arrival_date", "arrival_after_intake")),
    (_too_young, ("clients.csv", 1, "birth_year", "out_of_range")),
    (_purple_gender, ("clients.csv", 3, "gender", "not_in_categories")),
    (_missing_finnish_level, ("clients.csv", 4, "finnish_level", "missing_value")),
    (_bad_planned_service, ("episodes.csv", 5, "planned_service", "unknown_service")),
    (_bad_language_level, ("episodes.csv", 4, "language_level_after", "not_in_categories")),
    (_negative_work_years, ("clients.csv", 1, "prior_work_years", "out_of_range")),
    (_comma_decimal, ("clients.csv", 1, "prior_work_years", "wrong_type")),
    (_bad_mother_tongue, ("clients.csv", 1, "mother_tongue", "not_in_categories")),
    (_episode_column_unknown, ("episodes.csv", None, "caseworker_note", "undeclared_column")),
]


@pytest.mark.parametrize(
    ("breaks", "expected"), BAD_INPUTS, ids=[b.__name__.strip("_") for b, _ in BAD_INPUTS]
)
def test_each_bad_input_is_refused_precisely(
    catalogue: Catalogue,
    breaks: Callable[[Tables], None],
    expected: tuple[str, int | None, str, str],
) -> None:
    # In memory, as text, with the CSV file names: the same conversion as reading
    # the files (which the tests around this one do end to end), but quicker.
    raw = as_text(make_tables(n_clients=4)).replace(files=CSV_FILES)
    breaks(raw)
    with pytest.raises(DataContractError) as caught:
        require_valid_tables(raw, catalogue=catalogue)
    problems = [Problem(**p) for p in caught.value.problems]  # type: ignore[arg-type]
    assert keys(problems) == {expected}, [p.message for p in problems]
    assert all(p.message for p in problems)
    assert expected[0] in str(caught.value)


def test_bad_files_are_refused_end_to_end(tmp_path: Path, catalogue: Catalogue) -> None:
    raw = as_text(make_tables(n_clients=4))
    _thirtieth_of_february(raw)
    _birth_year_in_words(raw)
    write_tables(raw, tmp_path)
    with pytest.raises(DataContractError) as caught:
        load_valid_tables(tmp_path, catalogue=catalogue)
    assert {(p["file"], p["row"], p["column"], p["rule"]) for p in caught.value.problems} == {
        ("clients.csv", 2, "birth_year", "wrong_type"),
        ("episodes.csv", 3, "start_date", "not_a_date"),
    }
    assert "'2020-02-30' is not a date" in str(caught.value.problems)


def test_messages_say_what_to_do(tmp_path: Path, catalogue: Catalogue) -> None:
    raw = as_text(make_tables(n_clients=4))
    _undeclared_column(raw)
    _purple_gender(raw)
    _unknown_service(raw)
    write_tables(raw, tmp_path)
    messages = {p.rule: p.message for p in problems_in(tmp_path, catalogue)}
    assert "extra_features" in messages["undeclared_column"]
    assert "run configuration" in messages["undeclared_column"]
    assert "'purple'" in messages["not_in_categories"]
    assert "female" in messages["not_in_categories"]
    assert "'juggling'" in messages["unknown_service"]


def test_identity_code_ids_are_refused_and_never_echoed(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    raw = as_text(make_tables(n_clients=4))
    _rename_client(raw, "c000001", IDENTITY_CODE)
    write_tables(raw, tmp_path)
    problems = problems_in(tmp_path, catalogue)
    assert {p.rule for p in problems} == {"personal_identity_code"}
    assert ("clients.csv", 2, "client_id", "personal_identity_code") in keys(problems)
    assert {p.file for p in problems} == {"clients.csv", "episodes.csv", "outcomes.csv"}
    assert all("pseudonym" in p.message for p in problems)
    assert not any(IDENTITY_CODE in p.message for p in problems)
    with pytest.raises(DataContractError) as caught:
        load_valid_tables(tmp_path, catalogue=catalogue)
    assert IDENTITY_CODE not in str(caught.value)
    assert IDENTITY_CODE not in repr(caught.value.problems)


def test_identity_codes_are_not_echoed_from_other_columns(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    raw = as_text(make_tables(n_clients=3))
    raw.clients.loc[0, "gender"] = IDENTITY_CODE
    raw.clients.loc[1, "intake_date"] = IDENTITY_CODE
    raw.clients.loc[2, "citizenship_region"] = IDENTITY_CODE
    write_tables(raw, tmp_path)
    problems = problems_in(tmp_path, catalogue)
    assert ("clients.csv", 1, "gender", "not_in_categories") in keys(problems)
    assert ("clients.csv", 2, "intake_date", "not_a_date") in keys(problems)
    assert ("clients.csv", 3, "citizenship_region", "personal_identity_code") in keys(problems)
    assert not any(IDENTITY_CODE in p.message for p in problems)


def test_client_ids_are_never_echoed(tmp_path: Path, catalogue: Catalogue) -> None:
    raw = as_text(make_tables(n_clients=4))
    _duplicate_id(raw)
    _unknown_client(raw)
    raw.episodes.loc[0, "client_id"] = "c777777"
    write_tables(raw, tmp_path)
    problems = problems_in(tmp_path, catalogue)
    assert {p.rule for p in problems} == {"duplicate_id", "unknown_client"}
    for p in problems:
        assert (
            "c000000" not in p.message and "c999999" not in p.message and "c777777" not in p.message
        )
    duplicate = next(p for p in problems if p.rule == "duplicate_id")
    assert "row 1" in duplicate.message


def test_every_problem_is_reported(tmp_path: Path, catalogue: Catalogue) -> None:
    raw = as_text(make_tables(n_clients=4))
    for breaks, _ in BAD_INPUTS:
        if breaks not in (_drop_gender, _duplicate_id, _too_young, _comma_decimal):
            breaks(raw)
    write_tables(raw, tmp_path)
    found = keys(problems_in(tmp_path, catalogue))
    expected = {
        e
        for b, e in BAD_INPUTS
        if b not in (_drop_gender, _duplicate_id, _too_young, _comma_decimal)
    }
    assert expected <= found
    # Several problems in one cell's row and several rows of one rule are all listed.
    assert len(found) >= len(expected)


def test_problems_are_capped_but_counted(catalogue: Catalogue) -> None:
    tables = make_tables(n_clients=50, gender="purple")
    tables.episodes["service"] = "juggling"
    report = check_tables(tables, catalogue=catalogue, limit=10)
    assert len(report.problems) == 10
    assert report.total == 50 + 400
    assert report.omitted == 440
    assert sum(c.count for c in report.counts) == report.total
    assert {(c.file, c.rule, c.count) for c in report.counts} == {
        ("clients", "not_in_categories", 50),
        ("episodes", "unknown_service", 400),
    }
    assert [p.row for p in report.problems] == list(range(1, 11))  # file and row order
    assert "450 problems (the first 10 listed)" in report.summary()


# --------------------------------------------------------------------------- extra features


def test_declared_extras_are_accepted_and_typed(tmp_path: Path, catalogue: Catalogue) -> None:
    config = RunConfig(
        extra_features={
            "municipality": "categorical",
            "household_size": "numeric",
            "has_car": "boolean",
        }
    )
    raw = as_text(make_tables(n_clients=3))
    raw.clients["municipality"] = ["espoo", "vantaa", ""]
    raw.clients["household_size"] = ["3", "2.5", ""]
    raw.clients["has_car"] = ["yes", "no", ""]
    write_tables(raw, tmp_path)
    tables = load_valid_tables(tmp_path, catalogue=catalogue, config=config)
    clients = tables.clients
    assert str(clients["municipality"].dtype) == "str"
    assert clients["household_size"].dtype == np.float64
    assert str(clients["has_car"].dtype) == "boolean"
    assert clients["has_car"].tolist()[:2] == [True, False]
    # Without the declaration the same file is refused.
    assert {p.rule for p in problems_in(tmp_path, catalogue)} == {"undeclared_column"}


def test_declared_extras_are_checked_for_their_kind(tmp_path: Path, catalogue: Catalogue) -> None:
    config = RunConfig(extra_features={"household_size": "numeric", "has_car": "boolean"})
    raw = as_text(make_tables(n_clients=3))
    raw.clients["household_size"] = ["3", "many", ""]
    write_tables(raw, tmp_path)
    problems = problems_in(tmp_path, catalogue, config)
    assert keys(problems) == {
        ("clients.csv", 2, "household_size", "wrong_type"),
        ("clients.csv", None, "has_car", "missing_column"),
    }
    missing = next(p for p in problems if p.rule == "missing_column")
    assert "extra_features" in missing.message


# --------------------------------------------------------------------------- in-memory tables


def test_in_memory_tables_are_converted_then_checked(catalogue: Catalogue) -> None:
    tables = make_tables(n_clients=3)
    loose = Tables(
        clients=tables.clients.astype({"birth_year": "int64", "literacy_needs": bool}),
        episodes=tables.episodes.astype({"start_date": "datetime64[s]", "client_id": object}),
        outcomes=tables.outcomes,
    )
    valid = require_valid_tables(loose, catalogue=catalogue)
    pd.testing.assert_frame_equal(valid.clients, tables.clients)
    pd.testing.assert_frame_equal(valid.episodes, tables.episodes)


def test_factory_overrides_can_break_the_contract(catalogue: Catalogue) -> None:
    clients = make_clients(3, intake_date="2021-05-01", birth_year=[1980, "x", 1990])
    assert clients["intake_date"].dt.year.tolist() == [2021] * 3
    problems = validate_tables(make_tables(clients=clients), catalogue=catalogue)
    assert keys(problems) == {("clients", 2, "birth_year", "wrong_type")}


# --------------------------------------------------------------------------- the command


def test_polku_validate_accepts_good_data(tmp_path: Path) -> None:
    write_tables(make_tables(n_clients=5), tmp_path, fmt="parquet")
    result = CliRunner().invoke(app, ["validate", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "data contract OK" in result.output
    assert "clients.parquet 5 rows" in result.output
    assert "2019-01-07" in result.output


def test_polku_validate_lists_problems_and_exits_2(tmp_path: Path) -> None:
    raw = as_text(make_tables(n_clients=4))
    _ongoing_with_end_date(raw)
    _purple_gender(raw)
    _rename_client(raw, "c000001", IDENTITY_CODE)
    write_tables(raw, tmp_path)
    result = CliRunner().invoke(app, ["validate", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    out = result.output
    for text in ("episodes.csv", "clients.csv", "end_date", "gender", "ongoing_with_end_date"):
        assert text in out
    assert "Traceback" not in out
    assert IDENTITY_CODE not in out


def test_polku_validate_prints_messages_as_written(tmp_path: Path) -> None:
    # Square brackets in a message are text, not Rich markup.
    raw = as_text(make_tables(n_clients=4))
    _undeclared_column(raw)
    write_tables(raw, tmp_path)
    result = CliRunner().invoke(app, ["validate", "--data", str(tmp_path)])
    assert result.exit_code == 2
    words = " ".join(result.output.split())
    assert "declare it under [extra_features] in the run configuration" in words


def test_polku_validate_reports_missing_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["validate", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "clients.csv" in result.output and "missing_file" in result.output
    assert "Traceback" not in result.output
