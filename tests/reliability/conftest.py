"""The API tests' fixtures (real app, real databases, real MLflow model, keys), shared here."""

from tests.api.conftest import (  # noqa: F401  (pytest finds fixtures by name)
    _mlflow_store_restored,
    app,
    backend,
    client,
    database_url,
    keys,
    postgres_url,
    reload_versions,
    settings,
)
