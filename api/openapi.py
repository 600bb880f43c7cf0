"""The OpenAPI document as served: FastAPI's, plus what depends on the served model.

The service codes a request may name are those of the served model's
catalogue, so the document states them as an enum once a model is loaded
(a client generating requests from it then sends only codes the API
accepts): an episode's `service` (or `review`), its `planned_service` and a
decision's `chosen_service` (an action, `no_new_service` included). The
document is rebuilt when another model version is served.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from api.serving import LoadedModel
from model.vocab import REVIEW


def install_openapi(app: FastAPI) -> None:
    """Serve the document with the served catalogue's codes (FastAPI's own before a model loads)."""
    plain: Callable[[], dict[str, Any]] = app.openapi
    built: dict[tuple[str, str], dict[str, Any]] = {}

    def document() -> dict[str, Any]:
        holder = getattr(app.state, "holder", None)
        model = holder.current if holder is not None else None
        if model is None:
            return plain()
        key = (model.name, model.version)
        if key not in built:
            built.clear()
            built[key] = with_catalogue(plain(), model)
        return built[key]

    app.openapi = document  # type: ignore[method-assign]


def with_catalogue(document: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    """A copy of `document` whose service-code fields list the model's codes."""
    out = copy.deepcopy(document)
    schemas = out.get("components", {}).get("schemas", {})
    services = [*model.router.catalogue.service_codes, REVIEW]
    actions = list(model.actions)
    _enum(schemas.get("EpisodeIn", {}), "service", services)
    _enum(schemas.get("EpisodeIn", {}), "planned_service", actions)
    _enum(schemas.get("DecisionRequest", {}), "chosen_service", actions)
    return out


def _enum(schema: dict[str, Any], field: str, codes: list[str]) -> None:
    node = schema.get("properties", {}).get(field)
    if node is None:
        return
    for target in (node, *node.get("anyOf", ())):
        if target.get("type") == "string":
            target["enum"] = codes
