"""The SQLite database and its -wal/-shm files are readable by their owner only."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from api.storage import migrate
from api.storage.engine import make_engine, write_transaction


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_files_are_private(tmp_path: Path, loose_umask: None) -> None:
    database = tmp_path / "data" / "polku.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        migrate.upgrade(engine)
        with write_transaction(engine) as connection:
            connection.execute(text("SELECT 1"))
        files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(database.parent) == 0o700
    finally:
        engine.dispose()


def test_an_old_world_readable_database_is_tightened(tmp_path: Path, loose_umask: None) -> None:
    database = tmp_path / "polku.db"
    for path in (database, Path(f"{database}-wal")):
        path.touch()
        path.chmod(0o644)
    engine = make_engine(f"sqlite:///{database}")
    engine.dispose()
    assert _mode(database) == 0o600
    assert _mode(Path(f"{database}-wal")) == 0o600


def test_a_folder_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="api.storage.engine"):
        make_engine(f"sqlite:///{folder / 'polku.db'}").dispose()
    assert any("can be read by other users" in r.getMessage() for r in caplog.records)
    caplog.clear()
    folder.chmod(0o700)
    with caplog.at_level(logging.WARNING, logger="api.storage.engine"):
        make_engine(f"sqlite:///{folder / 'polku.db'}").dispose()
    assert not caplog.records
