"""`polku keys` and `polku db`: the key alone on standard output, only its hash stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.auth import KEY_PATTERN, hash_key
from api.settings import get_settings
from cli.app import app


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "polku.db"
    monkeypatch.setenv("POLKU_DATABASE_URL", f"sqlite:///{path.as_posix()}")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.mark.parametrize("role", ["caseworker", "planner"])
def test_keys_create_prints_the_key_alone_and_stores_only_its_hash(
    database: Path, role: str
) -> None:
    result = CliRunner().invoke(app, ["keys", "create", "--role", role, "--unit", "espoo-a"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert result.stdout == key + "\n"
    match = KEY_PATTERN.fullmatch(key)
    assert match is not None
    key_id = match.group(1)
    assert f"created key {key_id}" in result.stderr
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT key_id, key_hash, role, unit, demo FROM api_keys"
        ).fetchall()
        dump = "\n".join(connection.iterdump())
    assert rows == [(key_id, hash_key(key), role, "espoo-a", 0)]
    secret = match.group(2)  # the whole secret: it may itself hold "_"
    assert secret not in dump and key not in dump


def test_keys_list_and_revoke(database: Path) -> None:
    runner = CliRunner()
    key = runner.invoke(app, ["keys", "create", "--role", "admin", "--unit", "hq"]).stdout.strip()
    match = KEY_PATTERN.fullmatch(key)
    assert match is not None
    key_id = match.group(1)
    listed = runner.invoke(app, ["keys", "list"])
    assert key_id in listed.stdout and "admin" in listed.stdout
    assert key not in listed.stdout and hash_key(key) not in listed.stdout
    revoked = runner.invoke(app, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0
    again = runner.invoke(app, ["keys", "revoke", key_id])
    assert again.exit_code == 2
    assert "no active key" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--role", "boss", "--unit", "hq"],
            "role must be one of caseworker, planner, evaluator, data_scientist, admin",
        ),
        (["--role", "admin", "--unit", "Espoo HQ"], "unit must be"),
    ],
)
def test_keys_create_refuses_bad_input_without_a_traceback(
    database: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["keys", "create", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_db_upgrade_and_purge(database: Path) -> None:
    runner = CliRunner()
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0
    assert "revision 0004" in upgraded.stderr  # the newest migration
    purged = runner.invoke(app, ["db", "purge"])
    assert purged.exit_code == 0
    assert "purged 0 audit events and 0 plans" in purged.stderr


def test_an_unreachable_database_is_one_readable_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLKU_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    monkeypatch.setenv("POLKU_DB_CONNECT_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["keys", "list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "the database does not answer" in result.stderr
    assert "nobody" not in result.stderr
