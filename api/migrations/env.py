"""Alembic environment: migrations run on a connection that the caller opened.

`api.storage.migrate.upgrade` opens a write transaction (with a lock, so
that several workers starting at once migrate one after another) and hands
its connection over in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from api.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through `polku db upgrade` (api.storage.migrate), which opens the "
        "connection and takes the migration lock"
    )
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
