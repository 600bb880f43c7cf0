"""Registered versions of Polku's model: finding one, listing them, moving an alias.

A training run registers a new version with the alias `candidate`; `promote`
points `champion` (the alias the API serves) at a version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from training.registry.store import (
    CHAMPION,
    DEFAULT_MODEL_NAME,
    RegistryError,
    client_for,
    configure,
)


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str
    model_uri: str
    aliases: tuple[str, ...] = ()
    tracking_uri: str = ""

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def find_version(
    client: MlflowClient, name: str, *, alias: str | None, version: str | int | None
) -> Any:
    try:
        if version is not None:
            return client.get_model_version(name, str(version))
        return client.get_model_version_by_alias(name, alias or CHAMPION)
    except MlflowException as exc:
        if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            # an unreachable or failing store is not a missing version: say so (no address;
            # readiness shows this to anyone)
            raise RegistryError(
                f"the MLflow registry did not answer ({exc.error_code}); the model cannot be looked up"
            ) from None
        what = f"version {version}" if version is not None else f"alias {alias or CHAMPION!r}"
        known = [str(v.version) for v in all_versions(client, name)]
        hint = (
            f"; registered versions: {', '.join(known)}"
            if known
            else "; no version is registered yet (run `polku train`)"
        )
        raise RegistryError(f"model {name!r} has no {what}{hint}") from None


def all_versions(client: MlflowClient, name: str) -> list[Any]:
    try:
        found = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return []
    return sorted(found, key=lambda v: int(v.version))


def promote(
    version: str | int,
    *,
    alias: str = CHAMPION,
    name: str = DEFAULT_MODEL_NAME,
    tracking_uri: str | None = None,
) -> RegisteredVersion:
    """Point `alias` (by default `champion`, the one the API serves) at `version`."""
    store = configure(tracking_uri)
    client = client_for(store)
    found = find_version(client, name, alias=None, version=version)
    client.set_registered_model_alias(name, alias, str(found.version))
    found = client.get_model_version(name, str(found.version))
    return RegisteredVersion(
        name=name,
        version=str(found.version),
        run_id=str(found.run_id),
        model_uri=str(found.source),
        aliases=tuple(found.aliases),
        tracking_uri=store.tracking_uri,
    )


def list_versions(
    name: str = DEFAULT_MODEL_NAME, *, tracking_uri: str | None = None
) -> list[RegisteredVersion]:
    """Every registered version of `name`, oldest first, with its aliases."""
    store = configure(tracking_uri)
    client = client_for(store)
    versions = all_versions(client, name)
    aliases: dict[str, list[str]] = {}
    if versions:
        for alias, number in client.get_registered_model(name).aliases.items():
            aliases.setdefault(str(number), []).append(alias)
    return [
        RegisteredVersion(
            name=name,
            version=str(v.version),
            run_id=str(v.run_id),
            model_uri=str(v.source),
            aliases=tuple(sorted(aliases.get(str(v.version), []))),
            tracking_uri=store.tracking_uri,
        )
        for v in versions
    ]


def alias_holder(
    alias: str, *, name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None
) -> str | None:
    """The version `alias` points at, or None when the model or the alias does not exist."""
    client = client_for(configure(tracking_uri))
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise RegistryError(
            f"the MLflow registry did not answer ({exc.error_code}); the model cannot be looked up"
        ) from None


def tag_version(
    version: str | int,
    tags: dict[str, str],
    *,
    name: str = DEFAULT_MODEL_NAME,
    tracking_uri: str | None = None,
) -> None:
    """Set tags on a registered version (existing tags of the same keys are replaced)."""
    client = client_for(configure(tracking_uri))
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)


def version_tags(
    version: str | int, *, name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None
) -> dict[str, str]:
    """The tags of a registered version."""
    client = client_for(configure(tracking_uri))
    found = find_version(client, name, alias=None, version=version)
    return dict(found.tags)
