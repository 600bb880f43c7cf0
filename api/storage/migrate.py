"""Schema migrations (Alembic, scripts in `api/migrations/`), run from code.

`upgrade` brings a database to the newest schema. It runs inside one write
transaction that first takes a lock (``BEGIN IMMEDIATE`` on SQLite, an
advisory transaction lock on PostgreSQL), so several workers starting at the
same moment migrate one after the other and the later ones find nothing to
do. Both DDL dialects are transactional, so a failed migration leaves the
schema as it was.

The API runs it at start unless ``POLKU_MIGRATE_ON_START=false``; then
`polku db upgrade` does it by hand and the API refuses to serve on an old
schema (`pending`).
"""

from __future__ import annotations

from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from api.storage.engine import read_transaction, write_transaction

SCRIPT_LOCATION: Final = "api:migrations"
# An arbitrary constant: the key of the PostgreSQL advisory lock for migrations.
ADVISORY_LOCK_KEY: Final = 7_262_021_001


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def head() -> str:
    head_revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert head_revision is not None
    return head_revision


def current(engine: Engine) -> str | None:
    with read_transaction(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def pending(engine: Engine) -> bool:
    """True when the database is not at the newest schema."""
    return current(engine) != head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision` under the migration lock."""
    config = _config()
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = _config()
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
