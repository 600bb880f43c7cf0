"""Production refuses SQLite URI filenames that put the database in memory or in /tmp."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import Settings, sqlite_file


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("sqlite:///file:/tmp/x/polku.db?uri=true", "temporary folder"),
        ("sqlite:///file:///tmp/x/polku.db?uri=true", "temporary folder"),
        ("sqlite:///file://localhost/dev/shm/polku.db?uri=true", "temporary folder"),
        ("sqlite:///file:/tmp/x/polku%2Edb?uri=true&mode=rwc", "temporary folder"),
        ("sqlite:///file::memory:?uri=true", "in memory"),
        ("sqlite:///file:?uri=true", "in memory"),
        ("sqlite:///file:polku?mode=memory&cache=shared&uri=true", "in memory"),
        ("sqlite://", "in memory"),
    ],
)
def test_production_refuses_a_uri_filename_in_memory_or_tmp(url: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Settings(
            env="production",
            allow_demo_keys=False,
            database_url=url,
            data_dir=Path("/srv/polku"),
        )


def test_production_accepts_a_uri_filename_on_a_kept_disk() -> None:
    settings = Settings(
        env="production",
        allow_demo_keys=False,
        database_url="sqlite:///file:/srv/polku.db?uri=true",
        data_dir=Path("/srv/polku"),  # the checkout itself may sit in a temporary folder
    )
    assert settings.env == "production"


def test_a_uri_filename_is_read_as_its_path() -> None:
    assert sqlite_file("file:/srv/polku.db") == "/srv/polku.db"
    assert sqlite_file("file:///srv/polku.db") == "/srv/polku.db"
    assert sqlite_file("file::memory:") is None
    assert sqlite_file("/srv/polku.db") == "/srv/polku.db"
