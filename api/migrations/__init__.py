"""Alembic migrations of the API's database (run by `api.storage.migrate`)."""
